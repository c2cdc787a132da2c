"""One run of the action: read the inputs, check the folder, pack it, push it, follow the build.

The flow is the only writer of the `Outcome`: each phase records what it learns (status, task
id, build log, the error) on the path where it learns it, and re-raises. Working values (the
returned SECRET, the executor's ID) stay in locals. Each phase is a log group.
"""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from executor_rules import REQUIREMENTS
from hub_push import github_actions as gha
from hub_push.advice import lfs_pointers, placeholder_mistakes
from hub_push.archive import Archive, packed
from hub_push.build_failure import causes
from hub_push.deadline import Deadline
from hub_push.errors import (
    ArchiveTooLargeError,
    BuildError,
    BuildFailedError,
    BuildTimeoutError,
    Cancelled,
    DeadlineError,
    ExecutorError,
    HubPushError,
    InputError,
    InputErrors,
    PreflightError,
    PushRefusedError,
    SourceLocation,
    UnexpectedError,
)
from hub_push.executor import (
    dockerfile_in_folder,
    folder_in_workspace,
    load_executor,
)
from hub_push.github_context import GitHubContext
from hub_push.outcome import Outcome, Status
from hub_push.plan import Plan, Target, locate, make_plan
from hub_push.preflight import preflight
from hub_push.progress import Progress
from hub_push.ref_tags import AUTO
from hub_push.settings import load_settings, misspelled_inputs
from hub_push.sizes import format_size


@contextmanager
def _recording(outcome: Outcome) -> Iterator[None]:
    """Record any error (and the time spent) in the outcome, then let it go on up."""
    try:
        yield
    except HubPushError as error:
        _record_error(outcome, error)
        raise
    except KeyboardInterrupt:
        cancelled = Cancelled("Cancelled.")
        _record_error(outcome, cancelled)
        raise cancelled from None
    except Exception as error:  # a bug of ours: say so, without a traceback unless debugging
        gha.debug(traceback.format_exc())
        unexpected = UnexpectedError(error)
        _record_error(outcome, unexpected)
        raise unexpected from None
    finally:
        outcome.duration = time.monotonic() - outcome.started


#: How a run ends, by the kind of error that ended it (the most specific listed class wins).
ENDINGS: dict[type[HubPushError], Status] = {
    InputError: "invalid",
    InputErrors: "invalid",
    ExecutorError: "invalid",
    PreflightError: "preflight-failed",
    PushRefusedError: "refused",
    BuildFailedError: "failed",
    BuildTimeoutError: "timeout",
    DeadlineError: "timeout",
    Cancelled: "cancelled",
}


def ending_of(error: HubPushError) -> Status:
    """The `build-status` a run ended by `error` reports (`error` for any other kind)."""
    for cls in type(error).__mro__:
        if cls in ENDINGS:
            return ENDINGS[cls]
    return "error"


def _record_error(outcome: Outcome, error: HubPushError) -> None:
    outcome.status = ending_of(error)
    outcome.error = gha.redact(str(error))
    outcome.error_kind = type(error)
    outcome.error_code = error.code
    if isinstance(error, ExecutorError):
        outcome.error_location = error.location
    outcome.task_id = outcome.task_id or error.task_id  # a task the Hub named is never lost
    if isinstance(error, BuildError):
        outcome.log = error.log or outcome.log


def prepare(overrides: Mapping[str, object], environ: Mapping[str, str], outcome: Outcome) -> Plan:
    """The validated settings and the run's plan; an input error is recorded and raised.

    The Outcome starts from the plan: the Hub's address and the tags asked for.
    """
    with _recording(outcome):
        if misspelled := misspelled_inputs(environ):
            raise InputErrors(misspelled)
        settings = load_settings(overrides)
        outcome.hub_url = settings.hub_url
        outcome.protected_tags = tuple(settings.protected_tags)
        outcome.tags = tuple(tag for tag in settings.all_tags if tag != AUTO)
        context = GitHubContext.from_environ(environ)
        target = (
            Target()
            if settings.mode == "discover"
            else locate(settings.path, context.workspace, on_runner=context.on_runner)
        )
        plan = make_plan(settings, context, target)
        outcome.mode = plan.mode
        outcome.tags, outcome.protected_tags = plan.all_tags, plan.protected_tags
        outcome.remarks.extend(plan.remarks)
        return plan


