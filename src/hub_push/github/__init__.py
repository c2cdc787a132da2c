"""The GitHub side of a run, through PyGithub (imported only when a GitHub feature is on).

`reporter.py` reports one run, one module per feature: `status.py` (the commit status),
`check_run.py`, `comment.py` (one living comment), `secrets.py` (the first publish's SECRET
saved); `session.py` gives each feature a PyGithub client bounded by the run's deadline, with
GitHub's retry and rate-limit rules; `text.py` holds GitHub's size limits.
`hub_push.github_context` (no PyGithub) says where the run is.
"""

from hub_push.github.check_run import Annotation
from hub_push.github.comment import marker
from hub_push.github.reporter import PullRequestReporter, describe
from hub_push.github.session import DeadlinePassed, Limits
from hub_push.github.status import commit_state
from hub_push.github.text import (
    ANNOTATIONS_PER_REQUEST,
    COMMENT_LIMIT,
    DESCRIPTION_LIMIT,
    SUMMARY_BYTES,
    one_line,
)

__all__ = [
    "ANNOTATIONS_PER_REQUEST",
    "COMMENT_LIMIT",
    "DESCRIPTION_LIMIT",
    "SUMMARY_BYTES",
    "Annotation",
    "DeadlinePassed",
    "Limits",
    "PullRequestReporter",
    "commit_state",
    "describe",
    "marker",
    "one_line",
]
