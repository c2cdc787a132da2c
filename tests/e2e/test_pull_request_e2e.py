"""Pull requests end to end: the entrypoint as the runner runs it on a `pull_request` event
(an event payload file, GITHUB_* variables), the local Hub over HTTP, and PyGithub over HTTP
against the stand-in GitHub API (`support.github_api`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub_push.outputs import OUTPUT_NAMES
from support.github_api import FakeGitHub, github_api
from support.github_events import pull_request
from support.runner import ActionRun, run_action

MakeExecutor = Callable[..., Path]
HEAD_SHA = "a" * 40
MERGE_SHA = "b" * 40
GITHUB_TOKEN = "ghs_e2e-github-token-0123456789"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["/api/v3", ""], ids=["ghes-layout", "api.github.com-layout"])
def api(request: pytest.FixtureRequest) -> Iterator[FakeGitHub]:
    """The strict GitHub double, at GitHub Enterprise Server's `/api/v3` and at the root."""
    with github_api(prefix=request.param) as server:
        yield server


def event(head_repo: str = "o/r", number: int = 7) -> dict[str, Any]:
    """octokit's `pull_request` example, on pull request `number` of o/r from `head_repo`."""
    return pull_request(number, head_sha=HEAD_SHA, head_repo=head_repo)


def run_on(
    api: FakeGitHub,
    folder: Path,
    hub_url: str,
    payload: dict[str, Any],
    event_name: str = "pull_request",
    **inputs: str,
) -> ActionRun:
    event_file = folder.parent / f"event-{event_name}.json"
    event_file.write_text(json.dumps(payload))
    env = {
        "GITHUB_API_URL": api.api_url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "42",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_SHA": MERGE_SHA,
        "GITHUB_EVENT_PATH": str(event_file),
    }
    return run_action(
        {
            "path": folder.name,
            "hub-url": hub_url,
            "timeout": "60s",
            "github-token": GITHUB_TOKEN,
            **inputs,
        },
        workspace=folder.parent,
        env=env,
        timeout=100,
    )


