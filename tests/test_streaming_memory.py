"""The archive is streamed from disk: a large executor does not grow the action's memory.

Peak RSS of the entrypoint (measured by a tiny parent process, from `getrusage`) for a push
with 48 MiB of incompressible data, against the same push without it. Holding the archive
in memory would cost at least the archive's size; streaming costs a few buffers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from support.runner import run_action

MakeExecutor = Callable[..., Path]
BIG = 48 * 1024 * 1024
WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code)\n"
)


def peak_rss_kib(hub_url: str, token: str, folder: Path, report: Path) -> int:
    command = [sys.executable, "-c", WRAPPER, str(report), sys.executable, "-m", "hub_push"]
    run = run_action(
        {"path": folder.name, "hub-url": hub_url, "token": token, "timeout": "2m"},
        workspace=folder.parent,
        command=command,
        timeout=300,
    )
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "succeeded"
    return int(report.read_text())


def test_a_large_executor_is_pushed_without_holding_it_in_memory(
    alice: str, shared_hub, make_executor: MakeExecutor, tmp_path: Path
) -> None:
    small = make_executor()
    large = make_executor(files={".gitignore": "# keep everything\n"})
    with (large / "weights.bin").open("wb") as out:
        for _ in range(BIG // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))

    baseline = peak_rss_kib(shared_hub.url, alice, small, tmp_path / "small.rss")
    big = peak_rss_kib(shared_hub.url, alice, large, tmp_path / "large.rss")
    grown_mib = (big - baseline) / 1024
    print(f"peak RSS: {baseline / 1024:.1f} MiB small, {big / 1024:.1f} MiB with 48 MiB of data")
    assert grown_mib < 16, f"peak RSS grew by {grown_mib:.1f} MiB for a 48 MiB archive"
