"""The GitHub side of a run (status, check run, comment, saved SECRET), through PyGithub over
real HTTP against a stand-in for the GitHub REST API (`support.github_api`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from hub_push.deadline import Deadline
from hub_push.github import (
    DESCRIPTION_LIMIT,
    SUMMARY_BYTES,
    Annotation,
    Limits,
    PullRequestReporter,
    commit_state,
    marker,
)
from hub_push.github_context import GitHubContext, GitHubFeatures, is_fork_pull_request
from hub_push.hub.models import ExecutorResult
from hub_push.outcome import Outcome
from support.github_api import FakeGitHub, github_api
from support.github_events import example, pull_request

HEAD_SHA = "a" * 40  # the pull request's head commit
MERGE_SHA = "b" * 40  # the merge commit GitHub makes for the run (GITHUB_SHA)
TOKEN = "ghs_github-token-0123456789"
SECRET = "first-publish-SECRET-9876543210"
FAST = Limits(
    request_timeout=5, retries=2, backoff_factor=0.05, backoff_max=0.2, seconds_between_writes=0
)
STATUSES = f"/repos/o/r/statuses/{HEAD_SHA}"
COMMENTS = "/repos/o/r/issues/7/comments"
RUN_URL = "https://github.example/o/r/actions/runs/42"


@pytest.fixture
def api() -> Iterator[FakeGitHub]:
    with github_api() as server:
        yield server


@pytest.fixture
def warnings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[], list[str]]:
    """The `::warning` commands printed so far (as the runner would read them)."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    def read() -> list[str]:
        return [
            line for line in capsys.readouterr().out.splitlines() if line.startswith("::warning")
        ]

    return read


def payload(head_repo: str | None = "o/r", base_repo: str = "o/r") -> dict[str, Any]:
    """octokit's `pull_request` example (a real payload's shape), as pull request 7 of
    `base_repo` from `head_repo` (None: a deleted fork), head and merge commit set."""
    event = pull_request(7, head_sha=HEAD_SHA, head_repo=head_repo, base_repo=base_repo)
    event["pull_request"]["merge_commit_sha"] = MERGE_SHA
    return event


def run_of(event: str, head_repository: str, repository: str = "o/r") -> dict[str, Any]:
    """octokit's `workflow_run` example, after a run of `event` from `head_repository`."""
    payload = example("workflow_run")
    payload["workflow_run"]["event"] = event
    payload["workflow_run"]["head_repository"]["full_name"] = head_repository
    payload["workflow_run"]["repository"]["full_name"] = repository
    return payload


def environ(
    api: FakeGitHub, tmp_path: Path, event: dict[str, Any], name: str = "pull_request"
) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return {
        "GITHUB_API_URL": api.api_url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "42",
        "GITHUB_EVENT_NAME": name,
        "GITHUB_SHA": MERGE_SHA,
        "GITHUB_EVENT_PATH": str(path),
    }


def pr_context(api: FakeGitHub, **changes: Any) -> GitHubContext:
    values: dict[str, Any] = {
        "api_url": api.api_url,
        "server_url": "https://github.example",
        "repository": "o/r",
        "run_id": "42",
        "event_name": "pull_request",
        "sha": MERGE_SHA,
        "pr_number": 7,
        "head_sha": HEAD_SHA,
    }
    return GitHubContext(**{**values, **changes})


def reporter(
    where: GitHubContext, *, seconds: float = 10, limits: Limits = FAST, **features: Any
) -> PullRequestReporter:
    return PullRequestReporter(
        GitHubFeatures(token=TOKEN, **features),
        where,
        deadline=Deadline(time.monotonic() + seconds),
        limits=limits,
    )


def outcome(status: str = "succeeded", **changes: Any) -> Outcome:
    done = Outcome(status=cast(Any, status), task_id="t-1", **changes)
    done.record_executor(
        ExecutorResult(id="ab12cd34", name="Hello", visibility="public", tags=("v1",))
    )
    return done


