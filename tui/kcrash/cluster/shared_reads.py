"""Diagnosing many pods at once: the reads their diagnoses share, made once and handed to each.

`ClusterSource.gather` asks about one pod. Over the hundreds of failing pods a cluster-wide
`kcrash diagnose` meets, most of those answers are shared, so `SharedSource` asks for them once
and each pod's gather finds them ready (or waits for them), leaving it only its own logs to read:

- events: one LIST of the namespace's events, in pages, split by the pod each is about, instead of
  one field-selected LIST per pod (a field selector on events makes the server scan all of the
  namespace's events anyway). A namespace with one pod to diagnose keeps the field-selected
  request, and a listing that takes more pages than the namespace has pods to diagnose is dropped
  for them: the shared LIST never costs more than twice the requests it replaces.
- rollout history: one LIST of the namespace's ReplicaSets and one of its Deployments, from which
  `rollout.deployment_history` finds each chain (`ListedWorkloads`), instead of a GET of the
  ReplicaSet, a GET of the Deployment and a LIST of its ReplicaSets per ReplicaSet. The same page
  budget holds (as many pages as the namespace has ReplicaSets to follow), and a namespace with
  one, or whose lists run over the budget, has those three requests made for each.
- ConfigMap keys: one GET per ConfigMap name in a namespace.
- memory: the one PodMetrics LIST of the scope, read while the pods' logs are; the samples go into
  each pod's input once it is in.

Every answer is the one the per-pod read would have given; a shared read that fails leaves the
pods to their own reads, which then fail or not as they would have. Nothing is read about a pod
that is not diagnosed, and at most `WORKERS` shared reads or pods are in progress at a time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeGuard
from urllib.parse import quote

from msgspec.structs import replace

from kcrash.cluster import rollout
from kcrash.cluster.api import LIST_PAGE, LIST_TIMEOUT, Api, in_event_order
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.metrics import MemoryView
from kcrash.cluster.parse import parse_event
from kcrash.cluster.source import ClusterSource, ConfigMapReads, memory_unread
from kcrash.core.records import Deployment, Diagnosis, DiagnosisInput, Event, Pod, Revision, Unread

WORKERS = 8
"""Shared reads and pods in progress at once (a pod may read its previous and current log at once)."""

History = tuple[Deployment | None, tuple[Revision, ...]]
EventIndex = dict[tuple[str, str], list[Mapping[str, Any]]]
"""Events about pods, by (involvedObject namespace, name), in the order the server listed them."""
_LATER = MemoryView((), True, "")  # what gather is told of memory: the samples come after the pods


class SharedSource(ClusterSource):
    """A ClusterSource that answers gather's shared questions from reads made once for many pods."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._events: dict[str, Future[EventIndex | None]] = {}
        self._workloads: dict[str, Future[ListedWorkloads | None]] = {}
        self._histories: dict[tuple[str, str], Future[History]] = {}
        self._configmaps: dict[tuple[str, str], Future[tuple[str, ...] | Unread | None]] = {}
        self._sampling = False

    def diagnose_all(self, pods: Sequence[Pod], now: datetime) -> list[Diagnosis]:
        """The diagnosis of each pod, in order."""
        from kcrash.core.diagnose import diagnose

        return [diagnose(found) for found in self.gather_all(pods, now)]

    def gather_all(self, pods: Sequence[Pod], now: datetime) -> list[DiagnosisInput]:
        """What the diagnosis looks at for each pod, in order."""
        if not pods:
            return []
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="kcrash-diagnose") as pool:
            try:
                # The shared reads go in first: a worker starts a pod only once every one of them
                # has started, so a pod waiting for one never waits for a read no worker will run.
                sample = self._share(pool, pods)
                inputs = list(pool.map(lambda pod: self.gather(pod, now), pods))
                sample.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: drop what has not started
                raise
        return [self._with_memory(found) for found in inputs]

    def _share(self, pool: ThreadPoolExecutor, pods: Sequence[Pod]) -> Future[None]:
        """Start the reads `pods` share; returns the memory sample's."""
        self._sampling = True
        sample = pool.submit(self._sample_memory)
        pods_in = Counter(pod.namespace for pod in pods)
        self._events = {
            namespace: pool.submit(self._pod_events_of, namespace, count)
            for namespace, count in pods_in.items()
            if count > 1
        }
        owners = {key: pod for pod in pods if (key := _owner_key(pod)) is not None}
        owners_in = Counter(namespace for namespace, _ in owners)
        self._workloads = {
            namespace: pool.submit(self._workloads_of, namespace, count)
            for namespace, count in owners_in.items()
            if count > 1
        }
        # After the lists they wait for: a worker has started each of those before it starts these.
        self._histories = {key: pool.submit(self._history, pod) for key, pod in owners.items()}
        configmaps = sorted({(pod.namespace, name) for pod in pods for name in _configmap_names(pod)})
        self._configmaps = {key: pool.submit(self._configmap, key) for key in configmaps}
        return sample

    # -- the shared reads ------------------------------------------------------------------------
    def _sample_memory(self) -> None:
        if self.metrics.available is not False:  # what `memory` does for the first pod it is asked about
            self.metrics.sample_once()

    def _pod_events_of(self, namespace: str, pages: int) -> EventIndex | None:
        try:
            items = namespace_events(self.api, namespace, max_pages=pages)
        except KcrashError:
            return None  # each pod asks for its own, and meets the error (or not) as it would have
        return None if items is None else events_by_pod(items)

    def _workloads_of(self, namespace: str, replicasets: int) -> ListedWorkloads | None:
        try:
            return ListedWorkloads.read(self.api, namespace, max_pages=replicasets)
        except KcrashError:
            return None  # each ReplicaSet is followed on its own, as it would have been

    def _history(self, pod: Pod) -> History:
        listed = self._workloads.get(pod.namespace)
        workloads = listed.result() if listed is not None else None
        return rollout.deployment_history(workloads if workloads is not None else self.api, pod)

    def _configmap(self, key: tuple[str, str]) -> tuple[str, ...] | Unread | None:
        try:
            return self.api.configmap_keys(*key)
        except KcrashError as exc:
            return Unread(f"ConfigMap {key[1]}", exc.message)  # left out, and said so

    # -- what gather asks ------------------------------------------------------------------------
    def events_for(self, pod: Pod) -> tuple[Event, ...]:
        shared = self._events.get(pod.namespace)
        index = shared.result() if shared is not None else None
        return super().events_for(pod) if index is None else pod_events(index, pod)

    def deployment_history(self, pod: Pod) -> History:
        owner = _owner_key(pod)
        shared = self._histories.get(owner) if owner is not None else None
        return super().deployment_history(pod) if shared is None else shared.result()

    def configmap_reads(self, namespace: str, names: Iterable[str]) -> ConfigMapReads:
        wanted = sorted(set(names))
        shared = [self._configmaps.get((namespace, name)) for name in wanted]
        if any(future is None for future in shared):
            return super().configmap_reads(namespace, wanted)
        answers = [(name, future.result()) for name, future in zip(wanted, shared, strict=True) if future]
        found = tuple((name, keys) for name, keys in answers if isinstance(keys, tuple))
        return found, tuple(keys for _, keys in answers if isinstance(keys, Unread))

    def memory(self, pod: Pod) -> MemoryView:
        return _LATER if self._sampling else super().memory(pod)

    def _with_memory(self, found: DiagnosisInput) -> DiagnosisInput:
        """The input with the pod's memory put in, as gather puts in a MemoryView. The sample is
        taken once for all pods: one that failed is not taken again for each pod."""
        view = self.metrics.view(found.pod)
        unread = (*found.unread, *memory_unread(view))
        return replace(found, memory=view.samples, metrics_available=view.available, unread=unread)


