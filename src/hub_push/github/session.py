"""One bounded PyGithub client per feature: GitHub's retry rules under the run's deadline.

Every GitHub call goes through PyGithub with the runner's API address (`GITHUB_API_URL`, so
GitHub Enterprise Server works), a retry policy that waits out GitHub's rate limits
(`Retry-After`, `x-ratelimit-reset`, secondary limits) but never past the deadline, and a
timeout on every request.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any

from github import Auth, Github, GithubRetry
from github.Repository import Repository
from urllib3.response import BaseHTTPResponse

from hub_push.deadline import Deadline

#: Added to every wait GitHub asks for.
MARGIN = 1.0
#: Statuses that refuse a request without doing it: repeating it later is always safe.
RATE_LIMIT_STATUSES = frozenset({403, 429})

# PyGithub logs each retry to stderr at INFO; the job log gets one warning per feature instead,
# and the retries too when the run is re-run with debug logging.
logging.getLogger("github").setLevel(
    logging.INFO if os.environ.get("RUNNER_DEBUG") == "1" else logging.WARNING
)


@dataclass(frozen=True)
class Limits:
    """How long and how often GitHub is tried; the deadline bounds everything on top."""

    request_timeout: int = 10  # seconds, per request (less when the deadline is nearer)
    retries: int = 3  # per request, for 5xx answers, lost connections and rate limits
    backoff_factor: float = 1.0  # 0 s, 2 s, 4 s… between retries
    backoff_max: float = 20.0
    secondary_rate_wait: float = 60.0  # a secondary limit, no Retry-After: GitHub says ≥ 1 min
    seconds_between_writes: float = 1.0  # GitHub's guide: at least 1 s between writes


class DeadlinePassed(Exception):
    """Waiting for GitHub (a rate limit, a retry's backoff) would pass the deadline."""

    def __init__(self, wait: float, why: str) -> None:
        more = f"waiting {wait:.0f} s more would pass" if wait >= 1 else "it is past"
        super().__init__(f"{why}: {more} the deadline")
        self.wait = wait


class DeadlineRetry(GithubRetry):
    """PyGithub's retry (403 rate limits, 5xx) bounded by a deadline, with three additions.

    - Waits follow GitHub's rules for both 403 and 429: `Retry-After`, else
      `x-ratelimit-remaining: 0` until `x-ratelimit-reset`, else (429) the secondary wait.
    - A wait that would end past the deadline is not started: `DeadlinePassed` instead.
    - A request whose method is in `unrepeatable` (a POST that creates a comment or a check
      run, a PATCH that adds annotations) is not repeated after a 5xx or a lost connection,
      since GitHub may have done it; a rate-limit refusal is still waited out and repeated
      (GitHub did nothing then).
    - Every wait GitHub asks for gets `MARGIN` more (clocks differ; GitHub asks for it).
    """

    def __init__(
        self, *, deadline: float, unrepeatable: frozenset[str] = frozenset(), **kwargs: Any
    ) -> None:
        self.deadline = deadline
        self.unrepeatable = unrepeatable
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> DeadlineRetry:
        kw.update(deadline=self.deadline, unrepeatable=self.unrepeatable)
        retry: DeadlineRetry = super().new(**kw)
        return retry

    def _unrepeatable(self, method: str | None) -> bool:
        return (method or "").upper() in self.unrepeatable

    def _is_method_retryable(self, method: str) -> bool:
        return not self._unrepeatable(method) and super()._is_method_retryable(method)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if self._unrepeatable(method):
            return status_code in RATE_LIMIT_STATUSES
        return super().is_retry(method, status_code, has_retry_after)

    def _wait(self, response: BaseHTTPResponse | None) -> tuple[float, str]:
        if response is None:
            return self.get_backoff_time(), "no answer in time (or the connection broke)"
        if self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after is not None:
                return retry_after + MARGIN, f"GitHub answered {response.status} with Retry-After"
        status, headers = response.status, response.headers
        if status in RATE_LIMIT_STATUSES and headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                wait = max(0.0, int(reset) - time.time()) + MARGIN
                return wait, "GitHub's rate limit is used up"
        if status == 429:
            wait = max(self.get_backoff_time(), self.secondary_rate_wait) + MARGIN
            return wait, "GitHub's secondary rate limit"
        return self.get_backoff_time(), f"retry after {status}"

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait, why = self._wait(response)
        if time.monotonic() + wait > self.deadline:
            raise DeadlinePassed(wait, why)
        if wait > 0:
            time.sleep(wait)


class Skip(Exception):
    """A feature cannot run at all (no token, no commit, out of time); the message says why."""


def session(
    token: str,
    api_url: str,
    repository: str,
    deadline: Deadline,
    limits: Limits,
    *,
    repeat_posts: bool,
    repeat_patches: bool = True,
) -> Session:
    """A PyGithub client for one feature's calls, bounded by the time left."""
    if not token:
        raise Skip("the token is empty (`github-token`, or `save-secret-token` for secrets)")
    if not repository:
        raise Skip("GITHUB_REPOSITORY is not set")
    remaining = deadline.remaining()
    if remaining < 1:
        raise Skip("out of time (the deadline has passed)")
    retry = DeadlineRetry(
        deadline=deadline.at,
        unrepeatable=frozenset(
            ([] if repeat_posts else ["POST"]) + ([] if repeat_patches else ["PATCH"])
        ),
        total=limits.retries,
        backoff_factor=limits.backoff_factor,
        backoff_max=limits.backoff_max,
        secondary_rate_wait=limits.secondary_rate_wait,
        status_forcelist=[429, *range(500, 600)],
        allowed_methods=frozenset({"GET", "POST", "PUT", "PATCH"}),
        raise_on_status=False,  # the last answer reaches PyGithub, which names the error
    )
    client = Github(
        base_url=api_url,
        auth=Auth.Token(token),
        timeout=max(1, min(limits.request_timeout, math.floor(remaining))),
        retry=retry,
        lazy=True,  # no GET of the repository or the commit before each write
        user_agent="hub-push",
        per_page=100,
        seconds_between_requests=None,
        seconds_between_writes=limits.seconds_between_writes or None,
    )
    return Session(client, repository)


class Session:
    """`with` block around one PyGithub client: yields the (lazy) repository, then closes."""

    def __init__(self, client: Github, repository: str) -> None:
        self.client = client
        self.repository = repository

    def __enter__(self) -> Repository:
        return self.client.get_repo(self.repository)

    def __exit__(self, *exc: object) -> None:
        self.client.close()
