"""One run of the action: read the inputs, check the folder, pack it, push it, follow the build.

The flow is the only writer of the `Outcome`: each phase records what it learns (status, task
id, build log, the error) on the path where it learns it, and re-raises. Working values (the
returned SECRET, the executor's ID) stay in locals. Each phase is a log group.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hub_push import github_actions as gha
from hub_push.archive import Archive, packed
from hub_push.deadline import Deadline
from hub_push.errors import (
    ArchiveTooLargeError,
    BuildError,
    BuildFailedError,
    BuildTimeoutError,
    Cancelled,
    DeadlineError,
    ExecutorError,
    HubError,
    HubPushError,
    InputError,
    InputErrors,
    NoBuildTaskError,
    PreflightError,
    PushRefusedError,
    UnexpectedError,
)
from hub_push.executor import (
    dockerfile_in_folder,
    folder_in_workspace,
    load_executor,
    name_of,
    require_folder,
)
from hub_push.hub.models import ProgressEvent, PushEvent, PushRequest
from hub_push.outcome import LOG_TAIL, Outcome, Status
from hub_push.preflight import preflight
from hub_push.progress import Progress
from hub_push.ref_tags import AUTO, RefTagsError, derive_tags, split_auto
from hub_push.settings import Settings, load_settings
from hub_push.sizes import format_size

if TYPE_CHECKING:
    from hub_push.hub.client import HubClient


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


def load(overrides: Mapping[str, object], outcome: Outcome) -> Settings:
    """The validated settings; an input error is recorded in `outcome` and raised."""
    with _recording(outcome):
        settings = load_settings(overrides)
        outcome.hub_url = settings.hub_url
        outcome.protected_tags = tuple(settings.protected_tags)
        outcome.tags = tuple(tag for tag in settings.all_tags if tag != AUTO)
        return settings


def publish(
    settings: Settings,
    outcome: Outcome,
    deadline: Deadline,
    on_started: Callable[[str], None] = lambda _name: None,
) -> None:
    """Run the whole flow; raises a `HubPushError` on failure, with `outcome` filled in.

    `deadline` (the run's start plus `timeout`) bounds all of it: login, upload, finding the
    task and following the build. `on_started` hears the executor's name once it is known
    (a reporter's cue for a `pending` status); it can't change the run.
    """
    with _recording(outcome):
        if settings.mode == "discover":
            _discover(settings, outcome)
        else:
            _publish(settings, outcome, deadline, on_started)


def _discover(settings: Settings, outcome: Outcome) -> None:
    """`mode: discover`: the executor folders under `root`, as the `matrix` output."""
    from hub_push.discover import discover

    with gha.group("Discover"):
        workspace = gha.workspace()
        root = folder_in_workspace(settings.root, workspace, input_name="root")
        found = discover(root, changed_since=settings.changed_since or None, relative_to=workspace)
        for warning in found.warnings:
            gha.warning(warning, title="Discover")
        gha.info(found.note)
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


def _tags_of_this_push(settings: Settings, outcome: Outcome) -> Settings | None:
    """`settings` with `tags: auto` turned into the tags of the git ref; None when the ref
    releases another executor (the run is then `skipped`)."""
    has_auto, explicit = split_auto(settings.tags)
    if not has_auto:
        return settings
    ref = os.environ.get("GITHUB_REF", "")
    try:
        derived = derive_tags(
            ref,
            explicit=explicit,
            tag_prefix=settings.tag_prefix,
            protect_version=settings.protect_version,
        )
    except RefTagsError as error:
        raise InputError(error.input_name, str(error)) from None
    if derived.skipped:
        outcome.status = "skipped"
        outcome.tags = outcome.protected_tags = ()
        outcome.remarks.append(f"Not for this executor: {derived.skipped_reason}")
        gha.notice(f"Nothing to push: {derived.skipped_reason}", title="tags: auto")
        return None
    protected = list(dict.fromkeys([*derived.protected, *settings.protected_tags]))
    gha.info(
        f"tags from {ref}: {', '.join(derived.tags)}"
        + (f" (protected: {', '.join(protected)})" if protected else "")
    )
    outcome.tags = tuple(dict.fromkeys([*derived.tags, *protected]))
    outcome.protected_tags = tuple(protected)
    return settings.model_copy(update={"tags": list(derived.tags), "protected_tags": protected})


def _publish(
    settings: Settings, outcome: Outcome, deadline: Deadline, on_started: Callable[[str], None]
) -> None:
    with gha.group("Inputs"):
        for name, value in settings.describe():
            gha.info(f"{name:15} {value}")
        tagged = _tags_of_this_push(settings, outcome)
    if tagged is None:
        return
    settings = tagged

    with gha.group("Executor"):
        folder = folder_in_workspace(settings.path, gha.workspace())
        require_folder(folder)
        outcome.executor_name = settings.name or name_of(folder)
        on_started(outcome.executor_name)  # a reporter's cue, before any check can fail
        if settings.dockerfile:  # the input first: an error that names it, not the Hub's code
            dockerfile_in_folder(folder, settings.dockerfile)
        if settings.preflight:
            found = preflight(
                folder,
                dockerfile=settings.dockerfile,
                build_env=settings.build_env.keys(),
                workspace=gha.workspace(),
            )
            gha.info(
                f"Jina Hub's build check passes: class {found.executor} in "
                f"{found.module}:{found.line}"
            )
        else:
            gha.info("Jina Hub's build check skipped (`preflight: false`)")
        executor = load_executor(
            folder,
            build_env=settings.build_env.keys(),
            dockerfile=settings.dockerfile,
            name_override=settings.name,
            workspace=gha.workspace(),
        )
        push_id = settings.name or executor.name  # `name` (or UUID8) picks the executor
        outcome.executor_name = push_id
        jtype = executor.jtype or "named by the Hub"
        gha.info(f"Executor {executor.name} (class {jtype}) in {settings.path}")
        for placeholder in executor.placeholders:
            gha.info(
                f"requirements.txt:{placeholder.line} uses ${{{placeholder.name}}} from build-env"
            )

    with ExitStack() as stack:
        with gha.group("Packing"):
            archive = stack.enter_context(
                packed(executor.folder, on_progress=Progress("packed", gha.info))
            )
            outcome.archive_md5 = archive.md5
            outcome.archive_size = archive.size
            outcome.archive_files = len(archive.files)
            gha.info(f"{len(archive.files)} files, {archive.size} bytes, md5 {archive.md5}")
            if archive.stored:
                gha.info(f"{len(archive.stored)} stored as they are (they do not compress)")
            for name in archive.files:
                gha.debug(f"packed {name}")
            for skipped in archive.skipped:
                gha.warning(f"Left out of the archive: {skipped.path} ({skipped.reason})")
        if not archive.files:
            raise ExecutorError(f"Nothing to push: every file in `{settings.path}` is ignored.")
        if settings.max_archive_size is not None and archive.size > settings.max_archive_size:
            raise _too_large(archive, settings.max_archive_size)
        if settings.dry_run:
            outcome.status = "dry-run"
            gha.notice("Dry run: the executor is valid and packed; nothing was uploaded.")
            return
        request = _push_request(settings, push_id, archive.md5)
        _push_and_build(settings, outcome, request, archive.path, deadline)


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


def _push_request(settings: Settings, push_id: str, md5: str) -> PushRequest:
    return PushRequest(
        id=push_id,
        md5sum=md5,
        visibility=settings.visibility,
        # load_settings refuses a secret without a name: with one, this is an update
        secret=settings.secret.get_secret_value() if settings.secret else None,
        tags=tuple(settings.tags),
        protected_tags=tuple(settings.protected_tags),
        build_env={k: v.get_secret_value() for k, v in settings.build_env.items()},
        dockerfile=settings.dockerfile,
        platform=settings.platform,
        verbose=settings.verbose,
        no_cache=settings.no_cache,
    )


def _push_and_build(
    settings: Settings, outcome: Outcome, request: PushRequest, archive: Path, deadline: Deadline
) -> None:
    from hub_push.hub.client import HubClient  # the network stack: a dry run never loads it

    token = settings.token.get_secret_value() if settings.token else None
    if not token and not request.secret and gha.on_runner():
        gha.warning(
            "No `token` and no `name`/`secret`: this is a first publish without a login, and the "
            "Hub will create a NEW executor. If you meant to update one, its repository secret "
            "is missing or empty (secrets are empty on pull requests from forks).",
            title="First publish without a login",
        )
    with HubClient(settings.hub_url, token, deadline=deadline, scrub=gha.redact) as hub:
        if token:
            with gha.group("Login"):
                user = hub.whoami()
                gha.info(f"Pushing as {user.name} to {settings.hub_url}")
        if settings.if_exists == "skip" and request.protected_tags:
            with gha.group("Tags already on the Hub"):
                if _already_released(hub, outcome, request):
                    return
        _upload_and_follow(hub, settings, outcome, request, archive)


def _already_released(hub: HubClient, outcome: Outcome, request: PushRequest) -> bool:
    """`if-exists: skip`: True (the run is `skipped`) when every protected tag is on the Hub
    with this very archive; a tag holding other content is refused, naming it."""
    found = {
        tag: hub.existing_tag(request.id, tag, secret=request.secret)
        for tag in request.protected_tags
    }
    missing = [tag for tag, existing in found.items() if existing is None]
    if missing:
        gha.info(f"Not on the Hub yet: {', '.join(missing)}; pushing.")
        return False
    existing = [e for e in found.values() if e is not None]
    for tag, tagged in found.items():
        if tagged is not None and tagged.md5 and tagged.md5 != request.md5sum:
            raise PushRefusedError(
                f"Tag `{tag}` of {request.id} is already on the Hub with other content "
                f"(archive md5 {tagged.md5}, this one {request.md5sum}); a protected tag can "
                "never be pushed again.",
                code=40901,
            )
    unknown = [tag for tag, tagged in found.items() if tagged is not None and not tagged.md5]
    if unknown:
        gha.warning(
            f"The Hub does not say which archive {', '.join(unknown)} holds: skipped without "
            "comparing the content.",
            title="if-exists",
        )
    outcome.record_executor(existing[0].executor)
    outcome.status = "skipped"
    listed = ", ".join(f"`{tag}`" for tag in found)
    outcome.remarks.append(f"Already on the Hub with this archive: {listed}. Nothing was uploaded.")
    gha.notice(f"Already released with this archive: {listed}; nothing to push.", title="if-exists")
    return True


def _upload_and_follow(
    hub: HubClient, settings: Settings, outcome: Outcome, request: PushRequest, archive: Path
) -> None:
    with gha.group(f"Upload ({request.method})"):
        outcome.upload_started = True
        started = datetime.now(UTC)
        # The stream's lines are shown once it is over: a SECRET the Hub returns at the end is
        # then masked before any earlier line that might echo it is printed.
        events: list[PushEvent] = []
        try:
            result = hub.push(
                request, archive, events.append, on_upload=Progress("uploaded", gha.info)
            )
        finally:
            for event in events:
                if event.secret:
                    gha.mask(event.secret)
            for event in events:
                _show_push_event(event, settings)
        executor_id = result.executor.id
        returned_secret = result.executor.secret
        outcome.record_executor(result.executor)
        if returned_secret:
            gha.show_once("SECRET", returned_secret, name=result.executor.name or request.id)
        outcome.warnings.extend(result.warnings)
        for warning in result.warnings:
            gha.warning(warning, title="Jina Hub")
        gha.info(result.message or f"Pushed {result.executor.name or request.id} ({executor_id})")
        task_id = result.task_id
        if not task_id:
            try:
                task_id = hub.find_task(
                    executor_id or request.id,
                    commit_id=result.executor.commit_id,
                    since=started,
                    secret=request.secret or returned_secret or None,
                )
            except HubError as error:
                if settings.wait:
                    raise
                # Not waiting: the push stands; the task is only a detail then.
                gha.warning(f"The build task could not be found: {error}", title="Jina Hub")
        outcome.task_id = task_id
        if task_id:
            gha.info(f"Build task: {task_id}")

    if not settings.wait:
        outcome.status = "pending"
        gha.info("Not waiting for the build (`wait: false`).")
        return
    if not task_id:
        raise NoBuildTaskError("The Hub accepted the push but named no build task to wait for.")
    try:
        with gha.group(f"Build {task_id}"):
            build = hub.follow_build(
                task_id,
                verbose=settings.verbose,
                secret=request.secret or returned_secret or None,
                on_progress=lambda event: _show_progress(event, settings.verbose),
            )
            outcome.log = build.log
            if build.executor is not None:
                outcome.record_executor(build.executor)
            outcome.status = "succeeded"
            gha.info(f"Build {build.task_id} succeeded")
    except BuildError as error:
        _show_log_tail(error.log)
        raise


def _show_push_event(event: PushEvent, settings: Settings) -> None:
    """Log one event of the push stream (its SECRET, if any, is masked already)."""
    if event.kind in ("complete", "error", "warning"):
        return  # reported by the caller
    if event.kind == "console" and not settings.verbose:
        gha.debug(f"{event.subject}: {event.text}")
        return
    if event.kind or event.subject:
        label = event.subject or event.kind
        gha.info(
            f"{label}: {event.text}" if event.text else f"{event.subject} {event.kind}".strip()
        )


def _show_progress(event: ProgressEvent, verbose: bool) -> None:
    show = gha.info if verbose else gha.debug
    if not event.log:
        gha.debug(f"build status: {event.status}")
    for line in event.log:
        show(line)


def _show_log_tail(log: tuple[str, ...]) -> None:
    if log:
        with gha.group("Build log (last lines)"):
            for line in log[-LOG_TAIL:]:
                gha.info(line)
