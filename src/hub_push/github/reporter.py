"""The GitHub reporter: commit status, check run, one pull-request comment, the SECRET kept.

A reporter like the outputs and the summary: it reads the `Outcome` and never steers the run.
Each feature's calls go through one bounded PyGithub session (`session.py`). A failure on
GitHub's side never changes the push's result: it becomes one `::warning` naming the feature,
with the secrets redacted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from github import GithubException, RateLimitExceededException

from hub_push import github_actions as gha
from hub_push.deadline import Deadline
from hub_push.errors import HubPushError
from hub_push.github import check_run, comment, secrets, status
from hub_push.github.check_run import Annotation
from hub_push.github.comment import marker
from hub_push.github.secrets import secret_names
from hub_push.github.session import DeadlinePassed, Limits, Session, Skip, session
from hub_push.github.status import State, commit_state
from hub_push.github.text import COMMENT_LIMIT, SUMMARY_BYTES, one_line, truncate, truncate_bytes
from hub_push.github_context import PULL_REQUEST_EVENTS, GitHubContext, GitHubFeatures
from hub_push.grammar import SAVE_SECRET_AS
from hub_push.outcome import Outcome

T = TypeVar("T")

# What each feature is called in warnings, and what its token needs.
STATUS, CHECK_RUN, COMMENT, SECRETS = "commit status", "check run", "comment", "save-secret-as"
_PERMISSION = {
    STATUS: "the token needs `statuses: write`",
    CHECK_RUN: "the token needs `checks: write` (the workflow's GITHUB_TOKEN has it with "
    "`permissions: checks: write`; a fine-grained PAT never can)",
    COMMENT: "the token needs `pull-requests: write`",
    SECRETS: "saving secrets needs `save-secret-token`: a token allowed to write repository "
    "secrets (a fine-grained PAT with Secrets: write; the workflow's GITHUB_TOKEN cannot)",
}


def describe(outcome: Outcome, name: str) -> str:
    """One line for the commit status and the check run's title (not yet redacted or cut):
    the Outcome's headline, the task, the error."""
    headline = outcome.headline(outcome.executor_name or name or "the executor")
    task = f" (task {outcome.task_id})" if outcome.task_id else ""
    error = f": {outcome.error}" if outcome.error else ""
    return headline + task + error


