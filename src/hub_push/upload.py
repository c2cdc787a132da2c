"""The flow's network half: the login, the tags already on the Hub, the upload, the build task
and the build, each a log group. Imported only for a real push (httpx comes with it).

Like the flow, it is a writer of the `Outcome`: it records what the Hub answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hub_push import github_actions as gha
from hub_push import secret_file
from hub_push.build_log import BuildProgress, show_tail
from hub_push.deadline import Deadline
from hub_push.errors import BuildError, HubError, NoBuildTaskError, PushRefusedError
from hub_push.hub.client import HubClient
from hub_push.hub.models import PushEvent, PushRequest
from hub_push.outcome import Outcome
from hub_push.plan import Plan
from hub_push.progress import Progress
from hub_push.settings import Settings


def push_and_build(
    plan: Plan, outcome: Outcome, request: PushRequest, archive: Path, deadline: Deadline
) -> None:
    settings = plan.settings
    token = settings.token.get_secret_value() if settings.token else None
    if not token and not request.secret:
        gha.notice(
            f"A first publish without a login: the Hub creates a NEW executor ({request.id}) "
            "and returns its SECRET once; this run keeps it in the masked `secret` output"
            + (" and saves it as repository secrets." if settings.save_secret_as else ".")
            + " Without it the executor can never be updated.",
            title="First publish without a login",
        )
    with HubClient(
        settings.hub_url, token, deadline=deadline, scrub=gha.redact, say=gha.info
    ) as hub:
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
            secret_file.keep(
                returned_secret,
                name=result.executor.name or request.id,
                secret_file=settings.secret_file,
            )
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
                on_progress=BuildProgress(task_id, verbose=settings.verbose),
            )
            outcome.log = build.log
            if build.executor is not None:
                outcome.record_executor(build.executor)
            outcome.status = "succeeded"
            gha.info(f"Build {build.task_id} succeeded")
    except BuildError as error:
        show_tail(error.log, shown_already=settings.verbose)
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
