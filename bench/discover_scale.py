"""`make bench`, part 1: `mode: discover` on a monorepo of 500 executor folders, 10 changed.

Builds the repository with the git CLI in a temporary folder (500 executors, one commit; then
10 of them changed in a second commit), and times `discover(root, changed_since=<first commit>)`
(dulwich, in process), the median of 5 runs. The target: under a second.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hub_push.discover import discover

FOLDERS, CHANGED, RUNS, TARGET = 500, 10, 5, 1.0


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=repo, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hub-push-discover-") as scratch:
        repo = Path(scratch)
        git(repo, "init", "-q")
        for n in range(FOLDERS):
            folder = repo / "executors" / f"exec{n:03d}"
            folder.mkdir(parents=True)
            (folder / "config.yml").write_text(f"jtype: E{n}\nmetas:\n  name: E{n}\n")
            (folder / "executor.py").write_text(f"class E{n}:\n    pass\n")
            if n % 5 == 0:
                (folder / "Dockerfile.gpu").write_text("FROM jinaai/jina:3\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "base")
        base = git(repo, "rev-parse", "HEAD")
        for n in range(0, FOLDERS, FOLDERS // CHANGED):
            (repo / "executors" / f"exec{n:03d}" / "executor.py").write_text("# changed\n")
        git(repo, "commit", "-qam", "ten changed")
        seconds = []
        for _ in range(RUNS):
            started = time.perf_counter()
            found = discover(repo / "executors", changed_since=base, relative_to=repo)
            seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print(
        f"discover: {FOLDERS} executor folders ({len(found.found)} matrix rows with variants), "
        f"{len(found.executors)} rows changed: median {median:.3f} s of {RUNS} "
        f"(target < {TARGET:.0f} s) {'ok' if median < TARGET else 'OVER'}"
    )
    return 0 if median < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
