"""One overall deadline per run: every wait (a connection, a read, a retry's pause, a build)
is bounded by what is left of it."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """A moment on the monotonic clock."""

    at: float

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def cap(self, seconds: float) -> float:
        """`seconds`, or less when the deadline is nearer (never zero: httpx needs > 0)."""
        return max(0.01, min(seconds, self.remaining()))
