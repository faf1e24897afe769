"""The lab's Kubernetes API server: the HTTP protocol over the Store, spoken well enough for kubectl.

One catch-all aiohttp route parses the URL the way kube-apiserver lays it out
(`/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}`, `/apis/{group}/{version}/...`), then:
authentication (bearer token), fault injection, authorization (the Faults deny rules), and the verb.

Watches fan out from one Store watcher per resource (`WatchHub`) into a bounded queue per stream; a
stream whose client cannot keep up is closed, like the apiserver closes unresponsive watchers. Each
object version is serialized once (`Encoder`) and reused by every list and watch that sends it.

The parts: `requests` (the URL, query options, the verb, content negotiation), `encoding`,
`snapshots` (list snapshots and continue tokens), `lists` (get and list), `hub` (watch fan-out),
`watch` (one watch response), `writes` (create, patch, scale), `admission` (what the registry does
to an object before storing it), `deletes` (delete and dependents), `logs` (pods/log), `access`
(SelfSubjectAccessReview), `endpoints` (health, version, discovery, OpenAPI, /metrics) with `proxy`
(the service proxy), `base` (shared state and services) and `dispatch` (routing: `ApiServer`).
"""

from kcrash.lab.apiserver.base import LogSource, ServerOptions
from kcrash.lab.apiserver.dispatch import ApiServer

__all__ = ["ApiServer", "LogSource", "ServerOptions"]