def _owner_key(pod: Pod) -> tuple[str, str] | None:
    """What a pod's rollout history depends on: its ReplicaSet (other owners have none to read)."""
    owner = pod.controller
    if owner is None or owner.kind != "ReplicaSet":
        return None
    return pod.namespace, owner.name


def _configmap_names(pod: Pod) -> set[str]:
    """The ConfigMaps the pod's environment reads (those gather asks the keys of)."""
    return {
        ref.name
        for spec in (*pod.containers, *pod.init_containers)
        for ref in spec.env_refs
        if ref.kind == "ConfigMap" and ref.name
    }


# -- the events of a namespace, split by pod ------------------------------------------------------


def namespace_events(
    api: Api, namespace: str, *, max_pages: int, page_size: int = LIST_PAGE
) -> list[dict[str, Any]] | None:
    """Every event of a namespace (raw), or None when they take more than `max_pages` pages."""
    return list_namespace(api, "/api/v1", "events", namespace, max_pages=max_pages, page_size=page_size)


def list_namespace(
    api: Api, group: str, resource: str, namespace: str, *, max_pages: int, page_size: int = LIST_PAGE
) -> list[dict[str, Any]] | None:
    """Every object of a kind in a namespace (raw, in the server's order), following continue
    tokens; None when they take more than `max_pages` pages."""
    path = f"{group}/namespaces/{quote(namespace, safe='')}/{resource}"
    action = f'list {resource} in namespace "{namespace}"'
    items: list[dict[str, Any]] = []
    token = ""
    for _ in range(max_pages):
        query: list[tuple[str, str | int | bool]] = [("limit", page_size)]
        if token:
            query.append(("continue", token))
        doc = api.read_json(action, path, query, timeout=LIST_TIMEOUT)
        items.extend(_objects(_field(doc, "items")))
        token = _text(_field(_field(doc, "metadata"), "continue"))
        if not token:
            return items
    return None


