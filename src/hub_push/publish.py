"""One run of the action: check the folder, pack it, push it, follow the build.

Each phase is a log group. `outcome` is filled in as facts become known, so that whatever
goes wrong, the report shows everything learned up to that point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub_push import github_actions as gha
from hub_push.archive import packed
from hub_push.errors import ExecutorError, HubError
from hub_push.executor import load_executor
from hub_push.hub import HubClient, PushRequest
from hub_push.outcome import Outcome
from hub_push.settings import Settings


def publish(settings: Settings, outcome: Outcome) -> None:
    """Run the whole flow; raises a `HubPushError` on failure, with `outcome` filled in."""
    outcome.protected_tags = tuple(settings.protected_tags)
    outcome.tags = tuple(settings.all_tags)
    with gha.group("Inputs"):
        for name, value in settings.describe():
            gha.info(f"{name:15} {value}")

    with gha.group("Executor"):
        executor = load_executor(
            Path(settings.path),
            build_env=settings.build_env.keys(),
            dockerfile=settings.dockerfile,
            name_override=settings.name,
            workspace=Path.cwd(),
        )
        push_id = settings.name or executor.name  # `name` (or UUID8) picks the executor
        outcome.executor_name = push_id
        gha.info(f"Executor {executor.name} (class {executor.jtype}) in {executor.folder}")
        for placeholder in executor.placeholders:
            gha.info(
                f"requirements.txt:{placeholder.line} uses ${{{placeholder.name}}} from build-env"
            )

    with packed(executor.folder) as archive:
        with gha.group("Packing"):
            outcome.archive_md5 = archive.md5
            outcome.archive_size = archive.size
            outcome.archive_files = len(archive.files)
            gha.info(f"{len(archive.files)} files, {archive.size} bytes, md5 {archive.md5}")
            for name in archive.files:
                gha.debug(f"packed {name}")
            for skipped in archive.skipped:
                gha.warning(f"Left out of the archive: {skipped.path} ({skipped.reason})")
        if not archive.files:
            raise ExecutorError(f"Nothing to push: every file in `{settings.path}` is ignored.")
        if settings.dry_run:
            outcome.status = "dry-run"
            gha.notice("Dry run: the executor is valid and packed; nothing was uploaded.")
            return
        _push_and_build(settings, outcome, archive.path, archive.md5, push_id=push_id)


def _push_and_build(
    settings: Settings, outcome: Outcome, archive: Path, md5: str, push_id: str
) -> None:
    token = settings.token.get_secret_value() if settings.token else None
    secret = settings.secret.get_secret_value() if settings.secret else None
    request = PushRequest(
        id=push_id,
        md5sum=md5,
        visibility=settings.visibility,
        secret=secret,  # load_settings refuses a secret without a name: this is an update
        tags=tuple(settings.tags),
        protected_tags=tuple(settings.protected_tags),
        build_env={k: v.get_secret_value() for k, v in settings.build_env.items()},
        dockerfile=settings.dockerfile,
        platform=settings.platform,
        verbose=settings.verbose,
        no_cache=settings.no_cache,
    )
    with HubClient(settings.hub_url, token) as hub:
        if token:
            with gha.group("Login"):
                user = hub.whoami()
                gha.info(f"Pushing as {user.name} to {settings.hub_url}")

        with gha.group(f"Upload ({request.method})"):
            outcome.status = "failed"  # from here on, a failure is the Hub's answer
            result = hub.push(
                request, archive, lambda line: _show_push_line(line, settings.verbose)
            )
            outcome.record_executor(result.executor)
            outcome.warnings.extend(result.warnings)
            for warning in result.warnings:
                gha.warning(warning, title="Jina Hub")
            gha.info(result.message or f"Pushed {outcome.executor_name} ({outcome.executor_id})")
            outcome.task_id = result.task_id or hub.find_task(outcome.executor_id or push_id)
            if outcome.task_id:
                gha.info(f"Build task: {outcome.task_id}")

        if not settings.wait:
            outcome.status = "pending"
            gha.info("Not waiting for the build (`wait: false`).")
            return
        if not outcome.task_id:
            raise HubError(
                "The Hub accepted the push but named no build task to wait for.",
                hint="Check the executor's build on the Hub, or set `wait: false`.",
            )
        with gha.group(f"Build {outcome.task_id}"):
            build = hub.follow_build(
                outcome.task_id,
                timeout=settings.timeout.total_seconds(),
                verbose=settings.verbose,
                secret=secret or outcome.secret or None,
                on_log=gha.info if settings.verbose else gha.debug,
            )
            outcome.log = build.log
            if build.executor is not None:
                outcome.record_executor(build.executor)
            outcome.status = "succeeded"
            gha.info(f"Build {build.task_id} succeeded")


def _show_push_line(line: dict[str, Any], verbose: bool) -> None:
    """Log one line of the push stream (never its payload object: it can hold the secret)."""
    payload = line.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("secret"), str):
        gha.mask(payload["secret"])  # the first publish's SECRET, masked as soon as it arrives
    kind, subject = line.get("type"), line.get("subject")
    if kind in ("complete", "error", "warning"):
        return  # reported by the caller
    text = line.get("message") or (payload if isinstance(payload, str) else "")
    if kind == "console" and not verbose:
        gha.debug(f"{subject}: {text}")
        return
    if kind or subject:
        gha.info(f"{subject or kind}: {text}" if text else f"{subject or ''} {kind or ''}".strip())