class PullRequestReporter:
    """Report one run on GitHub: `started` when the run begins, `finished` with its Outcome.

    Nothing here raises: each failure is one `::warning` naming the feature. A feature GitHub
    refused for good (401, 403, 404) is not tried again in the same run. `deadline` is a
    `Deadline`; no request, retry or rate-limit wait goes past it (a request
    already sent may take up to its timeout, which is capped by the time left when the call
    starts). Each phase may move the deadline (`started` is early, `finished` comes after the
    build).
    """

    def __init__(
        self,
        features: GitHubFeatures,
        context: GitHubContext,
        *,
        deadline: Deadline,
        limits: Limits | None = None,
    ) -> None:
        self.features = features
        self.context = context
        self.deadline = deadline
        self.limits = limits or Limits()
        self.name = ""
        self._secrets = {features.token, features.secret_token}
        self._refused: set[str] = set()
        self._check_run_id: int | None = None
        self._saved: list[str] | None = None
        self._warned_payload = False

    # -- the phases -------------------------------------------------------------------------

    def started(self, executor_name: str, *, deadline: Deadline | None = None) -> None:
        """A `pending` status and/or an `in_progress` check run on the commit."""
        self.name = executor_name
        self._move(deadline)
        if self.features.status_check:
            self._attempt(STATUS, "setting the pending status", self._status_pending)
        if self.features.check_run:
            self._attempt(CHECK_RUN, "creating the check run", self._check_run_start)

    def save_secret(self, outcome: Outcome, *, deadline: Deadline | None = None) -> list[str]:
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
        deadline: Deadline | None = None,
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
                lambda: self._check_run_finish(outcome.status, description, markdown, annotations),
            )
        if self.features.comment:
            self._attempt(COMMENT, "writing the comment", lambda: self._comment(markdown))
        return saved

    # -- the features -----------------------------------------------------------------------

    @property
    def status_context(self) -> str:
        return self.features.context or f"hub-push/{self.key}"

    @property
    def key(self) -> str:
        """What this run reports as: the executor's name, and its variant's suffix."""
        return f"{self.name or 'executor'}{self.features.variant}"

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
            raise Skip("no commit to report on (no `sha` input, no GITHUB_SHA)")
        return context.target_sha

    def _status_pending(self) -> None:
        self._status("pending", one_line(self._scrub(f"hub-push is running for {self.name}…")))

    def _status(self, state: State, description: str) -> None:
        sha = self._target_sha()
        with self._repository(repeat_posts=True) as repo:
            status.set_status(
                repo,
                sha,
                state=state,
                description=description,
                context=self.status_context,
                url=self.context.run_url,
            )

    def _check_run_start(self) -> None:
        sha = self._target_sha()
        with self._repository(repeat_posts=False) as repo:
            if self.features.resume:  # `mode: status`: the push's own check run, if left open
                found = check_run.in_progress(repo, name=self.status_context, sha=sha)
                if found is not None:
                    self._check_run_id = found
                    return
            self._check_run_id = check_run.start(
                repo, name=self.status_context, sha=sha, url=self.context.run_url
            )

    def _check_run_finish(
        self, build_status: str, title: str, markdown: str, annotations: Sequence[Annotation]
    ) -> None:
        sha = self._target_sha()
        with (
            self._repository(repeat_posts=False, repeat_patches=False) as once,
            self._repository(repeat_posts=False) as again,
        ):
            self._check_run_id = check_run.finish(
                once,
                again,
                self._check_run_id,
                name=self.status_context,
                sha=sha,
                url=self.context.run_url,
                build_status=build_status,
                title=title,
                summary=truncate_bytes(self._scrub(markdown).strip() or title, SUMMARY_BYTES),
                annotations=[annotation.as_json(self._scrub) for annotation in annotations],
                warn=lambda why: gha.warning(
                    self._scrub(f"GitHub check run: {why}."), title="hub-push: GitHub check run"
                ),
            )

    def _comment(self, markdown: str) -> None:
        number = self.context.pr_number
        if number is None:
            if self.context.event_name == "workflow_run":
                gha.notice(
                    "No pull request of this repository has the triggering run's commit "
                    f"({self.context.head_sha[:12] or 'unknown'}), so no comment: the run's "
                    "`pull_requests` lists those of any repository with a matching branch.",
                    title="hub-push: GitHub comment",
                )
            else:
                gha.info("hub-push: no pull request for this run, so no comment")
            return
        head = marker(self.key)
        body = truncate(f"{head}\n{self._scrub(markdown)}", COMMENT_LIMIT)
        with self._repository(repeat_posts=False) as repo:
            comment.upsert(repo, number, head, body)

    def _save(self, outcome: Outcome, saved: list[str]) -> None:
        if not outcome.secret:
            gha.info(
                "hub-push: save-secret-as: nothing to save (the Hub returns a SECRET only on a"
                " first publish without a login)"
            )
            return
        prefix = self.features.save_secret_as.strip()
        if not SAVE_SECRET_AS.matches(prefix):
            raise Skip(f"{prefix!r} {SAVE_SECRET_AS.message}")
        name, secret = secret_names(prefix)
        values = {name: outcome.executor_name or outcome.executor_id, secret: outcome.secret}
        with self._repository(repeat_posts=True, token=self.secret_token) as repo:
            secrets.save(repo, values, saved)

    # -- the plumbing -----------------------------------------------------------------------

    def _move(self, deadline: Deadline | None) -> None:
        if deadline is not None:
            self.deadline = deadline

    @property
    def secret_token(self) -> str:
        """The token that saves secrets: `save-secret-token`, else `github-token`."""
        return self.features.secret_token or self.features.token

    def _repository(
        self, *, repeat_posts: bool, repeat_patches: bool = True, token: str = ""
    ) -> Session:
        """A PyGithub client for one feature's calls, bounded by the time left."""
        return session(
            token or self.features.token,
            self.context.api_url,
            self.context.repository,
            self.deadline,
            self.limits,
            repeat_posts=repeat_posts,
            repeat_patches=repeat_patches,
        )

    def _attempt(self, feature: str, doing: str, call: Callable[[], T]) -> T | None:
        """Run one feature's calls; any failure becomes one warning, never an exception."""
        if feature in self._refused:
            return None
        try:
            return call()
        except Skip as skip:
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
            if (self.context.is_fork or self.context.is_bot) and not self.context.privileged:
                reason += " (on a pull request from a fork or a bot the token is read-only)"
        return reason

    def _scrub(self, text: str) -> str:
        """`text` without any masked value, nor the token or the SECRET of this run."""
        text = gha.redact(text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            if len(secret) >= gha.REDACT_MIN_LENGTH:
                text = text.replace(secret, "***")
        return text
