"""The lab's simulated clock: wall time scaled by a speed factor.

The kubelet, the controllers and every timestamp the lab writes run on this clock, so a test can
play ten minutes of crash-looping in a few seconds. The HTTP server itself is never slowed down.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    """Simulated time = start + (real time elapsed) x speed."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = (start or datetime.now(UTC)).replace(microsecond=0)
        self._mono0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.seconds())

    def seconds(self) -> float:
        """Simulated seconds since the clock started."""
        return (time.monotonic() - self._mono0) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (tests)."""
        self._offset += seconds

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(max(0.0, sim_seconds) / self.speed)

    def real_seconds(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds) / self.speed


def rfc3339(moment: datetime) -> str:
    """Kubernetes' timestamp form: second precision, UTC, trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
