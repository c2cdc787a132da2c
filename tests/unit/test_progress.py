"""Progress lines: one per 10 % or per few seconds, with size, rate and time left; none for
small transfers."""

from __future__ import annotations

import pytest

from hub_push import progress
from hub_push.progress import MIB, Progress


def test_a_line_per_tenth_and_one_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(float(n) / 100 for n in range(10_000))
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    lines: list[str] = []
    report = Progress("uploaded", lines.append)
    total = 100 * MIB
    for done in range(0, total + 1, MIB):  # 101 calls
        report(done, total)
    assert len(lines) == 10
    assert lines[-1].startswith("uploaded 100 of 100 MiB (100 %), ")
    assert "s left" in lines[0] and "MiB/s" in lines[0]


def test_small_transfers_say_nothing() -> None:
    lines: list[str] = []
    report = Progress("packed", lines.append)
    report(MIB, MIB)
    assert lines == []


def test_the_end_is_said_once() -> None:
    lines: list[str] = []
    report = Progress("uploaded", lines.append)
    report(300 * MIB, 300 * MIB)
    report(300 * MIB, 300 * MIB)
    assert [line.split(",")[0] for line in lines] == ["uploaded 300 of 300 MiB (100 %)"]


def test_a_build_that_is_followed_says_each_status_and_every_30_seconds() -> None:
    from hub_push.build_log import BuildProgress, elapsed
    from hub_push.hub.models import ProgressEvent

    now = [100.0]
    lines: list[str] = []
    watch = BuildProgress("t1", verbose=False, show=lines.append, clock=lambda: now[0])
    watch(ProgressEvent("pending"))
    now[0] += 10
    watch(ProgressEvent("waiting"))
    for _ in range(8):  # the stream reopens every 10 s, saying nothing new
        now[0] += 10
        watch(ProgressEvent("waiting"))
    assert lines == [
        "build t1: pending (0 s)",
        "build t1: waiting (10 s)",
        "build t1: still waiting, 40 s since the push was accepted",
        "build t1: still waiting, 1 m 10 s since the push was accepted",
    ]
    assert elapsed(3725) == "1 h 02 m"
