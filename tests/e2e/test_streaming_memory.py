"""The archive is streamed from disk: a large executor does not grow the action's memory.

Peak RSS of the entrypoint (measured by a tiny parent process, from `getrusage`) for a push
with 106 MiB of data, against the same push without it. The data takes every path of the
packer: a stored weights file (read twice: CRC, then copy), a large text file deflated
through a spool that spills to disk, and an unknown file the trial deflate stores. Holding
the archive, or any one file, in memory would cost at least 64 MiB; streaming costs a few
buffers. The absolute bound is the one `bench/run.py` reports at 100 MB to 1 GiB.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from support.runner import run_action

MakeExecutor = Callable[..., Path]
MIB = 1024 * 1024
WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code)\n"
)


def peak_rss_kib(
    hub_url: str, token: str, folder: Path, report: Path, log: list[str] | None = None
) -> int:
    command = [sys.executable, "-c", WRAPPER, str(report), sys.executable, "-m", "hub_push"]
    run = run_action(
        {"path": folder.name, "hub-url": hub_url, "token": token, "timeout": "2m"},
        workspace=folder.parent,
        command=command,
        timeout=300,
    )
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "succeeded"
    if log is not None:
        log.extend(run.stdout.splitlines())
    return int(report.read_text())


def test_a_large_executor_is_pushed_without_holding_it_in_memory(
    alice: str, shared_hub, make_executor: MakeExecutor, tmp_path: Path
) -> None:
    small = make_executor()
    large = make_executor(files={".gitignore": "# keep everything\n"})
    with (large / "weights.bin").open("wb") as out:  # stored: known extension
        for _ in range(64):
            out.write(os.urandom(MIB))
    with (large / "data.dat").open("wb") as out:  # stored: the trial deflate saves nothing
        for _ in range(16):
            out.write(os.urandom(MIB))
    with (large / "vocab.txt").open("w") as text:  # deflated, through a spool on disk
        for block in range(32):
            text.write("".join(f"tok{n * 7919 % 100_003} {block}\n" for n in range(MIB // 14)))

    baseline = peak_rss_kib(shared_hub.url, alice, small, tmp_path / "small.rss")
    log: list[str] = []
    big = peak_rss_kib(shared_hub.url, alice, large, tmp_path / "large.rss", log)
    grown_mib = (big - baseline) / 1024
    print(f"peak RSS: {baseline / 1024:.1f} MiB small, {big / 1024:.1f} MiB with 106 MiB of data")
    assert grown_mib < 16, f"peak RSS grew by {grown_mib:.1f} MiB for a 106 MiB executor"
    assert big * 1024 < 100_000_000, f"peak RSS {big / 1024:.1f} MiB, over 100 MB"
    # Progress on a long transfer: some lines, each with size and rate, never a flood.
    for label in ("packed", "uploaded"):
        lines = [line for line in log if line.startswith(f"{label} ")]
        assert 1 <= len(lines) <= 12, lines
        assert re.match(rf"{label} (\d+) of \1 MiB \(100 %\)", lines[-1]), lines
        assert all("MiB/s" in line for line in lines)
        assert sum("(100 %)" in line for line in lines) == 1, lines  # the end, said once