# -- commit status ------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_the_status_goes_on_the_head_sha_not_the_merge_sha(api: FakeGitHub, tmp_path: Path) -> None:
    context = GitHubContext.from_environ(environ(api, tmp_path, payload()))
    assert (context.head_sha, context.sha, context.pr_number) == (HEAD_SHA, MERGE_SHA, 7)
    run = reporter(context, status_check=True)
    run.started("Hello")
    run.finished(outcome(), markdown="| a | b |")

    assert [(s["sha"], s["state"]) for s in api.statuses] == [
        (HEAD_SHA, "pending"),
        (HEAD_SHA, "success"),
    ]
    assert not [r for r in api.requests if MERGE_SHA in r.path]
    for status in api.statuses:
        assert status["context"] == "hub-push/Hello"
        assert status["target_url"] == RUN_URL
        assert 0 < len(status["description"]) <= DESCRIPTION_LIMIT
    assert api.statuses[1]["description"] == "Published Hello to Jina Hub (task t-1)"
    assert not api.seen("GET", "/repos/o/r")  # lazy: only the writes


@pytest.mark.timeout(10)
def test_a_failure_is_one_short_line_and_the_sha_input_and_context_override(
    api: FakeGitHub,
) -> None:
    context = pr_context(api, event_name="push", pr_number=None, head_sha="")
    run = reporter(context, status_check=True, sha="d" * 40, context="ci/hub")
    error = "the build failed:\n" + "Step 3/7 RUN pip install -r requirements.txt " * 20
    run.finished(outcome("failed", error=error))

    (status,) = api.statuses
    assert (status["sha"], status["state"], status["context"]) == ("d" * 40, "failure", "ci/hub")
    assert DESCRIPTION_LIMIT - 10 < len(status["description"]) <= DESCRIPTION_LIMIT
    assert "\n" not in status["description"]
    assert status["description"].startswith(
        "Hello was pushed, but its build on Jina Hub failed (task t-1): the build"
    )
    assert status["description"].endswith("…")


@pytest.mark.timeout(10)
def test_a_push_event_reports_on_github_sha(api: FakeGitHub, tmp_path: Path) -> None:
    context = GitHubContext.from_environ(
        environ(api, tmp_path, {"ref": "refs/tags/v1"}, name="push")
    )
    reporter(context, status_check=True).finished(outcome("dry-run"))
    assert [(s["sha"], s["state"]) for s in api.statuses] == [(MERGE_SHA, "success")]


@pytest.mark.parametrize(
    ("build_status", "state"),
    [
        ("succeeded", "success"),
        ("pending", "pending"),
        ("dry-run", "success"),
        ("failed", "failure"),
        ("preflight-failed", "failure"),
        ("refused", "failure"),
        ("timeout", "failure"),
        ("error", "error"),
        ("cancelled", "error"),
        ("invalid", "error"),
        ("skipped", "success"),
        ("something-new", "error"),
    ],
)
def test_build_status_to_commit_state(build_status: str, state: str) -> None:
    assert commit_state(build_status) == state


