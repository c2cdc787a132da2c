"""Progress lines for long transfers: a line every few seconds or every 10 %, never a flood."""

from __future__ import annotations

import time
from collections.abc import Callable

#: At most one line this often, besides one per 10 % and the last one.
INTERVAL = 5.0
MIB = 1024 * 1024


class Progress:
    """`progress(done, total)` prints `<label> 312 of 1024 MiB (30 %), 210 MiB/s, 3 s left`
    when 10 % more is done or `INTERVAL` seconds passed, and once at the end; small transfers
    (under 16 MiB) say nothing. The one throttle of progress lines: packing and the upload
    call it on every chunk."""

    def __init__(self, label: str, show: Callable[[str], None], *, quiet_below: int = 16 * MIB):
        self.label = label
        self.show = show
        self.quiet_below = quiet_below
        self.started = time.monotonic()
        self.last_time = self.started
        self.last_tenth = 0
        self.finished = False

    def __call__(self, done: int, total: int) -> None:
        """Called as often as the work moves (it is cheap): the lines are throttled here."""
        if total < self.quiet_below or self.finished:
            return
        now = time.monotonic()
        tenth = done * 10 // total if total else 10
        if done < total and tenth <= self.last_tenth and now - self.last_time < INTERVAL:
            return
        self.finished = done >= total  # the line at 100 % comes once
        self.last_time, self.last_tenth = now, tenth
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        line = f"{self.label} {done // MIB} of {total // MIB} MiB ({done * 100 // max(total, 1)} %)"
        line += f", {rate / MIB:.0f} MiB/s"
        if done < total and rate > 0:
            line += f", {(total - done) / rate:.0f} s left"
        self.show(line)
