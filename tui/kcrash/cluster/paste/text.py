"""Shared reading of pasted text: chat wrapping taken off, command lines found, ages and times read.

Ages are kubectl's HumanDuration ("45s", "3m10s", "2d4h", "<invalid>") and the event interval
"3m (x5 over 10m)". Times are what describe prints (RFC1123Z "Mon, 02 Jan 2006 15:04:05 -0700",
RFC1123 with a zone name) or RFC3339. The Go zero time and the Unix epoch mean "never set": a
container that failed to start reports `Started: Thu, 01 Jan 1970 00:00:00 +0000`, and no duration
may be computed from that, so it reads as None.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from kcrash.cluster.parse import parse_time

_FENCE = re.compile(r"^\s*(```|~~~)")
_QUOTE = re.compile(r"^> ?")
# A shell prompt (optional) followed by a kubectl-like command: "$ kubectl logs x -p",
# "user@host:~$ k describe pod x", "❯ kubectl get events". `k` alone needs a prompt before it.
_COMMAND = re.compile(
    r"^\s*(?:(?P<prompt>(?:\S*[$#%❯➜»>]|PS [^>]*>))\s+)?"
    r"(?P<cmd>(?P<tool>kubectl|kubecolor|oc|k)\s+\S.*)$"
)
_VERBS = frozenset({"get", "describe", "logs", "log", "events"})


def prepare(text: str) -> list[str]:
    """The paste as lines: line ends unified, code fences, chat quote marks and an indentation
    shared by every line (a markdown code block) taken off.

    Other leading whitespace is kept: describe's structure is in it.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if "```" in text or "~~~" in text:
        lines = [line for line in lines if not _FENCE.match(line)]
    lines = [line.rstrip() for line in lines]
    with_text = (line for line in lines if line.strip())
    first = next(with_text, None)  # the first unquoted line settles it: a long paste is not read through
    if first is not None and _QUOTE.match(first) and all(_QUOTE.match(line) for line in with_text):
        lines = [_QUOTE.sub("", line, count=1) for line in lines]
    shared = _shared_indent(lines)
    if shared:
        lines = [line[shared:] for line in lines]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _shared_indent(lines: list[str]) -> int:
    """The spaces every line with text starts with; stops at the first line at the margin."""
    shared: int | None = None
    for line in lines:
        if line.strip():
            indent = len(line) - len(line.lstrip(" "))
            shared = indent if shared is None else min(shared, indent)
            if not shared:
                return 0
    return shared or 0


@dataclass(frozen=True, slots=True)
class Command:
    """A kubectl command line found in a paste, as far as kcrash cares about it."""

    line: str
    verb: str = ""  # get, describe, logs, events
    names: tuple[str, ...] = ()  # positional arguments after the verb (resource, pod names)
    namespace: str = ""
    container: str = ""
    previous: bool | None = None  # logs: -p/--previous given (None when no logs command)
    all_namespaces: bool = False
    output: str = ""
    selector: str = ""  # -l / --selector
    pipe: str = ""  # what the output was piped through: "yq '.status.phase'"


_VALUE_FLAGS = {
    "-n": "namespace",
    "--namespace": "namespace",
    "-c": "container",
    "--container": "container",
    "-o": "output",
    "--output": "output",
    "-l": "selector",
    "--selector": "selector",
}
# Flags whose value is no pod name: skipped with it.
_OTHER_VALUE_FLAGS = frozenset(
    {"--context", "--kubeconfig", "--cluster", "--user", "--field-selector", "--sort-by", "--template",
     "-L", "--label-columns", "--since", "--tail", "--filename", "--server", "--token", "--as"}
)  # fmt: skip


def _split_pipe(command: str) -> tuple[str, str]:
    """The command before the first `|` outside quotes, and what follows it."""
    quote = ""
    for index, char in enumerate(command):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "|":
            return command[:index], command[index + 1 :].strip()
    return command, ""


def _flag_value(token: str) -> tuple[str, str] | None:
    """("--namespace", "x") for "--namespace=x", "-nx" style is rare and not read."""
    if "=" in token and token.startswith("--"):
        flag, value = token.split("=", 1)
        return flag, value
    return None


