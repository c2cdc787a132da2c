"""The GitHub side of a run, through PyGithub (imported only when a GitHub feature is on).

`reporter.py` reports one run (commit status, check run, comment, the saved SECRET);
`session.py` gives each feature a PyGithub client bounded by the run's deadline, with GitHub's
retry and rate-limit rules. `hub_push.github_context` (no PyGithub) says where the run is.
"""

from hub_push.github.reporter import (
    ANNOTATIONS_PER_REQUEST,
    COMMENT_LIMIT,
    DESCRIPTION_LIMIT,
    SUMMARY_LIMIT,
    Annotation,
    PullRequestReporter,
    commit_state,
    describe,
    marker,
    one_line,
)
from hub_push.github.session import DeadlinePassed, Limits

__all__ = [
    "ANNOTATIONS_PER_REQUEST",
    "COMMENT_LIMIT",
    "DESCRIPTION_LIMIT",
    "SUMMARY_LIMIT",
    "Annotation",
    "DeadlinePassed",
    "Limits",
    "PullRequestReporter",
    "commit_state",
    "describe",
    "marker",
    "one_line",
]
