"""The commit status: `pending` while the run goes on, then the build's ending."""

from __future__ import annotations

from typing import Literal

from github.GithubObject import NotSet
from github.Repository import Repository

from hub_push.outcome import OK_STATUSES

State = Literal["pending", "success", "failure", "error"]
#: Build statuses that make a red `failure`; the OK ones make `success`; any other (error,
#: cancelled, invalid, and names not known yet) is an `error`.
FAILURE_STATUSES = frozenset({"failed", "preflight-failed", "refused", "timeout"})


def commit_state(build_status: str) -> State:
    """The commit status for a build status; unknown names are an `error`. A build that was
    not awaited (`pending`) leaves the status `pending`, for a later status run to set."""
    if build_status == "pending":
        return "pending"
    if build_status in OK_STATUSES:
        return "success"
    if build_status in FAILURE_STATUSES:
        return "failure"
    return "error"


def set_status(
    repo: Repository, sha: str, *, state: State, description: str, context: str, url: str
) -> None:
    """One status on the commit `sha` (a POST that is safe to repeat: the newest wins)."""
    repo.get_commit(sha).create_status(
        state=state, target_url=url or NotSet, description=description, context=context
    )
