"""Where this run happens on GitHub: read from the runner's environment and event payload.

Pure reading, no network and no PyGithub, so the entrypoint can ask "is this a pull request
from a fork?" (and then never push) without importing the GitHub client. The variables are
the ones the runner sets for every job: `GITHUB_API_URL`, `GITHUB_SERVER_URL`,
`GITHUB_REPOSITORY`, `GITHUB_RUN_ID`, `GITHUB_EVENT_NAME`, `GITHUB_SHA`, `GITHUB_ACTOR` and
`GITHUB_EVENT_PATH` (the webhook payload that triggered the workflow, as a JSON file).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "https://api.github.com"
DEPENDABOT = "dependabot[bot]"
DEFAULT_SERVER_URL = "https://github.com"
#: Events whose payload carries a `pull_request` object.
PULL_REQUEST_EVENTS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"}
)


def _object(value: object, *keys: str) -> dict[str, Any]:
    """`value[k1][k2]…` when every step is a JSON object, else `{}`."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _text(value: object, key: str) -> str:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, str) else ""


def read_event(path: str) -> tuple[dict[str, Any], str]:
    """The event payload at `path` and a problem ("" when none).

    A missing, unreadable or malformed file is no crash: the payload is then `{}` and the
    problem says why, for a warning from whoever needs the payload.
    """
    if not path:
        return {}, "GITHUB_EVENT_PATH is not set"
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return {}, f"the event payload {path} could not be read ({type(error).__name__})"
    if not isinstance(payload, dict):
        return {}, f"the event payload {path} is not a JSON object"
    return payload, ""


def _pull_request_of_run(run: dict[str, Any], repository: str, head_sha: str) -> int | None:
    """The pull request a `workflow_run` was for: one of `pull_requests` whose base is this
    repository and whose head is the run's commit (the list holds pull requests of any
    repository whose head branch matches; GitHub lists none for a fork's)."""
    pulls = run.get("pull_requests")
    for pull in pulls if isinstance(pulls, list) else []:
        base_url = _text(_object(pull, "base", "repo"), "url")
        ours = bool(repository) and base_url.lower().endswith("/repos/" + repository.lower())
        number = pull.get("number") if isinstance(pull, dict) else None
        if ours and _text(_object(pull, "head"), "sha") == head_sha and isinstance(number, int):
            return number
    return None


def is_fork_pull_request(payload: Mapping[str, Any]) -> bool:
    """True when the payload is a pull request whose head lives in another repository.

    `pull_request` (and its kin): `head.repo.full_name` differs from `base.repo.full_name`, or
    the head repository is gone (a deleted fork). `workflow_run`: the run's `head_repository`
    differs from its `repository`. Anything else (push, tag, schedule…) is not a fork.
    """
    pull = payload.get("pull_request")
    if isinstance(pull, dict):
        head = _text(_object(pull, "head", "repo"), "full_name")
        base = _text(_object(pull, "base", "repo"), "full_name")
        return not head or head.lower() != base.lower()
    run = payload.get("workflow_run")
    if isinstance(run, dict) and run.get("event") in PULL_REQUEST_EVENTS:
        head = _text(_object(run, "head_repository"), "full_name")
        base = _text(_object(run, "repository"), "full_name")
        return not head or head.lower() != base.lower()
    return False


@dataclass(frozen=True)
class GitHubFeatures:
    """What the action's inputs ask of GitHub."""

    token: str
    status_check: bool = False
    check_run: bool = False
    comment: bool = False
    sha: str = ""  # overrides the commit the status / check run goes on
    context: str = ""  # overrides `hub-push/<executor name>`
    save_secret_as: str = ""  # PREFIX: store PREFIX_NAME and PREFIX_SECRET
    secret_token: str = ""  # saves them; empty: `token`
    #: `mode: status`: complete the check run a push left `in_progress`, not a new one.
    resume: bool = False
    #: The variant's tag suffix (`-gpu`): a variant has a status, check run and comment of its
    #: own (`hub-push/NAME-gpu`).
    variant: str = ""


