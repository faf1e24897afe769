"""`kcrash --demo`: the lab in-process, a throwaway kubeconfig, and the console pointed at it.

The lab is imported inside `start_demo` only: the console never depends on it otherwise.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcrash.ui.clock import Clock, SystemClock

DEMO_NAMESPACE = "crashlab"
DEMO_CONTEXT = "kcrash-lab"


@dataclass
class Demo:
    """A running lab and the kubeconfig that reaches it; `stop()` removes both."""

    lab: Any
    kubeconfig: str
    clock: Clock
    _tmpdir: str = field(repr=False, default="")

    def stop(self) -> None:
        try:
            self.lab.stop()
        finally:
            if self._tmpdir:
                shutil.rmtree(self._tmpdir, ignore_errors=True)


def start_demo(speed: float = 1.0, seed: int = 1) -> Demo:
    """Start the lab on a free port and write a kubeconfig for it into a private temp dir."""
    from kcrash.lab.app import Lab

    lab = Lab(port=0, speed=speed, seed=seed).start()
    tmpdir = tempfile.mkdtemp(prefix="kcrash-demo-")
    path = Path(tmpdir) / "kubeconfig"
    try:
        lab.write_kubeconfig(path)
    except BaseException:
        lab.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    clock: Clock = lab.clock if hasattr(lab, "clock") else SystemClock()
    return Demo(lab=lab, kubeconfig=str(path), clock=clock, _tmpdir=tmpdir)
