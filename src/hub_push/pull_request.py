"""The GitHub side of a run: commit status, check run, one PR comment, the SECRET kept.

A reporter like the outputs and the summary: it reads the `Outcome` and never steers the run.
Every GitHub call goes through PyGithub with the runner's API address (`GITHUB_API_URL`, so
GitHub Enterprise Server works), a bounded retry policy that waits out GitHub's rate limits
(`Retry-After`, `x-ratelimit-reset`, secondary limits) but never past the reporter's deadline,
and a timeout on every request. A failure on GitHub's side never changes the push's result: it
becomes one `::warning` naming the feature, with the secrets redacted.

This module imports PyGithub at import time; the entrypoint imports it only when one of the
features is on, so a plain push never loads the GitHub client. `hub_push.github_context` (no
PyGithub) says where the run is, including whether it is a pull request from a fork.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
from github.CheckRun import CheckRun
from github.GithubObject import NotSet
from github.Repository import Repository
from urllib3.response import BaseHTTPResponse

from hub_push import github_actions as gha
from hub_push.errors import HubPushError
from hub_push.github_context import PULL_REQUEST_EVENTS, GitHubContext, GitHubFeatures
from hub_push.grammar import SAVE_SECRET_AS
from hub_push.outcome import OK_STATUSES, Outcome
from hub_push.summary import HEADINGS

State = Literal["pending", "success", "failure", "error"]
AnnotationLevel = Literal["notice", "warning", "failure"]
T = TypeVar("T")

#: Build statuses that make a green status; the ones that make a red `failure`. Any other
#: status (error, cancelled, invalid, and names not known yet) is an `error`.
SUCCESS_STATUSES = OK_STATUSES
FAILURE_STATUSES = frozenset({"failed", "preflight-failed", "refused", "timeout"})
#: GitHub's limits: a status description, a check run's summary, annotations per request, a
#: comment body.
DESCRIPTION_LIMIT = 140
SUMMARY_LIMIT = 65535
ANNOTATIONS_PER_REQUEST = 50
COMMENT_LIMIT = 65536
#: Statuses that refuse a request without doing it: repeating it later is always safe.
RATE_LIMIT_STATUSES = frozenset({403, 429})

# What each feature is called in warnings, and what its token needs.
STATUS, CHECK_RUN, COMMENT, SECRETS = "commit status", "check run", "comment", "save-secret-as"
_PERMISSION = {
    STATUS: "the token needs `statuses: write`",
    CHECK_RUN: "the token needs `checks: write`",
    COMMENT: "the token needs `pull-requests: write`",
    SECRETS: "saving secrets needs a token allowed to write repository secrets "
    "(a fine-grained PAT with Secrets: write; the workflow's GITHUB_TOKEN cannot)",
}

# PyGithub logs each retry to stderr at INFO; the job log gets one warning per feature instead,
# and the retries too when the run is re-run with debug logging.
logging.getLogger("github").setLevel(
    logging.INFO if os.environ.get("RUNNER_DEBUG") == "1" else logging.WARNING
)


@dataclass(frozen=True)
class Annotation:
    """A problem at a file and line, for the check run (`path` relative to the repository)."""

    path: str
    line: int | None
    message: str
    level: AnnotationLevel = "failure"
    title: str = ""


@dataclass(frozen=True)
class Limits:
    """How long and how often GitHub is tried; the deadline bounds everything on top."""

    request_timeout: int = 10  # seconds, per request (less when the deadline is nearer)
    retries: int = 3  # per request, for 5xx answers, lost connections and rate limits
    backoff_factor: float = 1.0  # 0 s, 2 s, 4 s… between retries
    backoff_max: float = 20.0
    secondary_rate_wait: float = 60.0  # a secondary limit, no Retry-After: GitHub says ≥ 1 min
    seconds_between_writes: float = 0.5  # GitHub asks integrators to space out writes


def commit_state(build_status: str) -> State:
    """The commit status for a build status; unknown names are an `error`."""
    if build_status in SUCCESS_STATUSES:
        return "success"
    if build_status in FAILURE_STATUSES:
        return "failure"
    return "error"


def one_line(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """`text` on one line (whitespace collapsed), cut to `limit` characters with `…`."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def describe(outcome: Outcome, name: str) -> str:
    """One line for the commit status and the check run's title (not yet redacted or cut):
    the summary's heading for the ending (without its emoji), the task, the error."""
    name = outcome.executor_name or name or "the executor"
    heading = HEADINGS.get(outcome.status, HEADINGS["error"]).format(name=name)
    task = f" (task {outcome.task_id})" if outcome.task_id else ""
    error = f": {outcome.error}" if outcome.error else ""
    return heading.split(" ", 1)[1] + task + error