def run(
    plan: Plan,
    outcome: Outcome,
    deadline: Deadline,
    on_started: Callable[[str], None] = lambda _name: None,
) -> None:
    """Carry out `plan`; raises a `HubPushError` on failure, with `outcome` filled in.

    `deadline` (the run's start plus `timeout`) bounds all of it: login, upload, finding the
    task and following the build. `on_started` hears the executor's name once it is known
    (a reporter's cue for a `pending` status); it can't change the run.
    """
    with _recording(outcome):
        if plan.mode == "discover":
            _discover(plan, outcome)
        elif plan.mode == "status":
            _status(plan, outcome, deadline, on_started)
        elif plan.mode == "report":
            _report(plan, outcome, on_started)
        else:
            _publish(plan, outcome, deadline, on_started)


def _report(plan: Plan, outcome: Outcome, on_started: Callable[[str], None]) -> None:
    """`mode: report`: the matrix's result files, as one report with the worst status."""
    from hub_push import report

    with gha.group("Report"):
        on_started("report")
        folder = folder_in_workspace(
            plan.settings.results, plan.context.workspace, input_name="results"
        )
        if not folder.is_dir():
            raise InputError("results", f"`{plan.settings.results}` is not a folder")
        rows = report.read(folder, plan.context, plan.settings.matrix)
        for row in rows:
            gha.info(f"{row.executor} ({row.variant}): {row.build_status} {row.note}".rstrip())
        outcome.report_rows = rows
        outcome.status = report.worst(rows)
        outcome.remarks.append(f"{len(rows)} result{'s' if len(rows) != 1 else ''} of this run.")


def _status(
    plan: Plan, outcome: Outcome, deadline: Deadline, on_started: Callable[[str], None]
) -> None:
    """`mode: status`: a build the Hub already has, followed and reported like a push's."""
    from hub_push.upload import follow_status  # the network stack

    outcome.executor_name = plan.executor_name
    on_started(outcome.executor_name)  # finds the push's check run, if any, to complete it
    try:
        follow_status(plan, outcome, deadline)
    except BuildFailedError as failed:
        _point_at_causes(failed.log, plan, outcome)
        raise


def _discover(plan: Plan, outcome: Outcome) -> None:
    """`mode: discover`: the executor folders under `root`, as the `matrix` output."""
    from hub_push.discover import discover

    settings, workspace = plan.settings, plan.context.workspace
    with gha.group("Discover"):
        root = folder_in_workspace(settings.root, workspace, input_name="root")
        found = discover(root, changed_since=settings.changed_since or None, relative_to=workspace)
        for warning in found.warnings:
            gha.warning(warning, title="Discover")
        gha.info(found.note)
        if not found.executors:
            changed = " changed" if settings.changed_since else ""
            gha.notice(
                f"No{changed} executor folder under `{settings.root}` (a folder with a config.yml "
                "whose `jtype` names the Executor class): the matrix is empty.",
                title="Discover",
            )
        for executor in found.executors:
            gha.info(f"{executor.path}  ({executor.name})")
        outcome.matrix = found.matrix_json()
        outcome.remarks.append(
            found.note[:1].upper()
            + found.note[1:]
            + ": "
            + (", ".join(f"{e.path} ({e.name})" for e in found.executors) or "none")
        )
        outcome.status = "discovered"