# -- check run ----------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_a_check_run_is_created_then_completed_with_its_annotations(api: FakeGitHub) -> None:
    run = reporter(pr_context(api), check_run=True)
    run.started("Hello")
    problems = [Annotation("exec/config.yml", n, f"problem {n}", "failure") for n in range(1, 121)]
    problems.append(Annotation("exec/requirements.txt", None, "no line", "warning", title="Pin it"))
    run.finished(
        outcome("preflight-failed", error="config.yml: bad"),
        markdown="x" * 70_000,
        annotations=problems,
    )

    (created,) = api.seen("POST", "/repos/o/r/check-runs")
    assert created.json["status"] == "in_progress"
    assert (created.json["head_sha"], created.json["name"]) == (HEAD_SHA, "hub-push/Hello")
    assert created.json["details_url"] == RUN_URL
    patches = api.seen("PATCH", f"/repos/o/r/check-runs/{api.check_runs.popitem()[0]}")
    assert [len(p.json["output"]["annotations"]) for p in patches] == [50, 50, 21]
    first = patches[0].json
    assert (first["status"], first["conclusion"]) == ("completed", "failure")
    assert first["output"]["title"].startswith("Hello would fail Jina Hub's build check")
    assert len(first["output"]["summary"]) <= SUMMARY_BYTES
    assert first["output"]["annotations"][0] == {
        "path": "exec/config.yml",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "failure",
        "message": "problem 1",
    }
    last = patches[-1].json["output"]["annotations"][-1]
    assert (last["start_line"], last["annotation_level"], last["title"]) == (1, "warning", "Pin it")


@pytest.mark.timeout(10)
def test_without_a_start_the_check_run_is_created_completed(api: FakeGitHub) -> None:
    reporter(pr_context(api), check_run=True).finished(outcome(), markdown="## ok")
    (created,) = api.seen("POST", "/repos/o/r/check-runs")
    assert (created.json["status"], created.json["conclusion"]) == ("completed", "success")
    assert created.json["output"]["summary"] == "## ok"
    assert not api.seen("PATCH")


# -- the comment --------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_one_comment_per_executor_edited_in_place_across_runs(api: FakeGitHub) -> None:
    for n in range(120):  # people talk first: the marker is found on the second page
        api.comments[n + 1] = {"id": n + 1, "issue": 7, "body": f"comment {n}"}
    for markdown in ("| run | 1 |", "| run | 2 |"):
        for name in ("Hello", "World"):  # a matrix: one job per executor
            run = reporter(pr_context(api), comment=True)
            run.started(name)
            run.finished(outcome(), markdown=f"{name} {markdown}")

    ours = [c for c in api.issue_comments(7) if c["body"].startswith("<!-- hub-push:")]
    assert [c["body"] for c in ours] == [
        f"{marker('Hello')}\nHello | run | 2 |",
        f"{marker('World')}\nWorld | run | 2 |",
    ]
    assert marker("Hello") == "<!-- hub-push:Hello -->"
    assert len(api.seen("POST", COMMENTS)) == 2
    assert len(api.seen("PATCH")) == 2


@pytest.mark.timeout(10)
def test_no_comment_off_a_pull_request(api: FakeGitHub, warnings: Callable[[], list[str]]) -> None:
    reporter(pr_context(api, pr_number=None), comment=True).finished(outcome())
    assert api.requests == []
    assert warnings() == []


# -- failures on GitHub's side are warnings -----------------------------------------------


@pytest.mark.timeout(10)
def test_a_403_on_a_fork_becomes_one_warning_per_feature(
    api: FakeGitHub, tmp_path: Path, warnings: Callable[[], list[str]]
) -> None:
    context = GitHubContext.from_environ(environ(api, tmp_path, payload(head_repo="fork/r")))
    assert context.is_fork
    api.forbid(STATUSES, times=10)
    api.forbid(COMMENTS, times=10)
    run = reporter(context, status_check=True, comment=True)
    run.started("Hello")
    run.finished(outcome("dry-run"), markdown="table")

    found = warnings()
    assert len(found) == 2, found
    assert "commit status" in found[0]
    assert "403" in found[0]
    assert "statuses: write" in found[0]
    assert "fork" in found[0]
    assert "comment" in found[1]
    assert "pull-requests: write" in found[1]
    assert len(api.seen("POST", STATUSES)) == 1  # refused for good: not retried, not tried again


