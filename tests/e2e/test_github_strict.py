"""The pull-request features through the entrypoint against the strict GitHub double: the
ways they broke on real GitHub (a summary over GitHub's byte limit, annotations doubled by a
retry, another repository's pull request, a fine-grained PAT's 403, endings GitHub has its own
words for). Hub answers come from the scripted hostile Hub or a local Hub."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import hostile_hub as hh
from support.github_api import FakeGitHub, github_api
from support.github_events import example, pull_request
from support.localhub_process import local_hub
from support.runner import ActionRun, run_action

MakeExecutor = Callable[..., Path]
TOKEN = "ghs_strict-github-token-0123456789"
JINA = "jina-token-0123456789"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def api() -> Iterator[FakeGitHub]:
    with github_api() as server:
        yield server


@pytest.fixture
def hub() -> Iterator[hh.HostileHub]:
    with hh.hostile_hub() as server:
        yield server


def run_on(
    api: FakeGitHub,
    folder: Path,
    hub_url: str,
    payload: dict[str, Any],
    *,
    event_name: str = "pull_request",
    repository: str = "o/r",
    interrupt_when: str = "",
    **inputs: str,
) -> ActionRun:
    event_file = folder.parent / "event.json"
    event_file.write_text(json.dumps(payload))
    return run_action(
        {
            "path": folder.name,
            "hub-url": hub_url,
            "token": JINA,
            "timeout": "60s",
            "github-token": TOKEN,
            **inputs,
        },
        workspace=folder.parent,
        env={
            "GITHUB_API_URL": api.api_url,
            "GITHUB_REPOSITORY": repository,
            "GITHUB_RUN_ID": "42",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_SHA": "b" * 40,
            "GITHUB_EVENT_PATH": str(event_file),
        },
        timeout=100,
        interrupt_when=interrupt_when,
    )


def completed(api: FakeGitHub) -> dict[str, Any]:
    (run,) = api.check_runs.values()
    assert run["status"] == "completed", run
    return run


def test_a_summary_of_70000_characters_with_emoji_completes_the_check_run(
    api: FakeGitHub, hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("user.identity.whoami", hh.whoami())
    hub.script("executor.push", hh.push_ok())
    hub.script("executor.queryProgress", hh.progress("failed", log_lines=30, line="🚧" * 2400))
    run = run_on(api, make_executor(), hub.url, pull_request(), **{"check-run": "true"})
    assert run.outputs["build-status"] == "failed"
    assert len(run.summary) > 70_000  # the step summary has it all
    sent = [r.json["output"]["summary"] for r in api.requests if r.method == "PATCH"]
    assert sent and all(len(s.encode("utf-8")) <= 65535 for s in sent)
    assert sent[0].endswith("(cut to GitHub's size limit)")
    assert completed(api)["conclusion"] == "failure"


def test_a_502_after_an_annotation_update_leaves_each_annotation_once(
    api: FakeGitHub, make_executor: MakeExecutor
) -> None:
    folder = make_executor(config="jtype: Nope\npy_modules: [executor.py]\nmetas:\n  name: X\n")
    api.fail_after_applying("/repos/o/r/check-runs/*", method="PATCH")
    run = run_on(api, folder, "http://127.0.0.1:9", pull_request(), **{"check-run": "true"})
    assert run.outputs["build-status"] == "preflight-failed"
    run_state = completed(api)
    assert run_state["conclusion"] == "failure"
    assert len(run_state["annotations"]) == 1  # applied once, never sent again
    patches = [r for r in api.requests if r.method == "PATCH"]
    assert len(patches) == 1
    assert any("had taken the update" in w for w in run.annotations("warning"))


def test_a_workflow_run_listing_another_repositorys_pull_request_comments_nowhere(
    api: FakeGitHub, shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    payload = example("workflow_run")  # octo-org/octo-repo, listing Codertocat/Hello-World#2
    run = run_on(
        api,
        make_executor(),
        shared_hub.url,
        payload,
        event_name="workflow_run",
        repository="octo-org/octo-repo",
        token=alice,
        comment="true",
    )
    assert run.returncode == 0, run.log
    assert not [r for r in api.requests if "/comments" in r.path]
    (notice,) = [n for n in run.annotations("notice") if "no comment" in n]
    assert "No pull request of this repository" in notice


def test_a_fine_grained_pats_403_on_check_runs_is_one_warning_and_the_outputs_stand(
    api: FakeGitHub, shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    api.refuse_fine_grained_pat("/repos/o/r/check-runs")
    run = run_on(
        api, make_executor(), shared_hub.url, pull_request(), token=alice, **{"check-run": "true"}
    )
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "succeeded"
    (warning,) = [w for w in run.annotations("warning") if "check run" in w]
    assert "personal access token" in warning and "never can" in warning


def test_a_timed_out_run_ends_its_check_run_timed_out(
    api: FakeGitHub, users: dict[str, str], tmp_path: Path, make_executor: MakeExecutor
) -> None:
    with local_hub(tmp_path / "slow", users=users, build_seconds=30) as hub:
        run = run_on(
            api,
            make_executor(),
            hub.url,
            pull_request(),
            token=users["alice"],
            timeout="3s",
            **{"check-run": "true"},
        )
    assert run.outputs["build-status"] == "timeout"
    assert completed(api)["conclusion"] == "timed_out"


def test_a_cancelled_run_ends_its_check_run_cancelled(
    api: FakeGitHub, users: dict[str, str], tmp_path: Path, make_executor: MakeExecutor
) -> None:
    with local_hub(tmp_path / "slow", users=users, build_seconds=30) as hub:
        run = run_on(
            api,
            make_executor(),
            hub.url,
            pull_request(),
            token=users["alice"],
            interrupt_when="::group::Build",
            **{"check-run": "true"},
        )
    assert run.returncode == 1
    assert run.outputs["build-status"] == "cancelled"
    assert completed(api)["conclusion"] == "cancelled"


def test_a_failure_after_the_check_run_was_created_still_completes_it(
    api: FakeGitHub, make_executor: MakeExecutor
) -> None:
    run = run_on(
        api, make_executor(), "http://127.0.0.1:9", pull_request(), **{"check-run": "true"}
    )
    assert run.returncode == 1
    assert run.outputs["build-status"] in ("error", "timeout")
    assert [r.json["status"] for r in api.requests if r.method == "POST"] == ["in_progress"]
    assert completed(api)["conclusion"] in ("failure", "timed_out")


def test_wait_false_leaves_the_status_pending_and_the_check_run_in_progress(
    api: FakeGitHub, shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    run = run_on(
        api,
        make_executor(),
        shared_hub.url,
        pull_request(),
        token=alice,
        wait="false",
        **{"check-run": "true", "status-check": "true"},
    )
    assert run.outputs["build-status"] == "pending"
    assert [s["state"] for s in api.statuses] == ["pending", "pending"]
    (check,) = api.check_runs.values()
    assert check["status"] == "in_progress"


def test_a_merge_group_run_that_would_push_is_an_input_error(
    api: FakeGitHub, hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    run = run_on(api, make_executor(), hub.url, example("merge_group"), event_name="merge_group")
    assert run.outputs["build-status"] == "invalid"
    (error,) = run.annotations()
    assert "Input `dry-run`: is false on a `merge_group` run" in error
    assert hub.requests == []
