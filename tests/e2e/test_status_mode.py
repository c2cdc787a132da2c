"""`mode: status` (`jina hub status` for workflows), and a push whose answer was lost: through
the entrypoint against a local Hub, with the hostile Hub as a gateway that damages answers
after the Hub took the push."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import hostile_hub as hh
from support.github_api import github_api
from support.github_events import pull_request
from support.localhub_process import LocalHub, local_hub
from support.runner import ActionRun, push_folder

MakeExecutor = Callable[..., Path]
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def slow_hub(tmp_path: Path, users: dict[str, str]) -> Iterator[LocalHub]:
    with local_hub(tmp_path / "hub", users=users, build_seconds=2) as hub:
        yield hub


def act(folder: Path, hub_url: str, env: dict[str, str] | None = None, **inputs: str) -> ActionRun:
    return push_folder(folder, hub_url, env, limit="60s", **inputs)


def test_a_push_without_waiting_then_a_status_run_with_its_task_id(
    slow_hub: LocalHub, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    pushed = act(folder, slow_hub.url, token=alice, wait="false")
    assert pushed.outputs["build-status"] == "pending"
    task = pushed.outputs["task-id"]
    followed = act(folder, slow_hub.url, token=alice, mode="status", **{"task-id": task})
    assert followed.returncode == 0, followed.log
    assert followed.outputs["build-status"] == "succeeded"
    assert followed.outputs["task-id"] == task
    assert followed.outputs["executor-id"] and followed.outputs["uses"]
    assert "::group::Upload" not in followed.log  # it reads, never pushes
    assert followed.summary.startswith("## ✅ Published")
    assert "uploads nothing" in followed.log  # why archive-md5 is empty


def test_without_a_task_id_the_newest_task_of_the_folders_executor(
    slow_hub: LocalHub, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    first = act(folder, slow_hub.url, token=alice)
    second = act(folder, slow_hub.url, token=alice, wait="false")
    assert first.outputs["task-id"] != second.outputs["task-id"]
    followed = act(folder, slow_hub.url, token=alice, mode="status")
    assert followed.outputs["build-status"] == "succeeded", followed.log
    assert followed.outputs["task-id"] == second.outputs["task-id"]
    assert f"Found task {second.outputs['task-id']} for {folder.name}" in followed.log


def test_wait_false_reports_where_the_build_stands_once(
    slow_hub: LocalHub, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    task = act(folder, slow_hub.url, token=alice, wait="false").outputs["task-id"]
    now = act(folder, slow_hub.url, token=alice, mode="status", wait="false", **{"task-id": task})
    assert now.returncode == 0, now.log
    assert now.outputs["build-status"] == "pending"
    assert f"The build task {task} is" in now.summary


def test_a_failed_builds_status_run_ends_failed_with_its_log_replayed(
    shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    (folder / "executor.py").write_text(
        "from jina import Executor\n\n\nclass Other(Executor): ...\n"
    )
    pushed = act(folder, shared_hub.url, token=alice, preflight="false", wait="false")
    task = pushed.outputs["task-id"]
    followed = act(folder, shared_hub.url, token=alice, mode="status", **{"task-id": task})
    assert followed.returncode == 1
    assert followed.outputs["build-status"] == "failed"
    assert "can not discover any Executor" in followed.annotations()[0]
    assert "Build log" in followed.summary  # replayed from its first line
    assert "[normalize]" in followed.summary


def test_the_status_run_completes_the_pushs_pending_status_and_check_run(
    slow_hub: LocalHub, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    payload = pull_request()
    event = folder.parent / "event.json"
    event.write_text(json.dumps(payload))
    reports = {"github-token": "ghs_status-run-0123456789", "check-run": "true"}
    with github_api() as api:
        env = {
            "GITHUB_API_URL": api.api_url,
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_SHA": "b" * 40,
            "GITHUB_EVENT_PATH": str(event),
        }
        reports["status-check"] = "true"
        pushed = act(folder, slow_hub.url, env, token=alice, wait="false", **reports)
        assert [s["state"] for s in api.statuses] == ["pending", "pending"]
        (check,) = api.check_runs.values()
        assert check["status"] == "in_progress"
        task = pushed.outputs["task-id"]
        act(folder, slow_hub.url, env, token=alice, mode="status", **{"task-id": task}, **reports)
        (check,) = api.check_runs.values()  # the push's own, completed: not a second one
        assert (check["status"], check["conclusion"]) == ("completed", "success")
        assert api.statuses[-1]["state"] == "success"
        assert {s["context"] for s in api.statuses} == {f"hub-push/{folder.name}"}


# -- a push the Hub took is never reported lost -----------------------------------------------


@pytest.mark.parametrize("damage", ["502", "cut"])
def test_a_lost_answer_after_the_hub_took_the_push_ends_with_the_real_build(
    shared_hub: Any, alice: str, make_executor: MakeExecutor, damage: str
) -> None:
    with hh.hostile_hub(upstream=shared_hub.url) as gateway:
        gateway.script("executor.push", hh.forward_then(damage))
        run = act(make_executor(), gateway.url, token=alice)
        assert run.returncode == 0, run.log
        assert run.outputs["build-status"] == "succeeded"
        assert run.outputs["task-id"]
        assert len(gateway.seen("executor.push")) == 1  # never sent again
    (warning,) = [w for w in run.annotations("warning") if "answer was lost" in w]
    assert "not sent again" in warning


def test_an_answer_slower_than_the_deadline_is_a_timeout_naming_the_task(
    users: dict[str, str], tmp_path: Path, alice: str, make_executor: MakeExecutor
) -> None:
    with (
        local_hub(tmp_path / "hub", users=users, build_seconds=20) as hub,
        hh.hostile_hub(upstream=hub.url) as gateway,
    ):
        gateway.script("executor.push", hh.forward_then("delay", seconds=30))
        run = act(make_executor(), gateway.url, token=alice, timeout="6s")
        assert len(gateway.seen("executor.push")) == 1
    assert run.outputs["build-status"] == "timeout", run.log
    assert run.outputs["task-id"]
    (error,) = run.annotations()
    assert run.outputs["task-id"] in error


def test_an_anonymous_first_publish_whose_answer_is_lost_says_so_plainly(
    shared_hub: Any, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    with hh.hostile_hub(upstream=shared_hub.url) as gateway:
        gateway.script("executor.push", hh.forward_then("502"))
        run = act(folder, gateway.url, **{"allow-anonymous": "true"})
        assert len(gateway.seen("executor.push")) == 1
    assert run.outputs["build-status"] == "error"
    (error,) = run.annotations()
    assert f"the Hub may have created an executor `{folder.name}`" in error
    assert "before pushing again" in error


def test_a_502_from_a_hub_that_did_not_take_the_push_says_it_has_no_task(
    alice: str, make_executor: MakeExecutor, shared_hub: Any
) -> None:
    with hh.hostile_hub(upstream=shared_hub.url) as gateway:
        gateway.script("executor.push", hh.status(502))
        run = act(make_executor(), gateway.url, token=alice)
        assert len(gateway.seen("executor.push")) == 1
    assert run.outputs["build-status"] == "error"
    (error,) = run.annotations()
    assert "lists no build task" in error and "did not take the push" in error