def marker(name: str) -> str:
    """The hidden first line that finds this executor's comment again."""
    return f"<!-- hub-push:{re.sub(r'[^A-Za-z0-9._/-]', '_', name)} -->"


class DeadlinePassed(Exception):
    """Waiting for GitHub (a rate limit, a retry's backoff) would pass the deadline."""

    def __init__(self, wait: float, why: str) -> None:
        more = f"waiting {wait:.0f} s more would pass" if wait >= 1 else "it is past"
        super().__init__(f"{why}: {more} the deadline")
        self.wait = wait


class _Skip(Exception):
    """A feature cannot run at all (no token, no commit, out of time); the message says why."""


class _DeadlineRetry(GithubRetry):
    """PyGithub's retry (403 rate limits, 5xx) bounded by a deadline, with three additions.

    - Waits follow GitHub's rules for both 403 and 429: `Retry-After`, else
      `x-ratelimit-remaining: 0` until `x-ratelimit-reset`, else (429) the secondary wait.
    - A wait that would end past the deadline is not started: `DeadlinePassed` instead.
    - With `repeat_posts=False`, a POST that creates something (a comment, a check run) is not
      repeated after a 5xx or a lost connection, since GitHub may have done it; a rate-limit
      refusal is still waited out and repeated (GitHub did nothing then).
    """

    def __init__(self, *, deadline: float, repeat_posts: bool = True, **kwargs: Any) -> None:
        self.deadline = deadline
        self.repeat_posts = repeat_posts
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> _DeadlineRetry:
        kw.update(deadline=self.deadline, repeat_posts=self.repeat_posts)
        retry: _DeadlineRetry = super().new(**kw)
        return retry

    def _unrepeatable(self, method: str | None) -> bool:
        return not self.repeat_posts and (method or "").upper() == "POST"

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
                return retry_after, f"GitHub answered {response.status} with Retry-After"
        status, headers = response.status, response.headers
        if status in RATE_LIMIT_STATUSES and headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return max(0.0, int(reset) - time.time()), "GitHub's rate limit is used up"
        if status == 429:
            wait = max(self.get_backoff_time(), self.secondary_rate_wait)
            return wait, "GitHub's secondary rate limit"
        return self.get_backoff_time(), f"retry after {status}"

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait, why = self._wait(response)
        if time.monotonic() + wait > self.deadline:
            raise DeadlinePassed(wait, why)
        if wait > 0:
            time.sleep(wait)


