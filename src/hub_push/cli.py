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
from dataclasses import dataclass
from html import escape
from types import FrameType
from typing import TYPE_CHECKING, Any

from hub_push import __version__
from hub_push import github_actions as gha
from hub_push.deadline import Deadline
from hub_push.errors import Cancelled, ExecutorError, HubPushError, InputError, InputErrors
from hub_push.grammar import IfExists, Mode, Visibility, words

if TYPE_CHECKING:
    from hub_push.github import PullRequestReporter
    from hub_push.outcome import Outcome
    from hub_push.plan import Plan
    from hub_push.settings import Settings


@dataclass(frozen=True)
class Option:
    """A setting's CLI flag: `kind` is "text", "flag" (`--x` and `--no-x`), "list" (the flag
    repeats) or the words of a choice; `flags` spells it otherwise than `--<input>`."""

    kind: str | tuple[str, ...]
    help: str
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    #: A flag's "off" spelling, when `--no-<input>` is not it (`--no-cache` is "on").
    off: str = ""


#: One flag a setting, in the model's order (tests/unit/test_cli.py checks this table against
#: `Settings`: the same fields, kinds and words). A table, not a walk over the model, so that
#: `--help` answers without importing pydantic.
OPTIONS: dict[str, Option] = {
    "path": Option("text", "executor folder (default: .)"),
    "tags": Option(
        "list", "a tag (repeatable; `auto`: the tags of the git ref)", flags=("-t", "--tag")
    ),
    "protected_tags": Option("list", "a protected tag (repeatable)", flags=("--protected-tag",)),
    "name": Option("text", "executor name or ID (with --secret: update it)"),
    "secret": Option("text", "the executor's SECRET (prefer HUB_PUSH_SECRET)"),
    "token": Option("text", "Jina login token (prefer JINA_AUTH_TOKEN)"),
    "allow_anonymous": Option("flag", "on Actions: a push without any credential is meant"),
    "secret_file": Option("text", "write a first publish's SECRET to this file (mode 0600)"),
    "visibility": Option(words(Visibility), "public or private (empty: the Hub's default)"),
    "build_env": Option("list", "a build-env variable (repeatable)", metavar="KEY=VALUE"),
    "dockerfile": Option(
        "text", "the Dockerfile to build, relative to the folder", flags=("-f", "--dockerfile")
    ),
    "platform": Option("text", "Docker platforms to build for, e.g. linux/amd64,linux/arm64"),
    "no_cache": Option("flag", "build without the Hub's cache", off="--cache"),
    "hub_url": Option("text", "the Hub's address"),
    "wait": Option("flag", "follow the build to its end"),
    "timeout": Option("text", "the whole run's limit, e.g. 90s, 15m, 1h", metavar="DURATION"),
    "verbose": Option("flag", "show the Hub's build log"),
    "dry_run": Option("flag", "check and pack, upload nothing"),
    "preflight": Option("flag", "Jina Hub's build check before the upload"),
    "max_archive_size": Option(
        "text", "the largest archive the Hub takes, e.g. 2GiB, 500MB", metavar="SIZE"
    ),
    "keep_archive": Option("flag", "keep the archive in the workspace (.hub-push/)"),
    "summary": Option("flag", "write the step summary"),
    "github_token": Option(
        "text", "a GitHub token for the pull-request features (prefer HUB_PUSH_GITHUB_TOKEN)"
    ),
    "status_check": Option("flag", "set a commit status"),
    "check_run": Option("flag", "create a check run"),
    "comment": Option("flag", "keep one pull-request comment up to date"),
    "sha": Option("text", "the commit to report on"),
    "status_context": Option("text", "the commit status's context"),
    "save_secret_as": Option(
        "text",
        "save a first publish's SECRET as repository secrets PREFIX_NAME and PREFIX_SECRET",
        metavar="PREFIX",
    ),
    "save_secret_token": Option(
        "text", "a token that may write repository secrets, for --save-secret-as"
    ),
    "tag_prefix": Option("text", "with --tag auto: this executor's git tag prefix"),
    "tag_suffix": Option("text", "appended to every tag of the push, e.g. -gpu"),
    "protect_version": Option("flag", "with --tag auto: protect the exact version tag"),
    "if_exists": Option(words(IfExists), "what a protected tag already on the Hub does"),
    "skip_unchanged": Option("flag", "push nothing when every tag holds this archive"),
    "mode": Option(
        words(Mode), "push; discover executor folders; follow a build (status); report a matrix"
    ),
    "root": Option("text", "with discover: where to look for executors"),
    "changed_since": Option(
        "text", "with discover: only executors changed since this commit or ref", metavar="REF"
    ),
    "task_id": Option("text", "with status: the build task (default: the newest of the executor)"),
    "replay": Option("flag", "with status: the build log from its first line (default: on)"),
    "results": Option("text", "with report: the folder of the matrix jobs' result files"),
    "matrix": Option("text", "with report: discover's matrix, so a missing job shows as failed"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub-push",
        description="Publish a Jina Executor folder to Jina Hub and report the build. "
        "Every flag can also come from the runner's INPUT_<INPUT> (the input's name upper-cased, "
        "hyphens kept: INPUT_DRY-RUN) or from HUB_PUSH_<NAME> (underscores: HUB_PUSH_DRY_RUN); "
        "INPUT_DRY_RUN is refused, since nothing would read it.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--version", action="version", version=f"hub-push {__version__}")
    for field, option in OPTIONS.items():
        flags = option.flags or ("--" + field.replace("_", "-"),)
        settings: dict[str, Any] = {"dest": field, "help": option.help}
        if option.metavar:
            settings["metavar"] = option.metavar
        if option.kind == "flag":  # `--x` and `--no-x`, the last one given wins
            off = option.off or "--no-" + flags[-1].removeprefix("--")
            parser.add_argument(*flags, action="store_true", **settings)
            parser.add_argument(off, action="store_false", dest=field, help=argparse.SUPPRESS)
            continue
        if option.kind == "list":
            settings["action"] = "append"
        elif isinstance(option.kind, tuple):
            settings["choices"] = option.kind
        parser.add_argument(*flags, **settings)
    parser.epilog = "Every flag of a true/false setting has a --no-… form (--no-cache: --cache)."
    return parser


def parse_args(argv: Sequence[str] | None) -> dict[str, object]:
    """CLI flags, mirroring the action's inputs; only the flags given are returned."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] in (["discover"], ["status"], ["report"]):  # `hub-push status`: a mode
        arguments = ["--mode", arguments[0], *arguments[1:]]
    return dict(vars(build_parser().parse_args(arguments)))


class CancelOnSignal:
    """SIGTERM (the runner's cancel) and SIGINT: once, and only while the run itself goes on.

    During the flow the signal raises `Cancelled`, which the flow records (`cancelled`). Once
    the flow is over it is only noted: every output is still written (a push that succeeded
    stays `succeeded`), the reports after them are skipped, and the exit code is 1.
    """

    def __init__(self) -> None:
        self.signal = ""
        self.raising = True
        #: The signal came once the flow was over: the reports left are skipped.
        self.late = False

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        if self.signal:
            return  # a second signal changes nothing
        self.signal = signal.Signals(signum).name
        self.late = not self.raising
        if self.raising:
            raise Cancelled(f"Cancelled by signal {self.signal}.")

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cancel = CancelOnSignal()
    cancel.install()
    # Imported once the flags are known to ask for a run: `--help` stays instant.
    from hub_push import flow
    from hub_push.outcome import Outcome
    from hub_push.settings import secret_values

    for value in secret_values(args, os.environ):  # before anything can print one
        gha.mask(value)
    outcome = Outcome()
    plan: Plan | None = None
    github: GitHubReporting | None = None
    try:
        try:
            plan = flow.prepare(args, os.environ, outcome)
            deadline = Deadline(outcome.started + plan.settings.timeout.total_seconds())
            github = GitHubReporting.start(plan, Deadline(deadline.at + GITHUB_GRACE_SECONDS))
            flow.run(plan, outcome, deadline, on_started=github.started if github else _none)
        finally:
            cancel.raising = False
    except HubPushError as error:
        if isinstance(error, Cancelled) and not outcome.error:  # before the flow started
            outcome.status, outcome.error = "cancelled", str(error)
        _annotate(error)
    return _report(outcome, plan, github, cancel)


def _report(
    outcome: Outcome, plan: Plan | None, github: GitHubReporting | None, cancel: CancelOnSignal
) -> int:
    """The reporters, outputs first. A cancel during the flow is the run's ending, reported
    like any other; one after it changes no result, and gives GitHub at most a few seconds."""
    from hub_push import outputs, summary

    outputs.report(outcome, _result_file(outcome, plan))
    settings = plan.settings if plan else None
    saved = github.save_secret(outcome) if github else []
    notes = [f"Saved as repository secrets: {', '.join(f'`{n}`' for n in saved)}."] if saved else []
    lost = _secret_not_saved(outcome, settings, saved)
    if lost:
        gha.error(lost, title="The SECRET was not saved")
    markdown = summary.render(
        outcome,
        settings.describe() if settings else None,
        notes,
        alerts=[escape(lost)] if lost else [],
        secret_saved=bool(saved),
    )
    if settings is None or settings.summary:
        gha.append_summary(markdown)
    if github:
        if cancel.late:
            github.hurry(LATE_CANCEL_SECONDS)
        github.finished(outcome, markdown)
    if cancel.late:
        gha.error(
            f"Cancelled by signal {cancel.signal} after the run ended `{outcome.status}`; "
            "every output and report stands as written.",
            title="Jina Hub push",
        )
    return 0 if outcome.ok and not outcome.error and not cancel.signal and not lost else 1


def _result_file(outcome: Outcome, plan: Plan | None) -> str:
    """On the runner, a push or status run leaves its result for `mode: report` (its path
    relative to the workspace, "" when none was written)."""
    if plan is None or plan.mode not in ("push", "status") or not plan.context.on_runner:
        return ""
    from hub_push import report

    try:
        return report.write(outcome, plan.context, plan.settings.tag_suffix)
    except OSError as error:
        gha.warning(f"The result file could not be written: {error}", title="mode: report")
        return ""


def _secret_not_saved(outcome: Outcome, settings: Settings | None, saved: list[str]) -> str:
    """What to do when `save-secret-as` could not store a first publish's SECRET ("" when it
    did, or was not asked to): the step fails, the outputs stay as they are."""
    if not (outcome.secret and settings and settings.save_secret_as) or saved:
        return ""
    from hub_push.github.secrets import secret_names

    name_secret, secret_secret = secret_names(settings.save_secret_as)
    executor = outcome.executor_name or outcome.executor_id
    return (
        f"{executor} was published, but its SECRET could not be saved as the repository "
        f"secrets {name_secret} and {secret_secret} (the warning above says why). It is in "
        "this step's masked `secret` output and nowhere else: in a later step of this job "
        "(with `if: always()`), run `gh secret set "
        f'{secret_secret} --body "$SECRET"` with `SECRET: ${{{{ steps.<id>.outputs.secret }}}}` '
        "and `GH_TOKEN` set to a token that may write repository secrets (a fine-grained PAT "
        "with Secrets: write; `GITHUB_TOKEN` cannot). Do not rerun this job to retry: a "
        "rerun publishes another new executor."
    )


#: After the run's deadline, how long the GitHub reporters may still take.
GITHUB_GRACE_SECONDS = 30.0
#: How long the `pending` status may take, out of the push's own time.
STARTED_SECONDS = 15.0
#: After a cancel that came once the run was over, how long GitHub's reports may still take
#: (the runner kills the step 7.5 s after its SIGTERM).
LATE_CANCEL_SECONDS = 5.0


def _none(_name: str) -> None:
    pass


class GitHubReporting:
    """The pull-request reporter, when an input asks for one (PyGithub is imported only then)."""

    def __init__(self, reporter: PullRequestReporter, deadline: Deadline) -> None:
        self.reporter = reporter
        self.deadline = deadline  # for the reports at the end: the run's deadline plus a grace

    @classmethod
    def start(cls, plan: Plan, deadline: Deadline) -> GitHubReporting | None:
        if plan.github is None:
            return None
        from hub_push.github import PullRequestReporter

        reporter = PullRequestReporter(plan.github, plan.context, deadline=deadline)
        return cls(reporter, deadline)

    def hurry(self, seconds: float) -> None:
        """Give the reports still to come at most `seconds` from now."""
        self.deadline = Deadline(min(self.deadline.at, time.monotonic() + seconds))

    def started(self, executor_name: str) -> None:
        """The `pending` status: a few seconds at most, so GitHub never eats the push's time."""
        self.reporter.started(executor_name, deadline=Deadline(time.monotonic() + STARTED_SECONDS))

    def save_secret(self, outcome: Outcome) -> list[str]:
        """The names (never the values) of the repository secrets saved."""
        return self.reporter.save_secret(outcome, deadline=self.deadline)

    def finished(self, outcome: Outcome, markdown: str) -> None:
        from hub_push.github import Annotation

        problems = []
        if outcome.error_location is not None:
            where = outcome.error_location
            problems.append(Annotation(where.file, where.line, outcome.error))
        self.reporter.finished(
            outcome, markdown=markdown, annotations=problems, deadline=self.deadline
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
        from hub_push.hints import hint_for

        hint = hint_for(type(error), error.code, task_id=error.task_id)
        gha.error(f"{error} What to do: {hint}" if hint else str(error), title="Jina Hub push")
