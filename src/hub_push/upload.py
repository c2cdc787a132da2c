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
from hub_push.errors import (
    BuildError,
    HubError,
    InputError,
    NoBuildTaskError,
    PushAnswerLostError,
    PushRefusedError,
)
from hub_push.hub.client import HubClient
from hub_push.hub.models import PushEvent, PushRequest, PushResult
from hub_push.hub_check import Decision, OnTheHub, decide, tags_of
from hub_push.outcome import Outcome
from hub_push.plan import Plan
from hub_push.progress import Progress
from hub_push.settings import Settings

#: How long past the run's deadline the task of a push whose answer was lost may be looked up.
LOST_ANSWER_GRACE = 15.0


def hub_client(settings: Settings, deadline: Deadline) -> HubClient:
    """The Hub client of this run: its address and login, the run's deadline, the log's
    redaction, each retry said in the log."""
    token = settings.token.get_secret_value() if settings.token else None
    return HubClient(
        settings.hub_url, token, deadline=deadline, scrub=gha.redact, say=gha.info, debug=gha.debug
    )


def push_and_build(
    plan: Plan, outcome: Outcome, request: PushRequest, archive: Path, deadline: Deadline
) -> None:
    settings = plan.settings
    if not settings.token and not request.secret:
        gha.notice(
            f"A first publish without a login: the Hub creates a NEW executor ({request.id}) "
            "and returns its SECRET once; this run keeps it in the masked `secret` output"
            + (" and saves it as repository secrets." if settings.save_secret_as else ".")
            + " Without it the executor can never be updated.",
            title="First publish without a login",
        )
    with hub_client(settings, deadline) as hub:
        user = ""
        if settings.token:
            with gha.group("Login"):
                user = hub.whoami().name
                if user:
                    gha.info(f"Pushing as {user} to {settings.hub_url}")
                else:
                    gha.warning(
                        "The Hub accepted the login but named the user outside its own grammar: "
                        "the name is left out (and who owns the executor is not checked).",
                        title="Jina Hub",
                    )
        if settings.token or request.secret:  # a first publish has nothing to ask the Hub
            with gha.group("On the Hub"):
                decision = _ask_first(hub, settings, request, user)
                if _decided(decision, outcome):
                    return
        _upload_and_follow(hub, settings, outcome, request, archive)
        if outcome.status == "succeeded":
            _verify(hub, request, outcome)


def _ask_first(hub: HubClient, settings: Settings, request: PushRequest, user: str) -> Decision:
    """What the Hub holds for this push, and what to do about it, said in the log."""
    executor = hub.executor_on_hub(request.id, secret=request.secret)
    tags = {
        tag: hub.existing_tag(request.id, tag, secret=request.secret) if executor else None
        for tag in tags_of(request)
    }
    decision = decide(
        request,
        OnTheHub(executor, tags),
        user=user,
        if_exists=settings.if_exists,
        skip_unchanged=settings.skip_unchanged,
    )
    for line in decision.lines:
        gha.info(line)
    for warning in decision.warnings:
        gha.warning(warning, title="if-exists")
    return decision


def _decided(decision: Decision, outcome: Outcome) -> bool:
    """Refuse (raise) or skip (True) before the upload, as the Hub's answer says."""
    if decision.action == "refuse":
        raise PushRefusedError(decision.reason, code=decision.code)
    if decision.action != "skip":
        return False
    if decision.executor is not None:
        asked = outcome.tags  # the push's own order, as a push reports them too
        outcome.record_executor(decision.executor)
        outcome.tags = asked or outcome.tags
    outcome.status = "skipped"
    outcome.remarks.append(decision.reason)
    gha.notice(decision.reason, title="Nothing to push")
    return True


def _verify(hub: HubClient, request: PushRequest, outcome: Outcome) -> None:
    """After the build: does the Hub serve the archive uploaded? Never turns a push red."""
    tag = tags_of(request)[0]
    secret = request.secret or outcome.secret or None
    try:
        held = hub.existing_tag(outcome.executor_id or request.id, tag, secret=secret)
    except HubError as error:
        outcome.remarks.append(f"Not verified: the Hub could not be asked about `{tag}` ({error}).")
        return
    if held is None or not held.md5:
        outcome.remarks.append(
            f"Not verified: the Hub does not report which archive `{tag}` holds."
        )
    elif held.md5 == request.md5sum:
        outcome.remarks.append(
            f"Verified: the Hub serves this archive (md5 {held.md5}) as `{tag}`."
        )
    else:
        message = (
            f"The Hub reports archive md5 {held.md5} for `{tag}`, not the {request.md5sum} "
            "uploaded (how the Hub reports this is not documented; the push stands)."
        )
        outcome.warnings.append(message)
        gha.warning(message, title="Jina Hub")


def preview(plan: Plan, outcome: Outcome, request: PushRequest, deadline: Deadline) -> None:
    """A dry run with a credential: what this push would do on the Hub, as remarks. A Hub that
    cannot be asked is a warning; the run stays a dry run."""
    settings = plan.settings
    try:
        with gha.group("On the Hub (dry run)"), hub_client(settings, deadline) as hub:
            user = hub.whoami().name if settings.token else ""
            decision = _ask_first(hub, settings, request, user)
    except HubError as error:
        gha.warning(
            f"The Hub could not be asked what this push would do ({error}); the dry run goes on "
            "without it.",
            title="Dry run",
        )
        return
    moves = "; ".join(decision.lines)
    outcome.remarks.append(f"On the Hub, this push would set: {moves}.")
    if decision.action == "refuse":
        outcome.remarks.append(f"The push would be refused: {decision.reason}")
    elif decision.action == "skip":
        outcome.remarks.append(f"The push would do nothing: {decision.reason}")


