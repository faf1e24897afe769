"""k9s beside kcrash: the binary `make k9s` builds, a home of its own, and its pods screen read from tmux.

k9s is started the way a person would start it to look at every pod, with the lab's kubeconfig:
`k9s --kubeconfig F -A -c pods --readonly --splashless`. `--splashless` drops a fixed one-second
logo screen, so the figure is the time to get the pods, not a cosmetic delay (k9s's favour).
Each launch gets empty config, data, state and discovery-cache directories: k9s reads and writes
its settings there, never in the user's, and pays discovery as kubectl and kcrash do.

"Pods on screen" is the title of its table, ` pods(all)[1,021] `, counting every pod of the lab,
and at least one row naming a pod the lab has.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from labproc import LabProcess
from tmuxterm import TmuxTerm

BENCH = Path(__file__).resolve().parent
GO_MOD = BENCH / "k9s" / "go.mod"
MODULE = "github.com/derailed/k9s"
TITLE = re.compile(r"\bpods\((?P<scope>[^)]*)\)\[(?P<count>[\d,]+)\]")
SETTLE = 5.0
"""Seconds after the pods are on screen before the settled memory reading (k9s redraws every 2 s)."""
CONFIG = """\
k9s:
  # No network here but the lab's: do not ask the internet for a newer release.
  skipLatestRevCheck: true
  readOnly: true
  ui:
    splashless: true
"""


def pinned_version(go_mod: Path = GO_MOD) -> str | None:
    """The k9s release go.mod pins (`github.com/derailed/k9s v0.50.16 // indirect`)."""
    try:
        text = go_mod.read_text()
    except OSError:
        return None
    found = re.search(rf"^\s*{re.escape(MODULE)}\s+(v\S+)", text, re.MULTILINE)
    return found.group(1) if found else None


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def built_binary() -> Path | None:
    """Where `make k9s` put the pinned release, if it did."""
    version = pinned_version()
    if version is None:
        return None
    binary = cache_root() / "kcrash" / "k9s" / version / "k9s"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def usable_binary(given: Path | None) -> Path | None:
    """The binary given on the command line if it runs, else the one `make k9s` built, else None."""
    if given is None:
        return built_binary()
    return given if given.is_file() and os.access(given, os.X_OK) else None


def missing_line(given: Path | None = None) -> str:
    """The one line the bench prints when it goes on without k9s."""
    if given is not None:
        return f"k9s: {given} is not an executable file, measuring kcrash alone"
    return f"k9s: not built ({pinned_version() or 'no pin'}), measuring kcrash alone; `make k9s` builds it"


def isolated_environment(workdir: Path) -> dict[str, str]:
    """Empty config, data, state, log and discovery-cache directories for one k9s launch."""
    home = Path(tempfile.mkdtemp(prefix="k9s-home-", dir=workdir))
    places = {
        "K9S_CONFIG_DIR": home / "config" / "k9s",
        "K9S_LOGS_DIR": home / "state" / "k9s",
        "XDG_CONFIG_HOME": home / "config",
        "XDG_DATA_HOME": home / "data",
        "XDG_STATE_HOME": home / "state",
        "XDG_CACHE_HOME": home / "cache",
        "KUBECACHEDIR": home / "kube-cache",
        "HOME": home,
    }
    for place in places.values():
        place.mkdir(parents=True, exist_ok=True)
    (places["K9S_CONFIG_DIR"] / "config.yaml").write_text(CONFIG)
    return {key: str(value) for key, value in places.items()}


def argv(binary: Path, kubeconfig: Path) -> list[str]:
    return [
        str(binary),
        "--kubeconfig",
        str(kubeconfig),
        "--all-namespaces",
        "--command",
        "pods",
        "--readonly",
        "--splashless",
    ]


def title_count(screen: str) -> int | None:
    """The pod count in k9s's table title, or None before the pods view is drawn."""
    found = TITLE.search(screen)
    return int(found.group("count").replace(",", "")) if found else None


def names_on_screen(screen: str, names: frozenset[str]) -> int:
    """How many of `names` (pod names) stand as a word on the screen."""
    words = set(re.findall(r"[a-z0-9][a-z0-9.-]*", screen))
    return len(words & names)


@dataclass(frozen=True, slots=True)
class PeerLaunch:
    seconds: float
    pods: int
    pid: int
    names_seen: int


def measure_launch(
    term: TmuxTerm,
    lab: LabProcess,
    binary: Path,
    kubeconfig: Path,
    workdir: Path,
    timeout: float,
) -> PeerLaunch:
    """Start k9s in the terminal; time until its title counts every pod and a pod's row shows."""
    names = frozenset(name for _, name in lab.pod_keys())
    wanted = [len(names)]
    last_check = [time.monotonic()]

    def ready(screen: str) -> bool:
        count = title_count(screen)
        if count is not None and count != wanted[0] and time.monotonic() - last_check[0] > 0.5:
            last_check[0] = time.monotonic()  # the lab's count may have moved (a pod replaced)
            wanted[0] = lab.pod_count()
        return count == wanted[0] and names_on_screen(screen, names) > 0

    environment = {
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
        **isolated_environment(workdir),
    }
    started = time.monotonic()
    term.launch(argv(binary, kubeconfig), environment, workdir)
    seen, screen = term.wait_for(ready, timeout, interval=0.02)
    return PeerLaunch(seen - started, wanted[0], term.pane_pid(), names_on_screen(screen, names))