@dataclass(frozen=True)
class GitHubContext:
    """The run's place on GitHub: API address, repository, run, event and commits.

    `sha` is `GITHUB_SHA` (on `pull_request` the merge commit GitHub made for the run);
    `head_sha` is the pull request's head commit, where a status belongs ("" off a PR).
    """

    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    repository: str = ""  # owner/name
    run_id: str = ""
    run_attempt: str = ""
    event_name: str = ""
    sha: str = ""
    pr_number: int | None = None
    head_sha: str = ""
    is_fork: bool = False
    actor: str = ""
    #: The git ref the run is for (`GITHUB_REF`: `refs/tags/v1.2.3`, `refs/heads/main`, …).
    ref: str = ""
    #: The workspace: `GITHUB_WORKSPACE` on the runner, else the current folder.
    workspace: Path = field(default_factory=Path.cwd)
    #: Inside a GitHub Actions job (`GITHUB_ACTIONS=true`).
    on_runner: bool = False
    #: Who opened the pull request (`pull_request.user.login`), when the event has one.
    pr_author: str = ""
    #: On `workflow_run`: the event and branch of the run that triggered this one.
    run_event: str = ""
    run_branch: str = ""
    #: Why the event payload could not be read ("" when it was, or none was needed).
    payload_problem: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GitHubContext:
        """Read the runner's variables and the event payload they point to."""
        payload, problem = read_event(environ.get("GITHUB_EVENT_PATH", ""))
        pr_number: int | None = None
        head_sha = author = run_event = run_branch = ""
        repository = environ.get("GITHUB_REPOSITORY", "")
        pull = payload.get("pull_request")
        run = payload.get("workflow_run")
        if isinstance(pull, dict):
            number = pull.get("number", payload.get("number"))
            pr_number = number if isinstance(number, int) else None
            head_sha = _text(_object(pull, "head"), "sha")
            author = _text(_object(pull, "user"), "login")
        elif isinstance(run, dict):  # a workflow_run after another workflow's run
            head_sha = _text(run, "head_sha")
            run_event, run_branch = _text(run, "event"), _text(run, "head_branch")
            pr_number = _pull_request_of_run(run, repository, head_sha)
        return cls(
            api_url=(environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            server_url=(environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
            repository=repository,
            run_id=environ.get("GITHUB_RUN_ID", ""),
            run_attempt=environ.get("GITHUB_RUN_ATTEMPT", ""),
            event_name=environ.get("GITHUB_EVENT_NAME", ""),
            sha=environ.get("GITHUB_SHA", ""),
            pr_number=pr_number,
            head_sha=head_sha,
            is_fork=is_fork_pull_request(payload),
            actor=environ.get("GITHUB_ACTOR", ""),
            ref=environ.get("GITHUB_REF", ""),
            workspace=Path(environ.get("GITHUB_WORKSPACE") or Path.cwd()),
            on_runner=environ.get("GITHUB_ACTIONS") == "true",
            pr_author=author,
            run_event=run_event,
            run_branch=run_branch,
            payload_problem=problem,
        )

    @property
    def is_bot(self) -> bool:
        """Dependabot's runs get a read-only token and no secrets, like a fork's. GitHub's
        restrictions follow `github.actor` (which a re-run keeps); on `pull_request_target`
        the pull request's author counts too."""
        if self.actor == DEPENDABOT:
            return True
        return self.event_name == "pull_request_target" and self.pr_author == DEPENDABOT

    @property
    def privileged(self) -> bool:
        """A run in the base repository's context with its secrets and a write token, even for
        a fork's pull request (`pull_request_target`, `workflow_run`)."""
        return self.event_name in ("pull_request_target", "workflow_run")

    def why_not_push(self, *, has_credential: bool) -> str:
        """Why this run must not push at all ("" when it may): a pull request from a fork
        (its code is never published), or one whose secrets GitHub withholds (Dependabot, or
        any with no credential)."""
        if self.is_fork and self.privileged:
            return (
                f"this {self.event_name} run is for a pull request from a fork, and hub-push "
                "never publishes a fork's code"
            )
        if self.is_fork:
            return "this pull request comes from a fork, whose runs get no secrets"
        if self.is_bot and not has_credential:
            return "Dependabot's pull requests get no secrets"
        if self.event_name in PULL_REQUEST_EVENTS and not has_credential:
            return "this pull request's run has no `token` or `name`/`secret`"
        return ""

    @property
    def tag_ref(self) -> str:
        """The git ref `tags: auto` derives tags from: the pull request's on
        `pull_request_target` (whose GITHUB_REF is the base branch), the triggering run's on
        `workflow_run`, else GITHUB_REF."""
        if self.event_name == "pull_request_target" and self.pr_number:
            return f"refs/pull/{self.pr_number}/merge"
        if self.event_name == "workflow_run":
            if self.run_event in PULL_REQUEST_EVENTS and self.pr_number:
                return f"refs/pull/{self.pr_number}/merge"
            if self.run_branch:
                return f"refs/heads/{self.run_branch}"
        return self.ref

    @property
    def target_sha(self) -> str:
        """The commit a status belongs on: the PR's head, else `GITHUB_SHA`."""
        return self.head_sha or self.sha

    @property
    def run_url(self) -> str:
        """The workflow run's page ("" when the runner's variables are missing)."""
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
