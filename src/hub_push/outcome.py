"""What one run did: written by the flow alone, as it learns each fact, on every path.

The reporters (job outputs, step summary, …) read it once the run is over; none of them
steers the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from hub_push.errors import HubPushError, SourceLocation
from hub_push.hub.models import ExecutorResult
from hub_push.hub.usage import docker_uses, portal_url

#: How many of the build log's last lines people are shown (job log and summary).
LOG_TAIL = 30

#: How a run ended: the `build-status` output (README, "Build statuses", says what each means).
Status = Literal[
    "succeeded",
    "pending",
    "dry-run",
    "skipped",
    "discovered",
    "preflight-failed",
    "invalid",
    "refused",
    "failed",
    "timeout",
    "cancelled",
    "error",
]
#: The endings that leave the step green.
OK_STATUSES: frozenset[Status] = frozenset(
    {"succeeded", "pending", "dry-run", "skipped", "discovered"}
)

#: What each ending means, in one line (`{name}` is the executor): the summary's heading after
#: its icon, and the first words of the commit status and the check run's title.
HEADLINES: dict[Status, str] = {
    "succeeded": "Published {name} to Jina Hub",
    "pending": "Pushed {name} to Jina Hub; its build was not awaited",
    "dry-run": "Dry run: {name} passed the checks and was packed; nothing was uploaded",
    "skipped": "Nothing to push for {name}",
    "discovered": "Executors found under {name}",
    "preflight-failed": "{name} would fail Jina Hub's build check; nothing was uploaded",
    "invalid": "{name} was not pushed: fix the inputs or the folder",
    "refused": "Jina Hub refused the push of {name}",
    "failed": "{name} was pushed, but its build on Jina Hub failed",
    "timeout": "The push of {name} ran out of time (`timeout`) before it or its build ended",
    "cancelled": "The push of {name} was cancelled",
    "error": "The push of {name} did not complete",
}


@dataclass
class Outcome:
    """Everything the outputs, the summary and the exit code are made from."""

    status: Status = "error"  # until the flow records how the run ended
    mode: str = "push"
    executor_name: str = ""
    executor_id: str = ""
    visibility: str = ""
    tags: tuple[str, ...] = ()
    protected_tags: tuple[str, ...] = ()
    owner: str = ""
    task_id: str = ""
    archive_md5: str = ""
    archive_sha256: str = ""
    #: Where `keep-archive` kept the archive, relative to the workspace ("" when not kept).
    archive_path: str = ""
    upload_started: bool = False  # once True, the Hub may hold this push
    hub_url: str = ""
    archive_size: int | None = None
    archive_files: int | None = None
    secret: str = ""  # only a first publish without a login returns one
    error: str = ""  # the one-line message, already redacted
    error_kind: type[HubPushError] | None = None
    error_code: int | None = None  # the Hubble status code, when the Hub gave one
    error_location: SourceLocation | None = None  # the file and line to fix, when known
    warnings: list[str] = field(default_factory=list)
    #: What people should read about how the run went (why it skipped, what it found).
    remarks: list[str] = field(default_factory=list)
    matrix: str = ""  # `mode: discover`: the executors found, as a strategy.matrix JSON
    #: `mode: report`: one row per executor (variant) of the matrix.
    report_rows: tuple[Any, ...] = ()
    log: tuple[str, ...] = ()
    started: float = field(default_factory=time.monotonic)
    duration: float = 0.0

    def headline(self, name: str) -> str:
        """What this run's ending means, for the executor `name`."""
        return HEADLINES.get(self.status, HEADLINES["error"]).format(name=name)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

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
        """The executor's page on the Hub the push went to."""
        return portal_url(self.executor_id, self.hub_url)
