"""Finding the binaries `make controlplane` built, and the build script's answer on a machine without Go."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kcrash.lab.realcp.binaries import (
    COMPONENTS,
    MissingBinaries,
    cache_root,
    find_binaries,
    pinned_version,
    source_go_mod,
)

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "controlplane" / "build.sh"


def fake_build(root: Path, version: str, *, stamp: bool = True, missing: str = "") -> Path:
    directory = root / version
    directory.mkdir(parents=True)
    for name in COMPONENTS:
        if name != missing:
            (directory / name).write_text("#!/bin/sh\n")
            (directory / name).chmod(0o755)
    if stamp:
        (directory / ".stamp").write_text("key\n")
    return directory


def test_cache_root_honours_xdg_cache_home() -> None:
    assert cache_root({"XDG_CACHE_HOME": "/x/cache"}) == Path("/x/cache/kcrash/controlplane")
    assert cache_root({}) == Path.home() / ".cache" / "kcrash" / "controlplane"


def test_the_clone_pins_a_kubernetes_release() -> None:
    version = pinned_version(source_go_mod())
    assert version is not None and version.startswith("v1.")
    assert int(version.split(".")[1]) >= 34


def test_the_pinned_build_is_found(tmp_path: Path) -> None:
    directory = fake_build(tmp_path, "v1.36.3")
    found = find_binaries(tmp_path, "v1.36.3")
    assert found.directory == directory and found.path("kube-apiserver") == directory / "kube-apiserver"


@pytest.mark.parametrize(("stamp", "missing"), [(False, ""), (True, "etcd")], ids=["no-stamp", "no-etcd"])
def test_an_incomplete_build_names_the_make_target(tmp_path: Path, stamp: bool, missing: str) -> None:
    fake_build(tmp_path, "v1.36.3", stamp=stamp, missing=missing)
    with pytest.raises(MissingBinaries, match=r"v1\.36\.3 is not built in .*run `make controlplane`"):
        find_binaries(tmp_path, "v1.36.3")


def test_without_a_pin_the_newest_complete_build_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kcrash.lab.realcp.binaries.pinned_version", lambda: None)
    fake_build(tmp_path, "v1.35.4")
    newest = fake_build(tmp_path, "v1.36.10")
    fake_build(tmp_path, "v1.37.0", stamp=False)
    assert find_binaries(tmp_path).directory == newest
    with pytest.raises(MissingBinaries, match="no real control plane is built"):
        find_binaries(tmp_path / "empty")


def test_the_build_without_go_is_one_line_and_succeeds(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    bin_dir = tmp_path / "bin"  # the tools the script needs, and no go
    bin_dir.mkdir()
    for tool in ("sed", "dirname", "cat"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run([bash, str(BUILD_SCRIPT)], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["controlplane: skipped, Go is not installed (needs Go ≥ 1.26)"]
    assert result.stderr == ""
    assert not (tmp_path / "cache").exists()
    assert os.access(BUILD_SCRIPT, os.X_OK)
