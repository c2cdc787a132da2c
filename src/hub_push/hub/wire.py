"""The Hub's wire format, read: NDJSON lines and JSON answers → typed events and results.

Pure functions over plain dicts (tested without a network); `client.py` moves the bytes.
Everything here treats the Hub's answer as untrusted: texts are passed through the caller's
redaction (`text`) before they reach a message, names and ids through `models.checked`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub_push.errors import BuildFailedError, HubError
from hub_push.hub.models import (
    BuildResult,
    BuildStatus,
    ExecutorResult,
    ExistingTag,
    HubExecutor,
    ProgressEvent,
    PushEvent,
    checked,
)

#: How much longer than the upload's start a task may look created (clocks differ).
CLOCK_SKEW = timedelta(seconds=5)
ProgressHandler = Callable[[ProgressEvent], None]


class BuildWatch:
    """What the queryProgress lines of one task have said so far."""

    def __init__(
        self,
        task_id: str,
        on_progress: ProgressHandler,
        text: Callable[[str], str],
        reason_text: Callable[[str], str] | None = None,
        *,
        once: bool = False,
    ) -> None:
        self.task_id = task_id
        self.on_progress = on_progress
        self.text = text
        self.reason_text = reason_text or text
        self.once = once  # return the first status reported, finished or not
        self.status: BuildStatus = "pending"
        self.log: list[str] = []
        self.last_sn = 0

    def get_id(self) -> str:
        return self.task_id

    def take(self, line: dict[str, Any]) -> BuildResult | None:
        """Read one line: a result when the build succeeded; raises when it failed."""
        code = line.get("code")
        if isinstance(code, int) and code >= 400:
            message = message_of(line, "The Hub refused the build status query.")
            raise HubError(self.text(message), code=code, task_id=self.task_id)
        kind = line.get("type")
        if kind == "error":
            message = message_of(line, "The build status query failed.")
            raise HubError(self.text(message), task_id=self.task_id)
        if kind == "progress":
            entry = log_entry(line)
            if entry and entry[0] > self.last_sn:  # replayed lines were seen already
                self.last_sn = entry[0]
                self.log.append(entry[1])
                self.on_progress(ProgressEvent(self.status, (entry[1],)))
            return None
        reported = line.get("status") if kind == "report" else None
        if reported in ("pending", "waiting"):
            if reported != self.status:
                self.status = reported
                self.on_progress(ProgressEvent(self.status))
            if self.once:
                return BuildResult(self.task_id, reported, log=tuple(self.log))
        elif reported == "succeeded":
            result = line.get("result")
            executor = ExecutorResult.from_wire(result) if isinstance(result, dict) else None
            return BuildResult(self.task_id, "succeeded", executor=executor, log=tuple(self.log))
        elif reported == "failed":
            error = line.get("error")
            reason = message_of(
                {"payload": error} if isinstance(error, dict) else line,
                "The build failed without a reason.",
            )
            raise BuildFailedError(
                f"The build task {self.task_id} failed: {self.reason_text(reason)}",
                task_id=self.task_id,
                log=tuple(self.log),
            )
        return None


def tasks_of_this_push(tasks: list[Any], commit_id: str, since: datetime) -> list[str]:
    """Ids of the listed tasks that can be this push's (see `HubClient.find_task`)."""
    found: list[str] = []
    for task in tasks:
        if not isinstance(task, dict):
            continue
        task_id = checked("task id", task.get("_id"), [])
        commit = task.get("commit")
        if not task_id:
            continue
        if commit_id:
            if isinstance(commit, dict) and commit.get("_id") == commit_id:
                found.append(task_id)
            continue
        created = timestamp(task.get("createdAt"))
        if created is None or created >= since - CLOCK_SKEW:
            found.append(task_id)  # a task of unknown age can't be ruled out
    return found


def timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def message_of(body: Any, fallback: str) -> str:
    """The readable text of a Hubble answer or error line (`readableMessage` first)."""
    if isinstance(body, dict):
        payload = body.get("payload")
        for source in (payload, body):
            if isinstance(source, dict):
                for key in ("readableMessage", "message"):
                    text = source.get(key)
                    if isinstance(text, str) and text.strip():
                        return text.strip()
        if isinstance(payload, str) and payload.strip():
            return payload.strip()
    return fallback


def status_code_of(body: Any) -> int | None:
    if isinstance(body, dict):
        for source in (body.get("payload"), body):
            if isinstance(source, dict) and isinstance(source.get("status"), int):
                return int(source["status"])
    return None


def push_event(line: dict[str, Any]) -> PushEvent:
    """The typed form of one push-stream line (its payload object is never passed on)."""
    payload = line.get("payload")
    secret = payload.get("secret") if isinstance(payload, dict) else None
    text = line.get("message") or (payload if isinstance(payload, str) else "")
    return PushEvent(
        kind=str(line.get("type") or ""),
        subject=str(line.get("subject") or ""),
        text=str(text),
        secret=secret.strip() if isinstance(secret, str) else "",
    )


def log_entry(line: dict[str, Any]) -> tuple[int, str] | None:
    """(sequence number, text) of a `progress` line's console payload."""
    outer = line.get("data")
    if not isinstance(outer, dict):
        return None
    inner = outer.get("data")
    sn = outer.get("sn")
    if not isinstance(inner, dict) or not isinstance(sn, int):
        return None
    payload = inner.get("payload")
    subject = inner.get("subject")
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return sn, f"[{subject}] {text}" if subject else text


def existing_tag(data: dict[str, Any]) -> ExistingTag:
    """What `executor.getPackage` says a tag holds: the archive's md5, its build-env names."""
    package = data.get("package")
    md5 = package.get("md5") if isinstance(package, dict) else None
    commit = data.get("commit")
    params = commit.get("commitParams") if isinstance(commit, dict) else None
    env = params.get("buildEnv") if isinstance(params, dict) else None
    names = tuple(str(name) for name in env) if isinstance(env, dict | list) else None
    return ExistingTag(
        executor=ExecutorResult.from_wire(data), md5=checked("md5", md5, []), build_env=names
    )


def hub_executor(data: dict[str, Any]) -> HubExecutor:
    """What `executor.getPackage` says of the executor: owner, tags, protected tags."""

    def tags(key: str) -> tuple[str, ...]:
        found = data.get(key)
        listed = found if isinstance(found, list) else []
        return tuple(tag for tag in (checked("tag", t, []) for t in listed) if tag)

    return HubExecutor(
        executor=ExecutorResult.from_wire(data),
        tags=tags("tags"),
        protected_tags=tags("protectedTags"),
    )
