"""The entrypoint: read the inputs, run the flow, report, and choose the exit code.

The only place that decides the exit code, and the one place every failure becomes a
single `::error` annotation: no traceback, no secret.
"""

from __future__ import annotations

import argparse
import signal
import time
import traceback
from collections.abc import Sequence
from types import FrameType

from hub_push import __version__, summary
from hub_push import github_actions as gha
from hub_push.errors import BuildError, BuildTimeoutError, ExecutorError, HubPushError
from hub_push.outcome import Outcome
from hub_push.publish import publish
from hub_push.settings import InputErrors, Settings, load_settings


class Cancelled(HubPushError):
    hint = "The run was cancelled; the Hub may still be building what was pushed."


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
    add("--summary", action=argparse.BooleanOptionalAction)
    return dict(vars(parser.parse_args(argv)))


def _fail(outcome: Outcome, error: HubPushError) -> None:
    """Record a failure in the outcome and annotate it once (once per bad input)."""
    # Other errors leave the status where the flow reached: `skipped` before the upload.
    if isinstance(error, BuildError):
        outcome.status = "timeout" if isinstance(error, BuildTimeoutError) else "failed"
        outcome.task_id = outcome.task_id or error.task_id
        outcome.log = error.log or outcome.log
    outcome.error = gha.redact(str(error))
    outcome.hint = error.hint
    if isinstance(error, InputErrors):
        for problem in error.errors:
            gha.error(str(problem), title="Invalid input")
    elif isinstance(error, ExecutorError):
        gha.error(str(error), location=error.location, title="Executor folder")
    else:
        gha.error(str(error), title="Jina Hub push")
    if outcome.log and outcome.status in ("failed", "timeout"):
        with gha.group("Build log (last lines)"):
            for line in outcome.log[-summary.LOG_TAIL :]:
                gha.info(line)


def _report(outcome: Outcome, settings: Settings | None) -> None:
    """Outputs on every path, the reasons for empty ones, and the summary."""
    with gha.group("Result"):
        gha.set_outputs(outcome.outputs())
        by_reason: dict[str, list[str]] = {}
        for name, reason in outcome.why_empty().items():
            by_reason.setdefault(reason, []).append(name)
        for reason, names in by_reason.items():
            gha.info(f"empty output{'s' if len(names) > 1 else ''} {', '.join(names)}: {reason}")
    if settings is None or settings.summary:
        gha.append_summary(summary.render(outcome, settings))


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _cancel)
    outcome = Outcome()
    settings: Settings | None = None
    try:
        settings = load_settings(parse_args(argv))
        publish(settings, outcome)
    except HubPushError as error:
        _fail(outcome, error)
    except KeyboardInterrupt:
        _fail(outcome, Cancelled("Cancelled."))
    except Exception as error:  # a bug of ours: say so, without a traceback unless debugging
        gha.debug(gha.redact(traceback.format_exc()))
        _fail(outcome, HubPushError(f"Unexpected error ({type(error).__name__}): {error}"))
    outcome.duration = time.monotonic() - started
    _report(outcome, settings)
    return 0 if outcome.ok and not outcome.error else 1
