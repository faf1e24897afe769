"""Find the control-plane binaries that `make controlplane` builds.

They live outside the clone, in `${XDG_CACHE_HOME:-~/.cache}/kcrash/controlplane/<kubernetes version>/`,
beside a `.stamp` written once all four are in place. In a clone, the version is the one `controlplane/
go.mod` pins; elsewhere (an installed wheel) the newest complete build is used.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
STAMP = ".stamp"
BUILD_HINT = "run `make controlplane` in a kcrash clone (needs Go)"
_PINNED = re.compile(r"^\s*k8s\.io/kubernetes\s+(v\d+\.\d+\.\d+)\s*$", re.MULTILINE)
_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


class MissingBinaries(Exception):
    """The control plane has not been built; the message is one line that names the fix."""


@dataclass(frozen=True)
class Binaries:
    directory: Path
    version: str

    def path(self, component: str) -> Path:
        return self.directory / component


def cache_root(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kcrash" / "controlplane"


def source_go_mod() -> Path:
    """controlplane/go.mod of the clone this package runs from (absent in an installed wheel)."""
    return Path(__file__).resolve().parents[4] / "controlplane" / "go.mod"


def pinned_version(go_mod: Path | None = None) -> str | None:
    try:
        text = (go_mod or source_go_mod()).read_text(encoding="utf-8")
    except OSError:
        return None
    match = _PINNED.search(text)
    return match.group(1) if match else None


def is_complete(directory: Path) -> bool:
    return (directory / STAMP).is_file() and all(os.access(directory / c, os.X_OK) for c in COMPONENTS)


def find_binaries(root: Path | None = None, version: str | None = None) -> Binaries:
    """The pinned build if there is one, else the newest complete one; `MissingBinaries` otherwise."""
    root = root or cache_root()
    wanted = version or pinned_version()
    if wanted is not None:
        if is_complete(root / wanted):
            return Binaries(root / wanted, wanted)
        raise MissingBinaries(f"the real control plane {wanted} is not built in {root}: {BUILD_HINT}")
    builds = [d for d in _version_dirs(root) if is_complete(d)]
    if not builds:
        raise MissingBinaries(f"no real control plane is built in {root}: {BUILD_HINT}")
    newest = max(builds, key=lambda d: _version_key(d.name))
    return Binaries(newest, newest.name)


def _version_dirs(root: Path) -> list[Path]:
    try:
        return [d for d in root.iterdir() if d.is_dir() and _VERSION.match(d.name)]
    except OSError:
        return []


def _version_key(name: str) -> tuple[int, ...]:
    match = _VERSION.match(name)
    return tuple(int(part) for part in match.groups()) if match else ()