# A prompt before another command: "$ cat pod.yaml", "user@host:~$ sudo journalctl -u kubelet",
# "[root@node ~]# tail /var/log/syslog", "❯ bat deploy.yaml", "PS C:\\> type pod.yaml".
_SHELL = re.compile(
    r"^(?P<prompt>(?:\[[^\]]*\]|\S*)[$#%❯➜»]|PS [^>]*>)\s+"
    r"(?P<program>(?:[\w.~-]*/)*[a-z][\w.+-]*)(?:\s+\S.*)?$"
)
# Bare "#" and "%" open comments, headings and shell output too: after them only a command people
# run beside kubectl counts.
_BARE_PROMPTS = frozenset({"#", "%"})
_SHELL_PROGRAMS = frozenset(
    {"cat", "bat", "batcat", "less", "more", "head", "tail", "type", "journalctl", "grep", "egrep", "zgrep",
     "docker", "crictl", "ctr", "nerdctl", "podman", "helm", "echo", "curl", "wget", "systemctl", "vi",
     "vim", "nano", "ls", "ps", "dmesg", "minikube", "kind", "k3s", "microk8s", "kubeadm", "sudo", "stern",
     "watch", "ssh", "jq", "yq", "kubectl", "kubecolor", "oc", "k", "k9s", "helmfile", "kustomize",
     "skaffold", "tilt", "make", "terraform", "argocd", "flux", "git", "awk", "sed", "envsubst", "eksctl",
     "gcloud", "az", "aws", "mc", "rke", "rke2", "talosctl"}
)  # fmt: skip

# What kubectl does besides reading: its output (`pod/web created`) tells kcrash nothing.
_OTHER_VERBS = frozenset(
    {"apply", "create", "delete", "edit", "exec", "rollout", "scale", "patch", "label", "annotate", "top",
     "version", "config", "cluster-info", "port-forward", "run", "expose", "set", "cp", "auth", "debug",
     "wait", "replace", "cordon", "uncordon", "drain", "taint", "autoscale", "attach", "diff", "new-app",
     "start-build", "adm", "project", "login", "status"}
)  # fmt: skip

_ACTION = re.compile(
    r"^\s*(?:[\w.-]+/[\w.:-]+|[\w.-]+ \"[^\"]+\")\s+(?:created|configured|unchanged|deleted|patched|labeled|"
    r"annotated|scaled|restarted|rolled back|exposed|serverside-applied|edited|replaced|cordoned|"
    r"uncordoned|drained|evicted|tainted|untainted|resumed|paused|image updated|env updated)"
    r"(?: \(.*\))?\s*$"
)


def is_action_line(line: str) -> bool:
    """A line kubectl prints when it changes something: `pod/web created`, `pod "web" deleted`,
    `deployment.apps/web configured (server dry run)`."""
    return bool(_ACTION.match(line))


def shell_command(line: str) -> str | None:
    """The command on a prompt line that runs something other than a kubectl read (`cat`, `tail`,
    `kubectl apply`), or None: what it printed is read without that line."""
    match = _SHELL.match(line) or _COMMAND.match(line)
    if match is None or parse_command(line) is not None:
        return None
    groups = match.groupdict()
    prompt = (groups.get("prompt") or "").strip()
    if "program" in groups:
        program = groups["program"].rsplit("/", 1)[-1]
        if prompt in _BARE_PROMPTS and program not in _SHELL_PROGRAMS:
            return None
        return line[match.end("prompt") :].strip()
    # kubectl without a prompt: a command it runs, not a sentence that names it ("k" needs one).
    if groups["tool"] == "k" and not prompt:
        return None
    words = groups["cmd"].split()
    return groups["cmd"] if len(words) > 1 and (prompt or words[1] in _OTHER_VERBS) else None