def test_a_pull_request_gets_a_status_on_its_head_and_one_living_comment(
    api: FakeGitHub, shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    for _ in range(2):
        run = run_on(
            api,
            folder,
            shared_hub.url,
            event(),
            token=alice,
            **{"status-check": "true"},
            comment="true",
        )
        assert run.returncode == 0, run.log
        assert run.outputs["build-status"] == "succeeded"
    states = [(s["sha"], s["state"], s["context"]) for s in api.statuses]
    context = f"hub-push/{folder.name}"
    assert states == [(HEAD_SHA, "pending", context), (HEAD_SHA, "success", context)] * 2
    assert not [r for r in api.requests if MERGE_SHA in r.path]
    assert all(
        s["target_url"] == "https://github.example/o/r/actions/runs/42" for s in api.statuses
    )
    (comment,) = api.issue_comments(7)  # two runs, one comment, edited in place
    assert comment["body"].startswith(f"<!-- hub-push:{folder.name} -->")
    assert "| Build status | <code>succeeded</code> |" in comment["body"]
    assert not [r for r in api.requests if GITHUB_TOKEN.encode() in r.raw]


def test_a_pull_request_from_a_fork_pushes_nothing(
    api: FakeGitHub, shared_hub: Any, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    run = run_on(
        api, folder, shared_hub.url, event(head_repo="stranger/r"), **{"status-check": "true"}
    )
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "dry-run"
    assert run.outputs["task-id"] == ""
    (notice,) = run.annotations("notice")[:1]
    assert "comes from a fork" in notice
    assert "Upload" not in run.log  # never uploaded
    assert [s["state"] for s in api.statuses] == ["pending", "success"]
    # The Inputs table shows the inputs as given; the plan's decision is a remark.
    assert "| dry-run | false |" in run.summary
    assert (
        "Run as a dry run (the `dry-run` input is false): this pull request comes from a fork"
        in (run.summary)
    )


def test_github_refusing_is_a_warning_and_the_push_stands(
    api: FakeGitHub, shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    api.forbid(f"/repos/o/r/statuses/{HEAD_SHA}", times=10)
    api.fail("/repos/o/r/issues/7/comments", times=10)
    folder = make_executor()
    run = run_on(
        api,
        folder,
        shared_hub.url,
        event(),
        token=alice,
        **{"status-check": "true"},
        comment="true",
    )
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "succeeded"
    warnings = run.annotations("warning")
    assert any("status" in w for w in warnings) and any("comment" in w for w in warnings)
    assert not run.annotations("error")


def test_the_first_publish_secret_is_saved_as_repository_secrets(
    api: FakeGitHub, shared_hub: Any, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    run = run_on(
        api,
        folder,
        shared_hub.url,
        {"ref": "refs/heads/main"},
        event_name="push",
        **{"save-secret-as": "HELLO", "allow-anonymous": "true"},
    )
    assert run.returncode == 0, run.log
    secret = run.outputs["secret"]
    assert secret
    assert api.decrypt_secret("HELLO_SECRET") == secret
    assert api.decrypt_secret("HELLO_NAME") == folder.name
    assert "`HELLO_NAME`, `HELLO_SECRET`" in run.summary  # names only
    assert secret not in run.summary
    for request in api.requests:
        assert secret.encode() not in request.raw  # only ever sent encrypted
        assert GITHUB_TOKEN.encode() not in request.raw


def test_a_cancel_while_the_reporters_run_keeps_every_output_and_exits_non_zero(
    api: FakeGitHub, shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    """SIGTERM after the flow ended (while GitHub is slow to answer): no traceback, every
    output written as the run ended (`succeeded` stays), exit 1, and one error saying so."""
    folder = make_executor()
    api.answer("/repos/o/r/issues/7/comments", 200, method="GET", body=b"[]", delay=3)
    payload = event()
    event_file = folder.parent / "event.json"
    event_file.write_text(json.dumps(payload))
    run = run_action(
        {
            "path": folder.name,
            "hub-url": shared_hub.url,
            "token": alice,
            "timeout": "60s",
            "github-token": GITHUB_TOKEN,
            "comment": "true",
        },
        workspace=folder.parent,
        env={
            "GITHUB_API_URL": api.api_url,
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_RUN_ID": "42",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_SHA": MERGE_SHA,
            "GITHUB_EVENT_PATH": str(event_file),
        },
        timeout=100,
        interrupt_when="::group::Result",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert set(run.outputs) == set(OUTPUT_NAMES)
    assert run.outputs["build-status"] == "succeeded"
    assert run.outputs["task-id"]
    assert "Cancelled by signal SIGTERM after the run ended `succeeded`" in run.stdout
    assert run.summary.startswith("## ✅ Published")


def test_a_secret_that_cannot_be_saved_fails_the_step_and_the_outputs_stay_true(
    api: FakeGitHub, shared_hub: Any, make_executor: MakeExecutor
) -> None:
    """GITHUB_TOKEN cannot write secrets (403): the executor exists and its SECRET is only in
    the masked output, so the step fails with the way to recover it; the outputs are true."""
    api.forbid("/repos/o/r/actions/secrets/public-key", times=5)
    folder = make_executor()
    run = run_on(
        api,
        folder,
        shared_hub.url,
        {"ref": "refs/heads/main"},
        event_name="push",
        **{"save-secret-as": "HELLO", "allow-anonymous": "true"},
    )
    assert run.returncode == 1
    assert run.outputs["build-status"] == "succeeded"
    secret = run.outputs["secret"]
    assert secret
    (error,) = run.annotations("error")
    assert "its SECRET could not be saved as the repository secrets HELLO_NAME and" in error
    assert "gh secret set HELLO_SECRET" in error
    assert "Do not rerun this job" in error
    shown = [line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")]
    assert secret not in "\n".join(shown) + run.summary
    assert "[!CAUTION]" in run.summary
    assert "Keep the SECRET" in run.summary  # ...and how, from the next step