def events_by_pod(items: Iterable[Mapping[str, Any]]) -> EventIndex:
    index: EventIndex = defaultdict(list)
    for item in items:
        involved = _field(item, "involvedObject")
        if _text(_field(involved, "kind")) == "Pod":
            index[(_text(_field(involved, "namespace")), _text(_field(involved, "name")))].append(item)
    return index


def pod_events(index: EventIndex, pod: Pod) -> tuple[Event, ...]:
    """What `Api.events_for` answers for the pod: the events its field selector matches (name,
    namespace, kind Pod, and uid when the pod has one), one page of them at most, oldest first."""
    matching = [
        item
        for item in index.get((pod.namespace, pod.name), ())
        if not pod.uid or _text(_field(_field(item, "involvedObject"), "uid")) == pod.uid
    ]
    return in_event_order(parse_event(item) for item in matching[:LIST_PAGE])


def _field(obj: object, name: str) -> object:
    return obj.get(name) if isinstance(obj, Mapping) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _objects(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# -- the ReplicaSets and Deployments of a namespace, for rollout ----------------------------------


def _as_got(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    """A list's item as a GET answers it: a list's items carry no kind or apiVersion."""
    return {"kind": kind, "apiVersion": "apps/v1", **item}


class ListedWorkloads(Api):
    """The three reads `rollout.deployment_history` makes, answered for one namespace from one LIST
    of its ReplicaSets and one of its Deployments, as the server would have answered each."""

    def __init__(
        self, api: Api, namespace: str, replicasets: list[dict[str, Any]], deployments: list[dict[str, Any]]
    ) -> None:
        super().__init__(api.conn, read_only=True)
        self.namespace = namespace
        self._replicasets = replicasets
        self._replicaset = {_name(rs): rs for rs in replicasets}
        # By label, so that each Deployment's selector looks at the few that could match, not all.
        self._labelled: dict[tuple[str, object], list[dict[str, Any]]] = defaultdict(list)
        for rs in replicasets:
            for pair in _labels(rs).items():
                self._labelled[pair].append(rs)
        self._deployment = {_name(d): d for d in deployments}
        # The selector strings rollout asks with, back to the selectors they were written from.
        self._selectors: dict[str, Mapping[str, Any]] = {
            rollout.label_selector(selector): selector
            for d in deployments
            if _readable(selector := _field(_field(d, "spec"), "selector"))
        }

    @classmethod
    def read(cls, api: Api, namespace: str, *, max_pages: int) -> ListedWorkloads | None:
        """Both lists, or None when either takes more than `max_pages` pages."""
        replicasets = list_namespace(api, "/apis/apps/v1", "replicasets", namespace, max_pages=max_pages)
        if replicasets is None:
            return None
        deployments = list_namespace(api, "/apis/apps/v1", "deployments", namespace, max_pages=max_pages)
        return None if deployments is None else cls(api, namespace, replicasets, deployments)

    def get_replicaset(self, namespace: str, name: str) -> dict[str, Any]:
        if namespace != self.namespace:
            return super().get_replicaset(namespace, name)
        return _as_got("ReplicaSet", self._find(self._replicaset, "replicasets.apps", namespace, name))

    def get_deployment(self, namespace: str, name: str) -> dict[str, Any]:
        if namespace != self.namespace:
            return super().get_deployment(namespace, name)
        return _as_got("Deployment", self._find(self._deployment, "deployments.apps", namespace, name))

    def list_replicasets(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        written_from = self._selectors.get(selector) if namespace == self.namespace else None
        if written_from is None:
            return super().list_replicasets(namespace, selector)  # one it cannot answer: the server's
        return [rs for rs in self._candidates(written_from) if _selects(written_from, _labels(rs))]

    def _candidates(self, selector: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The ReplicaSets that carry every label the selector names (in the list's order)."""
        pairs = [(str(k), str(v)) for k, v in (selector.get("matchLabels") or {}).items()]
        if not pairs:
            return self._replicasets
        return min((self._labelled.get(pair, []) for pair in pairs), key=len)

    @staticmethod
    def _find(found: Mapping[str, dict[str, Any]], kind: str, namespace: str, name: str) -> dict[str, Any]:
        if name not in found:
            # What the GET would have met (rollout reads a 404 as "no Deployment").
            raise KcrashError(
                f'get {kind} {namespace}/{name} failed: {kind} "{name}" not found',
                status=404,
                reason="NotFound",
            )
        return found[name]


def _name(obj: Mapping[str, Any]) -> str:
    return _text(_field(_field(obj, "metadata"), "name"))


def _labels(obj: Mapping[str, Any]) -> Mapping[str, object]:
    labels = _field(_field(obj, "metadata"), "labels")
    return labels if isinstance(labels, Mapping) else {}


def _expressions(selector: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = selector.get("matchExpressions")
    return [e for e in found if isinstance(e, Mapping)] if isinstance(found, list) else []


def _readable(selector: object) -> TypeGuard[Mapping[str, Any]]:
    """Whether a Deployment's selector is one `_selects` applies as the server applies the string
    `rollout.label_selector` writes from it. Not: a malformed one, and a set operator with no
    values (the server refuses it); the server answers for those."""
    if not isinstance(selector, Mapping) or not isinstance(selector.get("matchLabels") or {}, Mapping):
        return False
    expressions = selector.get("matchExpressions") or []
    return isinstance(expressions, list) and all(
        isinstance(e, Mapping) and (_values(e) or e.get("operator") not in ("In", "NotIn"))
        for e in expressions
    )


def _values(expression: Mapping[str, Any]) -> set[str]:
    values = expression.get("values")
    return {str(v) for v in values} if isinstance(values, list) else set()


def _selects(selector: Mapping[str, Any], labels: Mapping[str, object]) -> bool:
    """A label selector as the server applies the string `rollout.label_selector` makes of it
    (an operator it leaves out selects everything here too)."""
    match_labels = selector.get("matchLabels") or {}
    if any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    for expression in _expressions(selector):
        key, op = str(expression.get("key")), expression.get("operator")
        value = labels.get(key)
        if op == "In" and value not in _values(expression):
            return False
        if op == "NotIn" and value in _values(expression):
            return False
        if (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True
