"""What one run did, filled in as it goes and reported from one place on every path."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from hub_push.hub.models import ExecutorResult
from hub_push.hub.usage import docker_uses, portal_url

Status = Literal["succeeded", "failed", "pending", "timeout", "skipped", "dry-run"]

#: The action's outputs, in action.yml order.
OUTPUT_NAMES = (
    "task-id",
    "build-status",
    "executor-id",
    "executor-name",
    "visibility",
    "tags",
    "uses",
    "url",
    "archive-md5",
    "secret",
    "result",
)


@dataclass
class Outcome:
    """Everything the outputs, the summary and the exit code are made from."""

    status: Status = "skipped"
    executor_name: str = ""
    executor_id: str = ""
    visibility: str = ""
    tags: tuple[str, ...] = ()
    protected_tags: tuple[str, ...] = ()
    owner: str = ""
    task_id: str = ""
    archive_md5: str = ""
    archive_size: int | None = None
    archive_files: int | None = None
    secret: str = ""  # only a first publish without a login returns one
    error: str = ""
    hint: str = ""
    warnings: list[str] = field(default_factory=list)
    log: tuple[str, ...] = ()
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "pending", "dry-run")

    def record_executor(self, executor: ExecutorResult) -> None:
        """Take what the Hub says about the executor (after a push or a build)."""
        self.executor_id = executor.id or self.executor_id
        self.executor_name = executor.name or self.executor_name
        self.visibility = executor.visibility or self.visibility
        self.owner = executor.owner or self.owner
        if executor.tags:
            self.tags = executor.tags
        if executor.secret:
            self.secret = executor.secret

    @property
    def uses(self) -> str:
        """The usage string, once the Hub has named the executor (its ID)."""
        if not self.executor_id:
            return ""
        return docker_uses(
            ExecutorResult(
                id=self.executor_id,
                name=self.executor_name,
                visibility=self.visibility,
                owner=self.owner,
                tags=self.tags,
                secret=self.secret,
            )
        )

    @property
    def url(self) -> str:
        return portal_url(self.executor_id)

    def outputs(self) -> dict[str, str]:
        """Every output, always: an unknown value is an empty string (see `why_empty`)."""
        values = {
            "task-id": self.task_id,
            "build-status": self.status,
            "executor-id": self.executor_id,
            "executor-name": self.executor_name,
            "visibility": self.visibility,
            "tags": ",".join(self.tags),
            "uses": self.uses,
            "url": self.url,
            "archive-md5": self.archive_md5,
            "secret": self.secret,
        }
        result: dict[str, object] = {
            name.replace("-", "_"): value for name, value in values.items() if name != "secret"
        }
        result.update(
            tags=list(self.tags),
            protected_tags=list(self.protected_tags),
            error=self.error,
        )
        values["result"] = json.dumps(result, sort_keys=True)
        return values

    def why_empty(self) -> dict[str, str]:
        """For each empty output, the reason, so the log says why instead of leaving a blank."""
        uploaded = self.status not in ("dry-run", "skipped")
        if self.status == "dry-run":
            default = "this was a dry run: nothing was uploaded"
        elif not uploaded:
            default = "nothing was uploaded (see the error above)"
        else:
            default = "the Hub did not report it"
        reasons: dict[str, str] = {}
        for name, value in self.outputs().items():
            if value:
                continue
            if name == "secret" and uploaded:
                reasons[name] = "the Hub returns a SECRET only on a first publish without a login"
            elif name == "task-id" and uploaded:
                reasons[name] = "the Hub did not report a build task"
            else:
                reasons[name] = default
        return reasons