def parse_command(line: str) -> Command | None:
    """The command on a pasted prompt line, or None when the line is no kubectl command."""
    match = _COMMAND.match(line)
    if match is None or (match.group("tool") == "k" and not match.group("prompt")):
        return None
    head, pipe = _split_pipe(match.group("cmd"))
    try:
        tokens = shlex.split(head)
    except ValueError:
        tokens = head.split()
    values: dict[str, str] = {}
    names: list[str] = []
    verb = ""
    previous: bool | None = None
    all_namespaces = False
    index = 1
    while index < len(tokens):
        token = tokens[index]
        index += 1
        pair = _flag_value(token)
        if pair is not None:
            flag, value = pair
            if flag in _VALUE_FLAGS:
                values[_VALUE_FLAGS[flag]] = value
            elif flag == "--previous":
                previous = value.lower() != "false"
            elif flag == "--all-namespaces":
                all_namespaces = value.lower() != "false"
        elif token in _VALUE_FLAGS and index < len(tokens):
            values[_VALUE_FLAGS[token]] = tokens[index]
            index += 1
        elif token in _OTHER_VALUE_FLAGS:
            index += 1
        elif token.startswith(("-o", "-l")) and len(token) > 2 and token[1:2] != "-":
            # `-oyaml`, `-o=json`, `-lapp=web`: the value written onto the flag.
            values[_VALUE_FLAGS[token[:2]]] = token[2:].removeprefix("=")
        elif token in ("-p", "--previous"):
            previous = True
        elif token in ("-A", "--all-namespaces"):
            all_namespaces = True
        elif token.startswith("-"):
            continue
        elif not verb and token in _VERBS:
            verb = "logs" if token == "log" else token
        elif verb:
            names.append(token)
    if not verb:
        return None
    if verb == "logs" and previous is None:
        previous = False
    return Command(
        line=line,
        verb=verb,
        names=tuple(names),
        namespace=values.get("namespace", ""),
        container=values.get("container", ""),
        previous=previous,
        all_namespaces=all_namespaces,
        output=values.get("output", ""),
        selector=values.get("selector", ""),
        pipe=pipe,
    )


def pod_name_of(command: Command) -> str:
    """The pod a command is about: `describe pod x`, `describe pods/x`, `logs x`, `logs pod/x`."""
    names = list(command.names)
    if command.verb in ("describe", "get") and names and names[0] in ("pod", "pods", "po"):
        names = names[1:]
    for name in names:
        kind, _, rest = name.rpartition("/")
        if kind in ("", "pod", "pods", "po") and rest:
            return rest
    return ""


# --- ages ---------------------------------------------------------------------------------------

_AGE = re.compile(r"(?:(\d+)y)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_INTERVAL = re.compile(r"(?P<last>\S+)(?:\s+\(x(?P<count>\d+)\s+over\s+(?P<first>\S+)\))?")


def parse_age(text: str) -> int | None:
    """Seconds in a kubectl age ("3m10s", "2d", "45s"); None for "<invalid>", "<unknown>" or junk."""
    body = text.strip()
    match = _AGE.fullmatch(body)
    if not body or match is None:
        return None
    years, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return (((years * 365 + days) * 24 + hours) * 60 + minutes) * 60 + seconds


def parse_interval(text: str) -> tuple[int | None, int, int | None]:
    """(last age, count, first age) of an event interval: "3m (x5 over 10m)" -> (180, 5, 600)."""
    match = _INTERVAL.fullmatch(text.strip())
    if match is None:
        return (None, 1, None)
    last = parse_age(match.group("last"))
    if match.group("count") is None:
        return (last, 1, last)
    return (last, int(match.group("count")), parse_age(match.group("first")))


# --- times --------------------------------------------------------------------------------------

_RFC1123 = re.compile(
    r"(?:[A-Z][a-z]{2},\s+)?(?P<day>\d{1,2})\s+(?P<month>[A-Z][a-z]{2})\s+(?P<year>\d{4})\s+"
    r"(?P<clock>\d{2}:\d{2}:\d{2})\s+(?P<zone>[+-]\d{4}|[A-Z]{1,5})"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_UNSET_YEARS = (1, 1970)


def parse_kube_time(text: str) -> datetime | None:
    """A describe or RFC3339 time as aware UTC; None when unset (zero time, epoch) or unreadable."""
    body = text.strip()
    match = _RFC1123.fullmatch(body)
    if match is None:
        return parse_time(body)
    month = _MONTHS.get(match.group("month"))
    if month is None:
        return None
    zone = match.group("zone")
    if zone[0] in "+-":
        minutes = int(zone[1:3]) * 60 + int(zone[3:5])
        tz = timezone(timedelta(minutes=minutes if zone[0] == "+" else -minutes))
    else:
        tz = UTC  # zone names other than UTC/GMT are ambiguous; describe prints offsets today
    hour, minute, second = (int(part) for part in match.group("clock").split(":"))
    try:
        moment = datetime(
            int(match.group("year")), month, int(match.group("day")), hour, minute, second, 0, tz
        )
    except ValueError:
        return None
    if moment.year in _UNSET_YEARS and moment.month == 1 and moment.day == 1:
        return None
    return moment.astimezone(UTC)


def ago(as_of: datetime | None, seconds: int | None) -> datetime | None:
    """The moment `seconds` before `as_of`, when both are known."""
    if as_of is None or seconds is None:
        return None
    return as_of - timedelta(seconds=seconds)
