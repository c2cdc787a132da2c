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
