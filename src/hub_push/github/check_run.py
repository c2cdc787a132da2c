"""The check run: created `in_progress`, completed with the summary and the annotations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from github.CheckRun import CheckRun
from github.GithubObject import NotSet
from github.Repository import Repository

from hub_push.github.text import (
    ANNOTATIONS_PER_REQUEST,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    one_line,
    truncate,
)

AnnotationLevel = Literal["notice", "warning", "failure"]


@dataclass(frozen=True)
class Annotation:
    """A problem at a file and line, for the check run (`path` relative to the repository)."""

    path: str
    line: int | None
    message: str
    level: AnnotationLevel = "failure"
    title: str = ""

    def as_json(self, scrub: Callable[[str], str]) -> dict[str, Any]:
        line = max(1, self.line or 1)
        found: dict[str, Any] = {
            "path": self.path,
            "start_line": line,
            "end_line": line,
            "annotation_level": self.level,
            "message": truncate(scrub(self.message), SUMMARY_LIMIT),
        }
        if self.title:
            found["title"] = one_line(scrub(self.title), TITLE_LIMIT)
        return found


def start(repo: Repository, *, name: str, sha: str, url: str) -> CheckRun:
    return repo.create_check_run(
        name=name, head_sha=sha, details_url=url or NotSet, status="in_progress"
    )


def finish(
    repo: Repository,
    run: CheckRun | None,
    *,
    name: str,
    sha: str,
    url: str,
    success: bool,
    title: str,
    summary: str,
    annotations: Sequence[dict[str, Any]],
) -> CheckRun:
    """Complete `run` (or create it completed), its annotations in batches GitHub takes."""
    batches = [
        list(annotations[i : i + ANNOTATIONS_PER_REQUEST])
        for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
    ] or [[]]
    output: dict[str, Any] = {"title": title, "summary": summary, "annotations": batches[0]}
    ending: dict[str, Any] = {
        "status": "completed",
        "conclusion": "success" if success else "failure",
        "completed_at": datetime.now(UTC),
        "output": output,
    }
    if run is None:
        run = repo.create_check_run(name=name, head_sha=sha, details_url=url or NotSet, **ending)
    else:
        run.edit(**ending)
    for batch in batches[1:]:  # GitHub adds each request's annotations to the others
        run.edit(output={"title": title, "summary": summary, "annotations": batch})
    return run
