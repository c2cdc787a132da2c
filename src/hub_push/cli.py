"""The entrypoint: mask the secrets, run the flow, run the reporters, choose the exit code.

The only place that decides the exit code, and the one place every failure becomes a
single `::error` annotation: no traceback, no secret. `--help` and `--version` answer
before anything of the run is imported.
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Sequence
from types import FrameType

from hub_push import __version__
from hub_push import github_actions as gha
from hub_push.errors import Cancelled, ExecutorError, HubPushError, InputError, InputErrors


def _cancel(signum: int, _frame: FrameType | None) -> None:
    raise Cancelled(f"Cancelled by signal {signal.Signals(signum).name}.")


def parse_args(argv: Sequence[str] | None) -> dict[str, object]:
    """CLI flags, mirroring the action's inputs; only the flags given are returned."""
    parser = argparse.ArgumentParser(
        prog="hub-push",
        description="Publish a Jina Executor folder to Jina Hub and report the build. "
        "Every flag can also come from INPUT_<NAME> (as in GitHub Actions) or HUB_PUSH_<NAME>.",
        argument_default=argparse.SUPPRESS,
    )
    add = parser.add_argument
    add("--version", action="version", version=f"hub-push {__version__}")
    add("--path", help="executor folder (default: .)")
    add("-t", "--tag", dest="tags", action="append", help="a tag (repeatable)")
    add(
        "--protected-tag",
        dest="protected_tags",
        action="append",
        help="a protected tag (repeatable)",
    )
    add("--name", help="executor name or ID (with --secret: update it)")
    add("--secret", help="the executor's SECRET (prefer HUB_PUSH_SECRET)")
    add("--token", help="Jina login token (prefer JINA_AUTH_TOKEN)")
    add("--visibility", choices=["public", "private"])
    add("--build-env", dest="build_env", action="append", metavar="KEY=VALUE", help="repeatable")
    add("-f", "--dockerfile")
    add("--platform")
    add("--no-cache", dest="no_cache", action="store_true")
    add("--hub-url", dest="hub_url")
    add("--wait", action=argparse.BooleanOptionalAction)
    add("--timeout", help="e.g. 90s, 15m, 1h")
    add("--verbose", action="store_true")
    add("--dry-run", dest="dry_run", action="store_true")
    add("--preflight", action=argparse.BooleanOptionalAction, help="Jina Hub's build check")
    add("--summary", action=argparse.BooleanOptionalAction)
    return dict(vars(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _cancel)
    # Imported once the flags are known to ask for a run: `--help` stays instant.
    from hub_push import flow, outputs, summary
    from hub_push.deadline import Deadline
    from hub_push.outcome import Outcome
    from hub_push.settings import Settings, secret_values

    for value in secret_values(args, os.environ):  # before anything can print one
        gha.mask(value)
    outcome = Outcome()
    settings: Settings | None = None
    try:
        settings = flow.load(args, outcome)
        flow.publish(
            settings, outcome, Deadline(outcome.started + settings.timeout.total_seconds())
        )
    except HubPushError as error:
        _annotate(error)
    outputs.report(outcome)
    if settings is None or settings.summary:
        summary.report(outcome, settings.describe() if settings else None)
    return 0 if outcome.ok and not outcome.error else 1


def _annotate(error: HubPushError) -> None:
    """One `::error` for the failure (one per bad input), naming file and line where known."""
    if isinstance(error, InputErrors):
        for problem in error.errors:
            gha.error(str(problem), title="Invalid input")
    elif isinstance(error, InputError):
        gha.error(str(error), title="Invalid input")
    elif isinstance(error, ExecutorError):
        gha.error(str(error), location=error.location, title="Executor folder")
    else:
        gha.error(str(error), title="Jina Hub push")