def _upload_and_follow(
    hub: HubClient, settings: Settings, outcome: Outcome, request: PushRequest, archive: Path
) -> None:
    returned_secret = ""
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
        except PushAnswerLostError as lost:
            result = None
            task_id = _task_of_lost_push(hub, request, started, lost)
        finally:
            for event in events:
                if event.secret:
                    gha.mask(event.secret)
            for event in events:
                _show_push_event(event, settings)
        if result is not None:
            returned_secret = result.executor.secret
            task_id = _accepted(hub, settings, outcome, request, result, started)
        outcome.task_id = task_id
        if task_id:
            gha.info(f"Build task: {task_id}")

    if not settings.wait:
        outcome.status = "pending"
        gha.info("Not waiting for the build (`wait: false`).")
        return
    if not task_id:
        raise NoBuildTaskError("The Hub accepted the push but named no build task to wait for.")
    follow(hub, settings, outcome, task_id, secret=request.secret or returned_secret or None)


def _accepted(
    hub: HubClient,
    settings: Settings,
    outcome: Outcome,
    request: PushRequest,
    result: PushResult,
    started: datetime,
) -> str:
    """Record a push the Hub answered; its build task ("" when none can be found)."""
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
    if result.task_id:
        return result.task_id
    try:
        return hub.find_task(
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
        return ""


def _task_of_lost_push(
    hub: HubClient, request: PushRequest, started: datetime, lost: PushAnswerLostError
) -> str:
    """The build task of a push whose answer was lost, found on the Hub (the push is never
    sent again); an error that says what happened when it cannot be found."""
    anonymous = not (hub.has_login or request.secret)
    title = "Jina Hub: the push's answer was lost"
    if lost.task_id:
        gha.warning(
            f"{lost} It was not sent again; following the build task {lost.task_id} it had "
            "named."
            + (
                " Without a login that answer held the new executor's only SECRET, which is "
                "lost: the executor can't be updated without a login."
                if anonymous
                else ""
            ),
            title=title,
        )
        return lost.task_id
    if anonymous:
        raise HubError(
            f"{lost} It was not sent again. Without a login the Hub's answer held the new "
            f"executor's only SECRET, so the push cannot be looked up: the Hub may have created "
            f"an executor `{request.id}`. Check the Hub for it before pushing again (a new "
            "push without a login creates another executor); publish with `token` to avoid this."
        ) from None
    gha.warning(
        f"{lost} It was not sent again; looking on the Hub for the build task it started.",
        title=title,
    )
    with hub.grace(LOST_ANSWER_GRACE):
        task_id = hub.find_task(request.id, commit_id="", since=started, secret=request.secret)
    if not task_id:
        raise HubError(
            f"{lost} It was not sent again, and the Hub lists no build task of {request.id} "
            "started since the upload began: it did not take the push. Rerun the job."
        ) from None
    gha.info(f"The Hub took the push: build task {task_id}")
    return task_id


def follow(
    hub: HubClient, settings: Settings, outcome: Outcome, task_id: str, *, secret: str | None
) -> None:
    """Follow the build `task_id` to its end (`wait: false`: report its status once)."""
    try:
        with gha.group(f"Build {task_id}"):
            build = hub.follow_build(
                task_id,
                verbose=settings.verbose,
                secret=secret,
                on_progress=BuildProgress(task_id, verbose=settings.verbose),
                replay=settings.replay or settings.mode == "push",
                once=not settings.wait,
            )
            outcome.log = build.log
            if build.executor is not None:
                outcome.record_executor(build.executor)
            if build.status == "succeeded":
                outcome.status = "succeeded"
                gha.info(f"Build {build.task_id} succeeded")
            else:  # `wait: false` in `mode: status`: where the build stands now
                outcome.status = "pending"
                outcome.remarks.append(f"The build task {task_id} is `{build.status}`.")
                gha.info(f"Build {build.task_id} is {build.status} (`wait: false`)")
    except BuildError as error:
        show_tail(error.log, shown_already=settings.verbose)
        raise


def follow_status(plan: Plan, outcome: Outcome, deadline: Deadline) -> None:
    """`mode: status`: follow a build the Hub already has, as `jina hub status` does: the
    `task-id` input, else the newest task of the executor at `path` (or `name`)."""
    settings = plan.settings
    secret = settings.secret.get_secret_value() if settings.secret else None
    with hub_client(settings, deadline) as hub:
        task_id = settings.task_id
        if not task_id:
            if not plan.push_name:
                raise InputError(
                    "task-id",
                    "is empty, and `path` names no executor (no `metas.name` in config.yml, no "
                    "`name` input): pass the push's `task-id` output, or set `name`",
                )
            with gha.group("Build task"):
                task_id = hub.newest_task(plan.push_name, secret=secret)
                gha.info(f"Found task {task_id} for {plan.push_name}")
        outcome.task_id = task_id
        follow(hub, settings, outcome, task_id, secret=secret)


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