def _publish(
    plan: Plan, outcome: Outcome, deadline: Deadline, on_started: Callable[[str], None]
) -> None:
    settings, workspace = plan.settings, plan.context.workspace
    with gha.group("Inputs"):
        for name, value in settings.describe():
            gha.info(f"{name:15} {value}")
        for remark in plan.remarks:
            gha.info(remark)
        for warning in plan.warnings:
            gha.warning(warning, title="protected-tags")
            outcome.warnings.append(warning)
    if plan.dry_run_reason:
        gha.notice(
            f"Not pushing: {plan.dry_run_reason}. This run checks and packs the executor as a "
            "dry run (build-status dry-run); publish from a push or tag workflow.",
            title="Pull request: dry run",
        )
    if plan.skip:
        outcome.status = "skipped"
        outcome.tags = outcome.protected_tags = ()
        gha.notice(
            f"Nothing to push: {plan.skip.removeprefix('Not for this executor: ')}",
            title="tags: auto",
        )
        return

    with gha.group("Executor"):
        folder, facts = plan.target.folder, plan.target.facts
        if plan.target.problem is not None:
            raise plan.target.problem
        assert folder is not None and facts is not None  # found, when there is no problem
        outcome.executor_name = plan.executor_name
        on_started(outcome.executor_name)  # a reporter's cue, before any check can fail
        if settings.dockerfile:  # the input first: an error that names it, not the Hub's code
            dockerfile_in_folder(folder, settings.dockerfile)
        found = None
        if settings.preflight:
            found = preflight(
                folder,
                dockerfile=settings.dockerfile,
                build_env=settings.build_env.keys(),
                workspace=workspace,
            )
        executor = load_executor(
            folder,
            build_env=settings.build_env.keys(),
            dockerfile=settings.dockerfile,
            name_override=settings.name,
            workspace=workspace,
            facts=facts,
        )
        outcome.executor_name = plan.push_name  # `name` (or UUID8) picks the executor
        if found is not None:  # said once the client's own checks passed too
            gha.info(
                f"Jina Hub's build check passes: class {found.executor} in "
                f"{found.module}:{found.line}"
            )
        else:
            gha.info("Jina Hub's build check skipped (`preflight: false`)")
        jtype = executor.jtype or "named by the Hub"
        gha.info(f"Executor {executor.name} (class {jtype}) in {settings.path}")
        for placeholder in executor.placeholders:
            gha.info(
                f"requirements.txt:{placeholder.line} uses ${{{placeholder.name}}} from build-env"
            )
        _warn_placeholders(folder, workspace)
        if executor.placeholders:
            names = ", ".join(
                f"`{n}`" for n in dict.fromkeys(p.name for p in executor.placeholders)
            )
            outcome.remarks.append(
                f"requirements.txt uses {names} from `build-env`: whoever pulls this executor as "
                "source (`jina hub pull … --install-requirements`) needs them set too."
            )

    if plan.refusal is not None and not plan.dry_run:
        raise plan.refusal
    with ExitStack() as stack:
        with gha.group("Packing"):
            archive = stack.enter_context(
                packed(
                    executor.folder,
                    on_progress=Progress("packed", gha.info),
                    sha256=settings.keep_archive,  # attesting the bytes: their sha256 too
                )
            )
            outcome.archive_md5, outcome.archive_sha256 = archive.md5, archive.sha256
            outcome.archive_size = archive.size
            outcome.archive_files = len(archive.files)
            gha.info(f"{len(archive.files)} files, {archive.size} bytes, md5 {archive.md5}")
            large = [n for n in archive.stored if archive.packed_sizes.get(n, 0) >= 1024]
            if large:  # tiny files stored as they are are not worth a word
                gha.info(f"{len(large)} stored as they are (weights or media: they don't compress)")
            for name in archive.files:
                gha.debug(f"packed {name}")
            for skipped in archive.skipped:
                gha.warning(f"Left out of the archive: {skipped.path} ({skipped.reason})")
        if not archive.files:
            raise ExecutorError(f"Nothing to push: every file in `{settings.path}` is ignored.")
        if pointers := lfs_pointers(executor.folder, archive.files):  # also with preflight: false
            raise ExecutorError(
                f"is a Git LFS pointer, not the file (and so {len(pointers)} file"
                f"{'s' if len(pointers) > 1 else ''} in all: {', '.join(pointers)}): the checkout "
                "left the pointers where the weights should be. Check out with `lfs: true` "
                "(actions/checkout), or `git lfs pull`, before pushing; nothing was uploaded.",
                SourceLocation.of(executor.folder, pointers[0], workspace),
            )
        if settings.max_archive_size is not None and archive.size > settings.max_archive_size:
            raise _too_large(archive, settings.max_archive_size)
        if settings.keep_archive:
            outcome.archive_path = _keep(archive, workspace, plan.push_name)
            gha.info(f"Kept the archive as {outcome.archive_path} (sha256 {archive.sha256})")
        if plan.dry_run:
            outcome.status = "dry-run"
            if settings.token or settings.secret:  # what the push would do on the Hub
                from hub_push.upload import preview

                preview(plan, outcome, plan.push_request(archive.md5), deadline)
            gha.notice("Dry run: the executor is valid and packed; nothing was uploaded.")
            return
        from hub_push.upload import push_and_build  # the network stack: a dry run never loads it

        try:
            push_and_build(plan, outcome, plan.push_request(archive.md5), archive.path, deadline)
        except BuildFailedError as failed:
            _point_at_causes(failed.log, plan, outcome)
            raise