@pytest.mark.timeout(10)
def test_server_errors_are_retried_then_become_a_warning(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    api.fail(STATUSES, times=2, status=502)
    reporter(pr_context(api), status_check=True).finished(outcome())
    assert [s["state"] for s in api.statuses] == ["success"]  # third time lucky
    assert warnings() == []

    api.fail(STATUSES, times=100)
    reporter(pr_context(api), status_check=True).finished(outcome())
    (warning,) = warnings()
    assert "commit status" in warning
    assert "500" in warning
    assert len(api.seen("POST", STATUSES)) == 3 + 1 + FAST.retries


@pytest.mark.timeout(10)
def test_a_comment_is_not_posted_twice_after_a_5xx(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    api.answer(COMMENTS, 500, method="POST", times=5, body={"message": "Server Error"})
    reporter(pr_context(api), comment=True).finished(outcome())
    (warning,) = warnings()
    assert "comment" in warning
    assert len(api.seen("POST", COMMENTS)) == 1  # GitHub may have made it: no second one


@pytest.mark.timeout(10)
def test_malformed_json_becomes_a_warning(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    api.answer(COMMENTS, 200, body=b"{this is not json", times=5)
    reporter(pr_context(api), comment=True).finished(outcome())
    (warning,) = warnings()
    assert "GitHub comment" in warning


@pytest.mark.timeout(10)
def test_no_token_or_no_time_left_is_a_warning_without_requests(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    PullRequestReporter(
        GitHubFeatures(token="", status_check=True),
        pr_context(api),
        deadline=Deadline(time.monotonic() + 10),
    ).finished(outcome())
    reporter(pr_context(api), seconds=-1, status_check=True).finished(outcome())
    first, second = warnings()
    assert "github-token" in first
    assert "deadline" in second
    assert api.requests == []


# -- rate limits --------------------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "refusal",
    [
        {"status": 429, "retry_after": 1},
        {"status": 403, "retry_after": 1, "secondary": True},
        {"status": 403, "reset_in": 1},  # primary: remaining 0 until the reset
    ],
    ids=["429-retry-after", "403-secondary-retry-after", "403-primary-reset"],
)
def test_a_rate_limit_is_waited_out_within_the_deadline(
    api: FakeGitHub, warnings: Callable[[], list[str]], refusal: dict[str, Any]
) -> None:
    api.rate_limit(STATUSES, **refusal)
    began = time.monotonic()
    reporter(pr_context(api), seconds=6, status_check=True).finished(outcome())
    assert time.monotonic() - began < 3
    assert [s["state"] for s in api.statuses] == ["success"]
    assert [r.status for r in api.seen("POST", STATUSES)] == [refusal["status"], 201]
    assert warnings() == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "refusal",
    [
        {"status": 429, "retry_after": 30},
        {"status": 403, "reset_in": 600},
        {"status": 403, "secondary": True},  # no Retry-After: GitHub asks for a minute
    ],
    ids=["429-retry-after", "403-primary-reset", "403-secondary"],
)
def test_a_rate_limit_past_the_deadline_is_given_up_at_once(
    api: FakeGitHub, warnings: Callable[[], list[str]], refusal: dict[str, Any]
) -> None:
    api.rate_limit(STATUSES, **refusal)
    began = time.monotonic()
    reporter(pr_context(api), seconds=3, status_check=True).finished(outcome())
    assert time.monotonic() - began < 1.5
    assert api.statuses == []
    (warning,) = warnings()
    assert "commit status" in warning
    assert "would pass the deadline" in warning


@pytest.mark.timeout(10)
def test_a_rate_limit_that_never_lifts_is_a_warning_after_the_retries(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    api.rate_limit(STATUSES, retry_after=0, times=100)
    reporter(pr_context(api), status_check=True).finished(outcome())
    (warning,) = warnings()
    assert "rate limit" in warning
    assert "statuses: write" not in warning  # not a permission problem
    assert len(api.seen("POST", STATUSES)) == 1 + FAST.retries


@pytest.mark.timeout(10)
def test_a_slow_github_is_cut_off_by_the_timeout_and_the_deadline(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    api.answer(STATUSES, 201, body={}, delay=3, times=10)
    began = time.monotonic()
    slow = Limits(request_timeout=5, retries=2, backoff_factor=0, seconds_between_writes=0)
    reporter(pr_context(api), seconds=1.5, limits=slow, status_check=True).finished(outcome())
    # The timeout is the time left (1 s, not 5): one try, a retry, then the deadline stops it.
    assert time.monotonic() - began < 2.5
    (warning,) = warnings()
    assert "commit status" in warning
    assert "deadline" in warning


# -- the SECRET, and no secret anywhere else ----------------------------------------------


@pytest.mark.timeout(10)
def test_the_first_publish_secret_is_saved_sealed(api: FakeGitHub) -> None:
    first = outcome(secret=SECRET)
    run = reporter(pr_context(api), save_secret_as="HELLO_HUB")
    assert run.save_secret(first) == ["HELLO_HUB_NAME", "HELLO_HUB_SECRET"]
    assert run.finished(first) == ["HELLO_HUB_NAME", "HELLO_HUB_SECRET"]  # saved once
    assert api.decrypt_secret("HELLO_HUB_SECRET") == SECRET
    assert api.decrypt_secret("HELLO_HUB_NAME") == "Hello"
    puts = api.seen("PUT")
    assert [p.path.rsplit("/", 1)[1] for p in puts] == ["HELLO_HUB_NAME", "HELLO_HUB_SECRET"]
    assert all(set(p.json) == {"key_id", "encrypted_value"} for p in puts)


@pytest.mark.timeout(10)
def test_nothing_to_save_without_a_secret_and_a_bad_prefix_is_a_warning(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    assert reporter(pr_context(api), save_secret_as="HUB").finished(outcome()) == []
    assert (
        reporter(pr_context(api), save_secret_as="GITHUB_X").finished(outcome(secret=SECRET)) == []
    )
    (warning,) = warnings()
    assert "save-secret-as" in warning
    assert api.requests == []


@pytest.mark.timeout(10)
def test_a_token_without_secrets_permission_gets_a_warning(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    api.forbid("/repos/o/r/actions/secrets/public-key")
    assert reporter(pr_context(api), save_secret_as="HUB").finished(outcome(secret=SECRET)) == []
    (warning,) = warnings()
    assert "save-secret-as" in warning
    assert "PAT" in warning
    assert SECRET not in warning


@pytest.mark.timeout(10)
def test_no_secret_value_in_any_request_body_but_the_sealed_one(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    leaky = f"token {TOKEN} and SECRET {SECRET}"  # a careless caller, and an error quoting both
    done = outcome("failed", error=leaky, secret=SECRET)
    run = reporter(
        pr_context(api), status_check=True, check_run=True, comment=True, save_secret_as="HUB"
    )
    run.started("Hello")
    run.finished(done, markdown=f"## {leaky}", annotations=[Annotation("a.py", 3, leaky)])

    assert {r.path.rsplit("/", 1)[-1] for r in api.requests} >= {
        "HUB_SECRET",
        "check-runs",
        "comments",
    }
    for request in api.requests:
        assert TOKEN.encode() not in request.raw
        assert SECRET.encode() not in request.raw
        assert request.headers["authorization"] == f"token {TOKEN}"
    assert api.decrypt_secret("HUB_SECRET") == SECRET
    assert "***" in api.statuses[-1]["description"]
    assert warnings() == []


# -- where the run is ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "fork"),
    [
        (payload(), False),
        (payload(head_repo="O/R"), False),  # GitHub names are case-insensitive
        (payload(head_repo="someone/r"), True),
        (payload(head_repo=None), True),  # the fork was deleted
        ({"ref": "refs/tags/v1"}, False),
        (run_of("pull_request", "x/r"), True),
        (run_of("push", "o/r"), False),
    ],
)
def test_fork_detection_from_the_payload(event: dict[str, Any], fork: bool) -> None:
    assert is_fork_pull_request(event) is fork


def test_a_missing_or_broken_payload_is_no_crash(tmp_path: Path) -> None:
    broken = tmp_path / "event.json"
    broken.write_text("{not json", encoding="utf-8")
    for path in ("", str(tmp_path / "missing.json"), str(broken)):
        context = GitHubContext.from_environ({"GITHUB_EVENT_PATH": path, "GITHUB_SHA": MERGE_SHA})
        assert (context.is_fork, context.pr_number, context.target_sha) == (False, None, MERGE_SHA)
        assert context.payload_problem
        assert context.api_url == "https://api.github.com"
        assert context.run_url == ""


def context_on(
    event_name: str, payload: dict[str, Any], tmp_path: Path, **env: str
) -> GitHubContext:
    path = tmp_path / f"{event_name}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return GitHubContext.from_environ(
        {"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(path), **env}
    )


def test_a_workflow_run_never_takes_another_repositorys_pull_request(tmp_path: Path) -> None:
    """octokit's own example: a run in octo-org/octo-repo whose `pull_requests` lists
    Codertocat/Hello-World#2 (same branch name, another repository)."""
    payload = example("workflow_run")
    assert payload["repository"]["full_name"] == "octo-org/octo-repo"
    assert payload["workflow_run"]["pull_requests"][0]["number"] == 2
    context = context_on("workflow_run", payload, tmp_path, GITHUB_REPOSITORY="octo-org/octo-repo")
    assert context.pr_number is None  # not #2 of octo-org/octo-repo


def test_a_workflow_run_reports_on_its_own_pull_requests_head(tmp_path: Path) -> None:
    payload = example("workflow_run")
    run = payload["workflow_run"]
    run["event"] = "pull_request"
    pull = run["pull_requests"][0]
    pull["base"]["repo"]["url"] = "https://ghe.example/api/v3/repos/octo-org/octo-repo"
    pull["head"]["sha"] = run["head_sha"]
    context = context_on(
        "workflow_run",
        payload,
        tmp_path,
        GITHUB_REPOSITORY="octo-org/octo-repo",
        GITHUB_SHA=MERGE_SHA,
        GITHUB_API_URL="https://ghe.example/api/v3/",
    )
    assert (context.target_sha, context.pr_number) == (run["head_sha"], 2)
    assert context.tag_ref == "refs/pull/2/merge"  # `tags: auto` follows the triggering run
    assert context.api_url == "https://ghe.example/api/v3"


def test_pull_request_target_is_told_apart_from_a_forks_pull_request(tmp_path: Path) -> None:
    payload = example("pull_request")
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/Hello-World"
    payload["pull_request"]["user"]["login"] = "dependabot[bot]"
    target = context_on("pull_request_target", payload, tmp_path, GITHUB_REF="refs/heads/master")
    why = target.why_not_push(has_credential=True)
    assert "never publishes a fork's code" in why and "get no secrets" not in why
    assert target.is_bot  # Dependabot, by the pull request's author
    assert target.tag_ref == f"refs/pull/{payload['number']}/merge"  # not the base branch
    plain = context_on("pull_request", payload, tmp_path)
    assert "whose runs get no secrets" in plain.why_not_push(has_credential=True)


@pytest.mark.timeout(10)
def test_an_unreadable_payload_on_a_pull_request_warns_and_uses_github_sha(
    api: FakeGitHub, warnings: Callable[[], list[str]]
) -> None:
    env = {"GITHUB_API_URL": api.api_url, "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": MERGE_SHA}
    context = GitHubContext.from_environ({**env, "GITHUB_EVENT_NAME": "pull_request"})
    run = reporter(context, status_check=True)
    run.started("Hello")
    run.finished(outcome())
    assert [s["sha"] for s in api.statuses] == [MERGE_SHA, MERGE_SHA]
    (warning,) = warnings()
    assert "GITHUB_EVENT_PATH is not set" in warning
