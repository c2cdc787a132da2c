"""`make demo`: push examples/hello-executor to a local Hub through the action's entrypoint.

Starts the local Hub on 127.0.0.1 (state kept in `.demo/hub`, so reruns see earlier pushes),
runs `python -m hub_push` with runner-style variables as a workflow step would, and prints
the job log, the outputs and the step summary. Exits with the action's exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from support.localhub_process import local_hub
from support.runner import REPO_ROOT, run_action

DEMO_USER, DEMO_TOKEN = "demo", "demo-token"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--path", default="examples/hello-executor")
    parser.add_argument("--tags", default="latest", help="the `tags` input (default: latest)")
    parser.add_argument("--protected-tag", default="", help="the `protected-tags` input")
    parser.add_argument("--anonymous", action="store_true", help="push without a login token")
    parser.add_argument("--data", type=Path, default=REPO_ROOT / ".demo" / "hub")
    args = parser.parse_args(argv)

    args.data.mkdir(parents=True, exist_ok=True)
    inputs = {
        "path": args.path,
        "tags": args.tags,
        "protected-tags": args.protected_tag,
        "token": "" if args.anonymous else DEMO_TOKEN,
        "allow-anonymous": "true" if args.anonymous else "false",
        "verbose": "true",
        "timeout": "2m",
    }
    with local_hub(args.data, users={DEMO_USER: DEMO_TOKEN}, build_seconds=1.0) as hub:
        print(f"local Hub on {hub.url} (state in {args.data})")
        inputs["hub-url"] = hub.url
        run = run_action(inputs, workspace=REPO_ROOT)

    print("\n---- job log " + "-" * 50)
    print(run.log.rstrip())
    print("\n---- outputs (GITHUB_OUTPUT) " + "-" * 34)
    for name, value in run.outputs.items():
        shown = "***" if name == "secret" and value else value
        print(f"{name:14} {shown}")
    print("\n---- step summary (GITHUB_STEP_SUMMARY) " + "-" * 23)
    print(run.summary.rstrip())
    print("\n" + "-" * 63)
    status, task = run.outputs.get("build-status", "?"), run.outputs.get("task-id", "")
    print(f"exit code {run.returncode}, build-status {status}, task-id {task}")
    print(
        "Try: make demo DEMO_ARGS='--protected-tag v1.0.0' twice (the second push is refused);"
        " make demo-reset forgets the local Hub's state."
    )
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
