"""The check run: created `in_progress`, completed with the summary and the annotations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from github import GithubException
from github.GithubObject import NotSet
from github.Repository import Repository

from hub_push.github.text import (
    ANNOTATION_MESSAGE_BYTES,
    ANNOTATIONS_PER_REQUEST,
    TITLE_LIMIT,
    one_line,
    truncate_bytes,
)
from hub_push.outcome import OK_STATUSES

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
            "message": truncate_bytes(scrub(self.message), ANNOTATION_MESSAGE_BYTES),
        }
        if self.title:
            found["title"] = one_line(scrub(self.title), TITLE_LIMIT)
        return found


#: How a check run ends, by build status (GitHub's words); a `pending` run stays in progress.
CONCLUSIONS = {"cancelled": "cancelled", "timeout": "timed_out"}


def conclusion(build_status: str) -> str:
    """The check run's conclusion for a build status: `success` for the OK endings,
    `cancelled` and `timed_out` for those, else `failure`."""
    if build_status in OK_STATUSES:
        return "success"
    return CONCLUSIONS.get(build_status, "failure")


def in_progress(repo: Repository, *, name: str, sha: str) -> int | None:
    """The id of a check run `name` on `sha` still `in_progress` (left by a push with
    `wait: false`), for a status run to complete; None when there is none."""
    for run in repo.get_commit(sha).get_check_runs(check_name=name, status="in_progress"):
        return run.id
    return None


def start(repo: Repository, *, name: str, sha: str, url: str) -> int:
    """An `in_progress` check run on `sha` (a POST that is never repeated); its id."""
    run = repo.create_check_run(
        name=name, head_sha=sha, details_url=url or NotSet, status="in_progress"
    )
    return run.id


def finish(
    once: Repository,
    again: Repository,
    run_id: int | None,
    *,
    name: str,
    sha: str,
    url: str,
    build_status: str,
    title: str,
    summary: str,
    annotations: Sequence[dict[str, Any]],
    warn: Callable[[str], None],
) -> int:
    """Bring the check run to the run's end; its id.

    GitHub adds the annotations of every update to the others, so a request that carries
    annotations is never repeated blindly (`once`, a session that repeats no write). When
    such a request fails, GitHub is asked whether it took it, and the run is completed without
    them if it did not (`again`, which repeats what is safe). A summary GitHub refuses (422)
    gives way to a short one: the check run never stays `in_progress` once it was created,
    unless the build was not awaited (`pending`, for a later status run to complete).
    """
    batches = [
        list(annotations[i : i + ANNOTATIONS_PER_REQUEST])
        for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
    ] or [[]]
    ending: dict[str, Any] = (
        {"status": "in_progress"}
        if build_status == "pending"
        else {
            "status": "completed",
            "conclusion": conclusion(build_status),
            "completed_at": datetime.now(UTC),
        }
    )

    def output(text: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
        return {"title": title, "summary": text, "annotations": batch}

    if run_id is None:
        created = once.create_check_run(
            name=name, head_sha=sha, details_url=url or NotSet, **ending, output=output(summary, [])
        )
        run_id = created.id
        batches = [[], *batches] if batches != [[]] else [[]]
    else:
        try:
            once.get_check_run(run_id).edit(**ending, output=output(summary, batches[0]))
        except GithubException as error:
            if error.status != 422:
                if again.get_check_run(run_id).status == ending["status"]:
                    warn(f"GitHub answered {error.status} but had taken the update")
                else:
                    again.get_check_run(run_id).edit(**ending, output=output(summary, []))
                    warn(f"GitHub answered {error.status}: completed without its annotations")
            else:
                short = f"{title}\n\nGitHub refused the full summary: see the workflow run, {url}."
                again.get_check_run(run_id).edit(**ending, output=output(short, []))
                warn("GitHub refused the summary (422): completed with a short one")
                return run_id
    for batch in batches[1:]:  # each request's annotations are added to the others
        once.get_check_run(run_id).edit(output=output(summary, batch))
    return run_id