class PullRequestReporter:
    """Report one run on GitHub: `started` when the run begins, `finished` with its Outcome.

    Nothing here raises: each failure is one `::warning` naming the feature. A feature GitHub
    refused for good (401, 403, 404) is not tried again in the same run. `deadline` is a
    `time.monotonic()` value; no request, retry or rate-limit wait goes past it (a request
    already sent may take up to its timeout, which is capped by the time left when the call
    starts). Each phase may move the deadline (`started` is early, `finished` comes after the
    build).
    """

    def __init__(
        self,
        features: GitHubFeatures,
        context: GitHubContext,
        *,
        deadline: float,
        limits: Limits | None = None,
    ) -> None:
        self.features = features
        self.context = context
        self.deadline = deadline
        self.limits = limits or Limits()
        self.name = ""
        self._secrets = {features.token}
        self._refused: set[str] = set()
        self._check_run: CheckRun | None = None
        self._saved: list[str] | None = None
        self._warned_payload = False

    # -- the phases -------------------------------------------------------------------------

    def started(self, executor_name: str, *, deadline: float | None = None) -> None:
        """A `pending` status and/or an `in_progress` check run on the commit."""
        self.name = executor_name
        self._move(deadline)
        if self.features.status_check:
            self._attempt(STATUS, "setting the pending status", self._status_pending)
        if self.features.check_run:
            self._attempt(CHECK_RUN, "creating the check run", self._check_run_start)

    def save_secret(self, outcome: Outcome, *, deadline: float | None = None) -> list[str]:
        """Store a first publish's name and SECRET as repository secrets (once per run).

        Returns the names of the secrets written, for the summary (never their values).
        Call it before rendering the summary to list them; `finished` calls it otherwise.
        """
        self._move(deadline)
        if self._saved is None:
            saved: list[str] = []
            self._saved = saved
            if self.features.save_secret_as:
                self._secrets.add(outcome.secret)
                self._attempt(SECRETS, "saving the SECRET", lambda: self._save(outcome, saved))
        return list(self._saved)

    def finished(
        self,
        outcome: Outcome,
        *,
        markdown: str = "",
        annotations: Sequence[Annotation] = (),
        deadline: float | None = None,
    ) -> list[str]:
        """The final status / check run / comment; returns the names of secrets saved."""
        self._move(deadline)
        self._secrets.add(outcome.secret)
        self.name = self.name or outcome.executor_name
        saved = self.save_secret(outcome)
        state = commit_state(outcome.status)
        description = one_line(self._scrub(describe(outcome, self.name)))
        if self.features.status_check:
            self._attempt(
                STATUS,
                f"setting the {state} status",
                lambda: self._status(state, description),
            )
        if self.features.check_run:
            self._attempt(
                CHECK_RUN,
                "completing the check run",
                lambda: self._check_run_finish(state, description, markdown, annotations),
            )
        if self.features.comment:
            self._attempt(COMMENT, "writing the comment", lambda: self._comment(markdown))
        return saved

    # -- the features -----------------------------------------------------------------------

    @property
    def status_context(self) -> str:
        return self.features.context or f"hub-push/{self.name or 'executor'}"

    def _target_sha(self) -> str:
        if self.features.sha:
            return self.features.sha
        context = self.context
        pull_request = context.event_name in PULL_REQUEST_EVENTS
        if pull_request and not context.head_sha and not self._warned_payload:
            self._warned_payload = True  # the status would land on the merge commit
            problem = context.payload_problem or "it names no head commit"
            gha.warning(
                f"GitHub: the pull request's head commit is unknown ({problem}); reporting on"
                " GITHUB_SHA, the merge commit. Set the `sha` input to choose the commit.",
                title="hub-push: GitHub",
            )
        if not context.target_sha:
            raise _Skip("no commit to report on (no `sha` input, no GITHUB_SHA)")
        return context.target_sha

    def _status_pending(self) -> None:
        self._status("pending", one_line(self._scrub(f"hub-push is running for {self.name}…")))

    def _status(self, state: State, description: str) -> None:
        sha = self._target_sha()
        with self._repository(repeat_posts=True) as repo:
            repo.get_commit(sha).create_status(
                state=state,
                target_url=self.context.run_url or NotSet,
                description=description,
                context=self.status_context,
            )

    def _check_run_start(self) -> None:
        sha = self._target_sha()
        with self._repository(repeat_posts=False) as repo:
            self._check_run = repo.create_check_run(
                name=self.status_context,
                head_sha=sha,
                details_url=self.context.run_url or NotSet,
                status="in_progress",
            )

    def _check_run_finish(
        self, state: State, title: str, markdown: str, annotations: Sequence[Annotation]
    ) -> None:
        sha = self._target_sha()
        summary = self._truncate(self._scrub(markdown).strip() or title, SUMMARY_LIMIT)
        batches = [
            [self._annotation(a) for a in annotations[i : i + ANNOTATIONS_PER_REQUEST]]
            for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
        ] or [[]]
        output: dict[str, Any] = {"title": title, "summary": summary, "annotations": batches[0]}
        ending: dict[str, Any] = {
            "status": "completed",
            "conclusion": "success" if state == "success" else "failure",
            "completed_at": datetime.now(UTC),
            "output": output,
        }
        with self._repository(repeat_posts=False) as repo:
            if self._check_run is None:
                self._check_run = repo.create_check_run(
                    name=self.status_context,
                    head_sha=sha,
                    details_url=self.context.run_url or NotSet,
                    **ending,
                )
            else:
                self._check_run.edit(**ending)
            for batch in batches[1:]:  # GitHub adds each request's annotations to the others
                self._check_run.edit(
                    output={"title": title, "summary": summary, "annotations": batch}
                )

    def _annotation(self, annotation: Annotation) -> dict[str, Any]:
        line = max(1, annotation.line or 1)
        found: dict[str, Any] = {
            "path": annotation.path,
            "start_line": line,
            "end_line": line,
            "annotation_level": annotation.level,
            "message": self._truncate(self._scrub(annotation.message), SUMMARY_LIMIT),
        }
        if annotation.title:
            found["title"] = one_line(self._scrub(annotation.title), 255)
        return found

    def _comment(self, markdown: str) -> None:
        number = self.context.pr_number
        if number is None:
            gha.info("hub-push: no pull request for this run, so no comment")
            return
        head = marker(self.name or "executor")
        body = self._truncate(f"{head}\n{self._scrub(markdown)}", COMMENT_LIMIT)
        with self._repository(repeat_posts=False) as repo:
            issue = repo.get_issue(number)
            for comment in issue.get_comments():
                if (comment.body or "").startswith(head):
                    comment.edit(body)
                    return
            issue.create_comment(body)

    def _save(self, outcome: Outcome, saved: list[str]) -> None:
        if not outcome.secret:
            gha.info(
                "hub-push: save-secret-as: nothing to save (the Hub returns a SECRET only on a"
                " first publish without a login)"
            )
            return
        prefix = self.features.save_secret_as.strip()
        if not SAVE_SECRET_AS.matches(prefix):
            raise _Skip(f"{prefix!r} {SAVE_SECRET_AS.message}")
        values = {
            f"{prefix}_NAME": outcome.executor_name or outcome.executor_id,
            f"{prefix}_SECRET": outcome.secret,
        }
        with self._repository(repeat_posts=True) as repo:
            for name, value in values.items():  # PUT: repeating it is harmless
                repo.create_secret(name, value)  # sealed with the repository's public key
                saved.append(name)

    # -- the plumbing -----------------------------------------------------------------------

    def _move(self, deadline: float | None) -> None:
        if deadline is not None:
            self.deadline = deadline

    def _repository(self, *, repeat_posts: bool) -> _Session:
        """A PyGithub client for one feature's calls, bounded by the time left."""
        if not self.features.token:
            raise _Skip("`github-token` is empty")
        if not self.context.repository:
            raise _Skip("GITHUB_REPOSITORY is not set")
        remaining = self.deadline - time.monotonic()
        if remaining < 1:
            raise _Skip("out of time (the deadline has passed)")
        limits = self.limits
        retry = _DeadlineRetry(
            deadline=self.deadline,
            repeat_posts=repeat_posts,
            total=limits.retries,
            backoff_factor=limits.backoff_factor,
            backoff_max=limits.backoff_max,
            secondary_rate_wait=limits.secondary_rate_wait,
            status_forcelist=[429, *range(500, 600)],
            allowed_methods=frozenset({"GET", "POST", "PUT", "PATCH"}),
            raise_on_status=False,  # the last answer reaches PyGithub, which names the error
        )
        client = Github(
            base_url=self.context.api_url,
            auth=Auth.Token(self.features.token),
            timeout=max(1, min(limits.request_timeout, math.floor(remaining))),
            retry=retry,
            lazy=True,  # no GET of the repository or the commit before each write
            user_agent="hub-push",
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=limits.seconds_between_writes or None,
        )
        return _Session(client, self.context.repository)

    def _attempt(self, feature: str, doing: str, call: Callable[[], T]) -> T | None:
        """Run one feature's calls; any failure becomes one warning, never an exception."""
        if feature in self._refused:
            return None
        try:
            return call()
        except _Skip as skip:
            reason = str(skip)
        except DeadlinePassed as late:
            reason = f"gave up: {late}"
        except RateLimitExceededException as error:
            reason = f"GitHub's rate limit still refused it after {self.limits.retries} retries"
            reason += f" ({error.status})"
        except GithubException as error:
            reason = self._github_error(feature, error)
        except HubPushError:
            raise  # a cancel (SIGTERM) is the run's, not a GitHub failure
        except Exception as error:  # a timeout, a lost connection, malformed JSON…
            reason = f"{type(error).__name__}: {one_line(str(error), 300)}"
        gha.warning(
            self._scrub(
                f"GitHub {feature}: {doing} failed: {reason}. The push's result is unchanged."
            ),
            title=f"hub-push: GitHub {feature}",
        )
        return None

    def _github_error(self, feature: str, error: GithubException) -> str:
        data = error.data
        message = data.get("message", "") if isinstance(data, dict) else str(data or "")
        reason = f"GitHub answered {error.status}" + (
            f" ({one_line(message, 200)})" if message else ""
        )
        if error.status in (401, 403, 404):
            self._refused.add(feature)  # it will not get better in this run
            reason += f"; {_PERMISSION[feature]}"
            if self.context.is_fork or self.context.is_bot:
                reason += " (on a pull request from a fork or a bot the token is read-only)"
        return reason

    def _scrub(self, text: str) -> str:
        """`text` without any masked value, nor the token or the SECRET of this run."""
        text = gha.redact(text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            if len(secret) >= gha.REDACT_MIN_LENGTH:
                text = text.replace(secret, "***")
        return text

    @staticmethod
    def _truncate(text: str, limit: int) -> str:
        note = "\n\n… (cut to GitHub's size limit)"
        return text if len(text) <= limit else text[: limit - len(note)] + note


class _Session:
    """`with` block around one PyGithub client: yields the (lazy) repository, then closes."""

    def __init__(self, client: Github, repository: str) -> None:
        self.client = client
        self.repository = repository

    def __enter__(self) -> Repository:
        return self.client.get_repo(self.repository)

    def __exit__(self, *exc: object) -> None:
        self.client.close()
