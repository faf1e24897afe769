"""What the dying words say about the app's surroundings: a missing environment variable, a
dependency it can't reach."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kcrash.core.diagnose.facts import Facts, dying_words
from kcrash.core.diagnose.wording import (
    cmd_debug,
    cmd_describe,
    cmd_logs,
    container_word,
    describe_ref,
    diagnosis,
    log_evidence,
    ns_flag,
    quote,
    sh,
    termination_evidence,
    workload,
)
from kcrash.core.records import Diagnosis, Evidence

_ENV_NAME = r"['\"`]?([A-Za-z_][A-Za-z0-9_]*)['\"`]?"
_MISSING_ENV = (
    re.compile(rf"required (?:env(?:ironment)?(?: var(?:iable)?)?s?) {_ENV_NAME}", re.I),
    re.compile(
        rf"(?:env(?:ironment)?\s+var(?:iable)?|\benv)\s+{_ENV_NAME}\s+(?:is\s+)?"
        r"(?:not set|unset|missing|required|empty|undefined)",
        re.I,
    ),
    re.compile(rf"missing (?:required )?(?:env(?:ironment)?(?: var(?:iable)?)?) {_ENV_NAME}", re.I),
    re.compile(r"KeyError: '([A-Z][A-Z0-9_]+)'"),
    re.compile(
        r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+) (?:is )?(?:not set|must be set|is required|is missing|missing)\b"
    ),
)


def missing_env(lines: Sequence[str]) -> tuple[str, str] | None:
    """(variable, line) for the last line saying a required environment variable is absent."""
    for line in reversed(lines):
        for pattern in _MISSING_ENV:
            match = pattern.search(line)
            if match:
                return match.group(1), line
    return None


# Error codes are matched case-sensitively as whole words: `ModuleNotFoundError` is no ENOTFOUND.
_DNS = re.compile(
    r"no such host|could not translate host name|Name or service not known|"
    r"UnknownHostException|Temporary failure in name resolution|nodename nor servname|"
    r"getaddrinfo failed|(?-i:\bENOTFOUND\b|\bEAI_AGAIN\b)",
    re.I,
)
_REFUSED = re.compile(
    r"connection refused|(?-i:\bECONNREFUSED\b)|\bConnection to \S+ refused|"  # libpq, PgJDBC
    r"Communications link failure|"  # MySQL Connector/J
    r"could not be established\. Broker may not be available|"  # Kafka clients
    r"\b(?:Error|Unable|Could not|Can't|cannot) connect(?:ing)? to (?:Redis|MySQL server|"
    r"the database|database)\b",
    re.I,
)
_TIMEOUT = re.compile(
    r"i/o timeout|timed out|(?-i:\bETIMEDOUT\b)|deadline exceeded|timeout expired|"
    r"\bwithin timeout\b|\b(?:Connect|Socket|Zk)TimeoutException\b|"
    r"\btimeout occurred after waiting\b",  # wait-for-it
    re.I,
)
_NO_ROUTE = re.compile(
    r"no route to host|network is unreachable|(?-i:\bEHOSTUNREACH\b|\bENETUNREACH\b)", re.I
)
# A TLS handshake with a peer it does not trust: said while dialing another service.
_TLS = re.compile(
    r"certificate signed by unknown authority|certificate verify failed|"
    r"tls: failed to verify certificate|SSLHandshakeException|PKIX path building failed|"
    r"unable to find valid certification path|self[- ]signed certificate in certificate chain|"
    r"tls: handshake failure|remote error: tls: |x509: certificate is valid for ",
    re.I,
)
# Expired or not-yet-valid is the peer's certificate only when a peer is named on the line.
_CERT_DATES = re.compile(r"certificate has expired|certificate is not yet valid", re.I)
# host:port, not a time of day (Go's expiry error says `current time 2024-01-04T10:00:00Z`).
_PEER = re.compile(
    r"https?://|\bdial tcp\b|\bGet \"|\bhandshake\b|\bconnect(?:ing)? to\b|"
    r"\b[a-z][\w-]*(?:\.[\w-]+)*:\d{2,5}\b|\b\d{1,3}(?:\.\d{1,3}){3}:\d{2,5}\b",
    re.I,
)
_CONNECTION_TROUBLE = re.compile(
    "|".join(p.pattern for p in (_DNS, _REFUSED, _TIMEOUT, _NO_ROUTE, _TLS)), re.I
)
_HOST_PATTERNS = (
    re.compile(r"dial tcp \[?([\w.:-]+?)\]?:(\d+)"),
    re.compile(r"\bConnection to ([\w.-]+):(\d+) refused"),
    re.compile(r"https?://([\w.-]+)(?::(\d+))?"),
    re.compile(r"lookup ([\w.-]+)(?: on [\d.:\[\]a-f]+)?: "),
    re.compile(r'could not translate host name "([^"]+)"'),
    re.compile(r'connection to server at "([^"]+)"(?: \([^)]*\))?, port (\d+)'),
    re.compile(r'server on (?:host )?"([^"]+)"(?: \([^)]*\))?.*?port (\d+)', re.S),
    re.compile(r"connect E\w+ ([\w.-]+):(\d+)"),
    re.compile(r"getaddrinfo E\w+ ([\w.-]+)"),
    re.compile(r"[Ee]rror -?\d+ connecting to ([\w.-]+):(\d+)"),
    re.compile(r"server on '([\w.-]+)(?::(\d+))?'"),
    re.compile(r"UnknownHostException: ([\w.-]+)"),
    re.compile(r"\b((?:[a-zA-Z][\w-]*)(?:\.[\w-]+)*|\d{1,3}(?:\.\d{1,3}){3}):(\d{2,5})\b"),
)
_DEFAULT_PORTS = (
    ("postgres", 5432), ("psql", 5432), ("pg", 5432), ("mysql", 3306), ("mariadb", 3306),
    ("redis", 6379), ("mongo", 27017), ("kafka", 9092), ("rabbit", 5672), ("amqp", 5672),
    ("elastic", 9200), ("memcache", 11211), ("nats", 4222),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Unreachable:
    problem: str  # "dns", "refused", "timeout", "no-route", "tls"
    host: str
    port: str
    port_guessed: bool
    line: str
    index: int  # of `line` in the dying words


def connection_problem(line: str) -> str:
    """ "dns", "refused", "no-route", "timeout", "tls" or "" for what a line says about a
    connection."""
    return (
        "dns" if _DNS.search(line)
        else "refused" if _REFUSED.search(line)
        else "no-route" if _NO_ROUTE.search(line)
        else "timeout" if _TIMEOUT.search(line)
        else "tls" if _TLS.search(line) or (_CERT_DATES.search(line) and _PEER.search(line))
        else ""
    )  # fmt: skip


# "    at net.Socket.connect(Socket.java:609)", "    at ... (node:dns:107:26)": not hosts.
_STACK_FRAME = re.compile(r"^\s*at\s")


def dependency_failure(lines: Sequence[str]) -> Unreachable | None:
    """The last line in the dying words saying a connection failed, with the host and port named."""
    for index in range(len(lines) - 1, -1, -1):
        problem = connection_problem(lines[index])
        if not problem:
            continue
        # The line itself first, then its neighbours (libpq spreads one error over several lines).
        context = [
            text
            for text in (
                lines[index],
                *reversed(lines[max(0, index - 3) : index]),
                *lines[index + 1 : index + 3],
            )
            if not _STACK_FRAME.match(text)
        ]
        host, port = _host_port(context)
        guessed = False
        if host and not port:
            port, guessed = _default_port(" ".join([host, *lines])), True
        line = _telling_line(lines, index, problem)
        return Unreachable(problem, host, port, guessed and bool(port), line, index)
    return None


# A wait loop's words (an init container's `until nc -z db 5432; do echo waiting for db; ...`,
# wait-for-it, entrypoints that poll their database): the dependency never answered.
_WAITING = (
    re.compile(r"\bwaiting (?:\d+ seconds )?for (?:the )?([\w.-]+(?::\d+)?)", re.I),
    re.compile(r"\b([\w.-]+) is (?:still )?(?:unavailable|not (?:yet )?(?:ready|available|up))\b", re.I),
    re.compile(r"\bnc: bad address '([\w.-]+)'"),
    re.compile(r"^([\w.-]+:\d+) - (?:no response|rejecting connections)\b"),  # pg_isready
)
_WAIT_TARGET_NOISE = frozenset({"it", "them", "caches", "cache", "leader", "signal", "shutdown", "lock"})


def waiting_for(lines: Sequence[str]) -> Unreachable | None:
    """A wait loop at the end of the log: its last line and at least one more of the last five
    wait for the same dependency."""
    if not lines:
        return None
    last = _wait_target(lines[-1])
    if not last:
        return None
    repeats = sum(1 for line in lines[-5:] if _wait_target(line) == last)
    if repeats < 2:
        return None
    host, _, port = last.partition(":")
    return Unreachable("waiting", host, port, False, lines[-1], len(lines) - 1)


def _wait_target(line: str) -> str:
    for pattern in _WAITING:
        match = pattern.search(line)
        if match and match.group(1).lower().rstrip(".") not in _WAIT_TARGET_NOISE:
            return match.group(1).rstrip(".")
    return ""


def _telling_line(lines: Sequence[str], index: int, problem: str) -> str:
    """The line to quote: one naming a host. A Node.js error object ends with `code: 'ENOTFOUND'`
    a few lines below its first line, which says what failed and where."""
    for line in reversed(lines[max(0, index - 3) : index + 1]):
        if connection_problem(line) == problem and not _STACK_FRAME.match(line) and _host_port([line])[0]:
            return line
    return lines[index]


def _host_port(texts: Sequence[str]) -> tuple[str, str]:
    host, port = "", ""
    for text in texts:
        for pattern in _HOST_PATTERNS:
            for match in pattern.finditer(text):
                found_host = match.group(1)
                found_port = match.group(2) if (match.lastindex or 0) >= 2 and match.group(2) else ""
                if found_port == "53" and "lookup" in text:
                    continue  # the DNS server, not the dependency
                if found_host.lower() in ("http", "https", "tcp", "localhost") and not found_port:
                    continue
                if not host:
                    host = found_host
                if found_host == host and found_port and not port:
                    port = found_port
                if host and port:
                    return host, port
    return host, port


def _fatal_after(lines: Sequence[str], index: int) -> bool:
    """A later fatal line about something else: the connection trouble was a retry, not the death."""
    fatal = dying_words(lines)
    if not fatal:
        return False
    last = max(i for i, line in enumerate(lines) if line.strip() == fatal)
    return last > index and not _CONNECTION_TROUBLE.search(fatal)


def _default_port(text: str) -> str:
    lowered = text.lower()
    for word, port in _DEFAULT_PORTS:
        if word in lowered:
            return str(port)
    return ""


def has_dying_words(f: Facts) -> bool:
    """A log to read, from a process that ended on its own (exit 137 is a kill, not a complaint)."""
    return bool(f.log_lines) and f.exit_code != 137


def rule_missing_env(f: Facts) -> Diagnosis | None:
    found = missing_env(f.log_lines)
    if found is None:
        return None
    var, line = found
    spec = f.spec
    ev: list[Evidence | None] = [termination_evidence(f), log_evidence(f, line)]
    refs = [r for r in (spec.env_refs if spec else ()) if r.env_name == var]
    env_from = [r for r in (spec.env_refs if spec else ()) if r.via == "envFrom"]
    ns = ns_flag(f)
    steps: list[str] = []
    if not f.spec_known:
        ev.append(Evidence(f"spec {f.label} env", "not in the input"))
        steps.append(
            f"See whether {var} is set, and where from (a value, a Secret or ConfigMap key, envFrom): "
            f"`{cmd_describe(f)}` (Environment)"
        )
    elif spec is not None and var in spec.env_names:
        ev.append(Evidence(f"spec {f.label} env", f"{var} is set (value not shown)"))
        steps.append(
            f"{var} is set in the pod spec but the app rejects it: check its value is not empty or malformed"
        )
    elif refs:
        ref = refs[0]
        ev.append(Evidence(f"spec {f.label} env", quote(describe_ref(ref))))
        check = (
            f"`kubectl describe secret {sh(ref.name)}{ns}` (key names and sizes only)"
            if ref.kind == "Secret"
            else f"`kubectl get configmap {sh(ref.name)}{ns} -o yaml`"
        )
        steps.append(
            f"{var} comes from {ref.kind} {ref.name} key {ref.key}: check that key holds a value: {check}"
        )
    elif env_from:
        names = ", ".join(f"{r.kind} {r.name}" for r in env_from)
        ev.append(Evidence(f"spec {f.label} envFrom", quote(names)))
        steps.append(f"{var} can only come from envFrom ({names}): check it has a key named {var}")
    else:
        ev.append(Evidence(f"spec {f.label} env", f"{var} is not set in the pod spec"))
        target = workload(f)
        steps.append(
            f"Set {var}: `kubectl set env {sh(target)}{ns} -c {container_word(f)} {var}=<value>`"
            + " (for a sensitive value use valueFrom.secretKeyRef, or `--from=secret/<name>`)"
            if target
            else f"Add {var} to the env of {f.label} in the pod's manifest"
        )
    steps.append(f"The full error: `{cmd_logs(f, tail=50)}`")
    headline = f"{f.subject} exits"
    headline += f" with code {f.exit_code}" if f.exit_code not in (None,) else ""
    headline += f": environment variable {var} is not set"
    return diagnosis("app-error", headline, f, ev, steps, detail="missing-env")


def rule_dependency(f: Facts) -> Diagnosis | None:
    found = dependency_failure(f.log_lines)
    if found is None or _fatal_after(f.log_lines, found.index):
        found = waiting_for(f.log_lines)
    if found is None:
        return None
    what = {
        "dns": "its name doesn't resolve",
        "refused": "connection refused",
        "timeout": "connection timed out",
        "no-route": "no route to host",
        "tls": "the TLS handshake fails",
        "waiting": "it waits for it and it never comes up",
    }[found.problem]
    target = f"{found.host}:{found.port}" if found.host and found.port else found.host or "a dependency"
    headline = f"{f.subject} can't reach {target} ({what})"
    if f.exit_code is not None:
        headline += f" and exits with code {f.exit_code}"
    ev: list[Evidence | None] = [termination_evidence(f), log_evidence(f, found.line)]
    if found.port_guessed:
        ev.append(
            Evidence("assumed", f"port {found.port} is the usual one for {found.host}; the log didn't say")
        )
    ns = ns_flag(f)
    short_host = found.host.split(".")[0] if found.host and not found.host[0].isdigit() else ""
    steps: list[str] = []
    if found.host and found.problem != "tls":  # a TLS failure got through: the port answers
        steps.append(
            "Test it from inside the cluster network (not from a laptop): "
            f"`{cmd_debug(f, 'nc', '-zv', found.host, found.port or '<port>')}`"
        )
    if found.problem == "dns":
        steps.append(
            f"Does the Service exist? `kubectl get svc {sh(short_host) if short_host else '<service>'}{ns}` "
            f"(a Service in another namespace is reached as {short_host or '<service>'}.<other-ns>)"
        )
        if found.host:
            steps.append(f"Resolve it the way the pod does: `{cmd_debug(f, 'nslookup', found.host)}`")
    elif found.problem == "refused":
        if short_host:
            steps.append(
                f"Does {short_host} have ready endpoints? `kubectl get endpointslices{ns} "
                f"-l kubernetes.io/service-name={sh(short_host)}` (no endpoints or a wrong port "
                "means refused)"
            )
    elif found.problem == "tls":
        steps.append(
            f"Check the certificate {target} presents (issuer, names, dates): `openssl s_client "
            f"-connect {found.host or '<host>'}:{found.port or 443} -showcerts`"
        )
        steps.append(
            "If a private CA signed it, give the app that CA (a CA bundle mounted from a Secret or "
            "ConfigMap, or the client's CA-file option) rather than turning verification off"
        )
    elif found.problem == "waiting":
        steps.append(
            f"Is {short_host or 'the dependency'} running and ready? `kubectl get pods{ns}` and "
            f"`kubectl get endpointslices{ns}`: the wait ends only when it answers"
        )
    else:
        steps.append(
            f"Look for a NetworkPolicy or firewall dropping the traffic: `kubectl get networkpolicy{ns}`"
        )
    if found.problem != "tls":
        steps.append(
            "Make the app retry with backoff at startup instead of exiting while the dependency is not ready"
        )
    steps.append(f"The full error: `{cmd_logs(f, tail=50)}`")
    return diagnosis("dependency-unreachable", headline, f, ev, steps, detail=found.problem)