#: Where `keep-archive` keeps archives, in the workspace (a later step reads them there: a
#: Docker action sees the runner's workspace at another path, but relative paths agree).
KEPT_ARCHIVES = ".hub-push"


def _keep(archive: Archive, workspace: Path, name: str) -> str:
    """Copy the archive into the workspace; its path relative to the workspace."""
    folder = workspace / KEPT_ARCHIVES
    folder.mkdir(exist_ok=True)
    target = folder / f"{name or 'executor'}-{archive.md5[:12]}.zip"
    shutil.copyfile(archive.path, target)
    return target.relative_to(workspace).as_posix()


def _point_at_causes(log: tuple[str, ...], plan: Plan, outcome: Outcome) -> None:
    """A failed build: annotate the file and line its log points at (the first becomes the
    check run's annotation)."""
    folder = plan.target.folder
    if folder is None:
        return
    for cause in causes(log, folder, plan.settings.dockerfile):
        where = SourceLocation.of(folder, cause.file, plan.context.workspace, cause.line)
        gha.error(cause.message, where, title="Jina Hub build")
        outcome.error_location = outcome.error_location or where


def _warn_placeholders(folder: Path, workspace: Path) -> None:
    """A `$NAME` or `${lower}` in requirements.txt, which the Hub leaves as it is."""
    for mistake in placeholder_mistakes(folder / REQUIREMENTS):
        gha.warning(
            f"`{mistake.written}` is not filled by the Hub: a placeholder needs `${{` and `}}` "
            f"around an upper-case name (Jina Hub's docs: `$YOUR_TOKEN` doesn't work). Write "
            f"`{mistake.fix}` and set it in `build-env`.",
            SourceLocation.of(folder, REQUIREMENTS, workspace, mistake.line),
            title="requirements.txt",
        )


def _too_large(archive: Archive, limit: int) -> ArchiveTooLargeError:
    """The refusal of an archive over `max-archive-size`, naming its largest entries."""
    largest = sorted(archive.packed_sizes.items(), key=lambda item: (-item[1], item[0]))[:3]
    exact = f" ({archive.size} bytes)" if archive.size >= 1024 else ""
    return ArchiveTooLargeError(
        f"The archive is {format_size(archive.size)}{exact}, more than "
        f"`max-archive-size` ({format_size(limit)}), the largest the Hub takes; nothing was "
        "uploaded. Its largest files (bytes in the archive): "
        + ", ".join(f"{name} ({format_size(size)})" for name, size in largest)
        + "."
    )
