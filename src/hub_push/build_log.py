"""What the job log shows while a build is followed: every change of the build's status, a
line every `WAIT_LINE_SECONDS` of waiting (the time elapsed), and the build's own log lines
(in the log with `verbose: true`, else only with debug logging) — each line once."""

from __future__ import annotations

import time
from collections.abc import Callable

from hub_push import github_actions as gha
from hub_push.hub.models import ProgressEvent
from hub_push.outcome import LOG_TAIL

#: The longest the log stays silent while a build is followed.
WAIT_LINE_SECONDS = 30.0


def elapsed(seconds: float) -> str:
    """`45 s`, `2 m 05 s`, `1 h 02 m`."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} m {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} m"


class BuildProgress:
    """`on_progress` for `HubClient.follow_build`: it hears every event of the build's status
    stream, and each time the stream is reopened (a quiet stream included)."""

    def __init__(
        self,
        task_id: str,
        *,
        verbose: bool,
        show: Callable[[str], None] = gha.info,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.task_id = task_id
        self.verbose = verbose
        self.show = show
        self.clock = clock
        self.started = self.last_line = clock()
        self.status = ""

    def __call__(self, event: ProgressEvent) -> None:
        now = self.clock()
        if event.status != self.status:
            self.status = event.status
            self._say(f"build {self.task_id}: {event.status} ({elapsed(now - self.started)})", now)
        for line in event.log:
            if self.verbose:
                self._say(line, now)
            else:
                gha.debug(line)
        if now - self.last_line >= WAIT_LINE_SECONDS:
            self._say(
                f"build {self.task_id}: still {self.status}, "
                f"{elapsed(now - self.started)} since the push was accepted",
                now,
            )

    def _say(self, line: str, now: float) -> None:
        self.show(line)
        self.last_line = now


def show_tail(log: tuple[str, ...], *, shown_already: bool) -> None:
    """The last lines of a build that did not end well, unless the log showed them already
    (`verbose: true` streams every line)."""
    if log and not shown_already:
        with gha.group(f"Build log (last {min(len(log), LOG_TAIL)} of {len(log)} lines)"):
            for line in log[-LOG_TAIL:]:
                gha.info(line)
