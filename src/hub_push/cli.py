"""The entrypoint: mask the secrets, run the flow, run the reporters, choose the exit code.

The only place that decides the exit code, and the one place every failure becomes a
single `::error` annotation: no traceback, no secret. `--help` and `--version` answer
before anything of the run is imported.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from hub_push import __version__
from hub_push import github_actions as gha
from hub_push.errors import Cancelled, ExecutorError, HubPushError, InputError, InputErrors

if TYPE_CHECKING:
    from hub_push.deadline import Deadline
    from hub_push.outcome import Outcome
    from hub_push.pull_request import PullRequestReporter
    from hub_push.settings import Settings


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
    add("--max-archive-size", dest="max_archive_size", metavar="SIZE", help="e.g. 2GiB, 500MB")
    add("--summary", action=argparse.BooleanOptionalAction)
    add("--github-token", dest="github_token", help="prefer HUB_PUSH_GITHUB_TOKEN")
    add("--status-check", dest="status_check", action="store_true")
    add("--check-run", dest="check_run", action="store_true")
    add("--comment", action="store_true")
    add("--sha")
    add("--status-context", dest="status_context")
    add("--save-secret-as", dest="save_secret_as", metavar="PREFIX")
    add("--tag-prefix", dest="tag_prefix", help="with --tag auto: this executor's git tag prefix")
    add("--protect-version", dest="protect_version", action="store_true")
    add("--if-exists", dest="if_exists", choices=["fail", "skip"])
    add("--mode", choices=["push", "discover"])
    add("--root", help="with discover: where to look for executors")
    add("--changed-since", dest="changed_since", metavar="REF")
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["discover"]:  # `hub-push discover …` is `--mode discover …`
        arguments = ["--mode", "discover", *arguments[1:]]
    return dict(vars(parser.parse_args(arguments)))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _cancel)
    # Imported once the flags are known to ask for a run: `--help` stays instant.
    from hub_push import flow, outputs, summary
    from hub_push.deadline import Deadline
    from hub_push.outcome import Outcome
    from hub_push.settings import secret_values

    for value in secret_values(args, os.environ):  # before anything can print one
        gha.mask(value)
    outcome = Outcome()
    settings: Settings | None = None
    github: GitHubReporting | None = None
    try:
        settings = _never_push_unsafely(flow.load(args, outcome))
        deadline = Deadline(outcome.started + settings.timeout.total_seconds())
        github = GitHubReporting.start(settings, Deadline(deadline.at + GITHUB_GRACE_SECONDS))
        flow.publish(settings, outcome, deadline, on_started=github.started if github else _none)
    except HubPushError as error:
        _annotate(error)
    outputs.report(outcome)
    notes = github.save_secret(outcome) if github else []
    markdown = summary.render(outcome, settings.describe() if settings else None, notes)
    if settings is None or settings.summary:
        gha.append_summary(markdown)
    if github:
        github.finished(outcome, markdown)
    return 0 if outcome.ok and not outcome.error else 1


#: After the run's deadline, how long the GitHub reporters may still take.
GITHUB_GRACE_SECONDS = 30.0
#: How long the `pending` status may take, out of the push's own time.
STARTED_SECONDS = 15.0


def _none(_name: str) -> None:
    pass


def _never_push_unsafely(settings: Settings) -> Settings:
    """A pull request from a fork (or one without secrets) is checked and packed, never pushed."""
    from hub_push.github_context import GitHubContext

    has_credential = bool(settings.token or settings.secret)
    why = GitHubContext.from_environ(os.environ).why_not_push(has_credential=has_credential)
    if not why or settings.dry_run:
        return settings
    gha.notice(
        f"Not pushing: {why}. This run checks and packs the executor as a dry run "
        "(build-status dry-run); publish from a push or tag workflow.",
        title="Pull request: dry run",
    )
    return settings.model_copy(update={"dry_run": True})


class GitHubReporting:
    """The pull-request reporter, when an input asks for one (PyGithub is imported only then)."""

    def __init__(self, reporter: PullRequestReporter, deadline: Deadline) -> None:
        self.reporter = reporter
        self.deadline = deadline  # for the reports at the end: the run's deadline plus a grace

    @classmethod
    def start(cls, settings: Settings, deadline: Deadline) -> GitHubReporting | None:
        reports = (settings.status_check, settings.check_run, settings.comment)
        if not any(reports) and not settings.save_secret_as:
            return None
        from hub_push.github_context import GitHubContext
        from hub_push.pull_request import GitHubFeatures, PullRequestReporter

        token = settings.github_token.get_secret_value() if settings.github_token else ""
        features = GitHubFeatures(
            token=token,
            status_check=settings.status_check,
            check_run=settings.check_run,
            comment=settings.comment,
            sha=settings.sha,
            context=settings.status_context,
            save_secret_as=settings.save_secret_as,
        )
        context = GitHubContext.from_environ(os.environ)
        return cls(PullRequestReporter(features, context, deadline=deadline.at), deadline)

    def started(self, executor_name: str) -> None:
        """The `pending` status: a few seconds at most, so GitHub never eats the push's time."""
        self.reporter.started(executor_name, deadline=time.monotonic() + STARTED_SECONDS)

    def save_secret(self, outcome: Outcome) -> list[str]:
        """Notes for the summary: the names (never the values) of the secrets saved."""
        saved = self.reporter.save_secret(outcome, deadline=self.deadline.at)
        if not saved:
            return []
        return [f"Saved as repository secrets: {', '.join(f'`{name}`' for name in saved)}."]

    def finished(self, outcome: Outcome, markdown: str) -> None:
        from hub_push.pull_request import Annotation

        problems = []
        if outcome.error_location is not None:
            where = outcome.error_location
            problems.append(Annotation(where.file, where.line, outcome.error))
        self.reporter.finished(
            outcome, markdown=markdown, annotations=problems, deadline=self.deadline.at
        )


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
