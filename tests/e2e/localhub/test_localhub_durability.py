"""Durability: a restart keeps executors, tags, secrets, commits and tasks; builds resume."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from support.hubkit import ALICE, BOB, USERS, HubApi, make_executor_folder
from support.localhub_process import local_hub


def _progress(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [ln for ln in lines if ln["type"] == "progress"]


@pytest.mark.timeout(60)
def test_everything_survives_a_restart(tmp_path: Path) -> None:
    owned = make_executor_folder(tmp_path)
    anonymous = make_executor_folder(tmp_path)
    with local_hub(tmp_path / "hub", users=USERS) as hub:
        api = HubApi(hub.url)
        first = api.push(owned, token=ALICE, tags=["v1", "latest"], protected=["v1"])
        secret_push = api.push(anonymous, private=True)
        secret = secret_push.ok()["secret"]
        assert first.task_id is not None
        assert secret_push.task_id is not None
        _, log_before = api.progress(first.task_id)
        _, private_log_before = api.progress(secret_push.task_id, secret=secret)
        package_before = api.package(owned.name).json()
        port = hub.port
        api.close()

        hub.restart()
        assert hub.port == port
        api = HubApi(hub.url)

        assert api.package(owned.name).json() == package_before
        data = package_before["data"]
        assert data["owner"] == {"name": "alice"}
        assert sorted(data["tags"]) == ["latest", "v1"]
        assert data["protectedTags"] == ["v1"]
        assert [t["_id"] for t in api.tasks(owned.name)] == [first.task_id]
        _, log_after = api.progress(first.task_id)
        assert _progress(log_after) == _progress(log_before)
        assert log_after[-1] == log_before[-1]
        assert log_after[-1]["status"] == "succeeded"
        private_log_after = api.progress(secret_push.task_id, secret=secret)[1]
        assert _progress(private_log_after) == _progress(private_log_before)

        refused = api.push(owned, token=ALICE, protected=["v1"])
        assert "Tag `v1`" in refused.readable
        assert api.push(owned, token=BOB).status == 42202
        assert api.package(anonymous.name).status_code == 404
        private = api.package(anonymous.name, secret=secret).json()["data"]
        assert private["visibility"] == "private"
        update = api.push(anonymous, update=True, name=anonymous.name, secret=secret)
        assert update.ok()["visibility"] == "private"
        assert update.ok()["commit"]["_id"] != secret_push.ok()["commit"]["_id"]
        api.close()


@pytest.mark.timeout(60)
def test_a_build_interrupted_by_a_stop_is_run_again_on_start(tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    with local_hub(tmp_path / "hub", users=USERS, build_seconds=5) as hub:
        api = HubApi(hub.url)
        result = api.push(folder, token=ALICE)
        task_id = result.task_id
        assert task_id is not None
        deadline = time.monotonic() + 10
        while api.tasks(folder.name)[0]["status"] != "waiting":
            assert time.monotonic() < deadline, "the build never started"
            time.sleep(0.05)
        api.close()

        hub.stop()
        hub.build_seconds = 0.3
        hub.start()

        api = HubApi(hub.url)
        _, lines = api.progress(task_id)
        assert lines[-1]["status"] == "succeeded"
        log = [ln["data"]["data"]["payload"] for ln in lines if ln["type"] == "progress"]
        assert "Build restarted: the local Hub stopped while this task ran" in log
        assert api.package(folder.name).json()["data"]["tags"] == ["latest"]
        api.close()


def test_server_log_never_contains_tokens_or_secrets(tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path, requirements="pkg==${PKG_VERSION}\n")
    with local_hub(tmp_path / "hub", users=USERS) as hub:
        api = HubApi(hub.url)
        pushed = api.push(folder, private=True, build_env={"PKG_VERSION": "9.9.9-secretish"})
        secret = pushed.ok()["secret"]
        env = {"PKG_VERSION": "9.9.9-secretish"}
        updated = api.push(folder, update=True, name=folder.name, secret=secret, build_env=env)
        api.whoami(ALICE)
        api.whoami("forged-token-value")
        for task_id in (pushed.task_id, updated.task_id):
            assert task_id is not None
            assert api.final_report(task_id, secret=secret)["status"] == "succeeded"
        api.close()
    log = hub.log_path.read_text()
    assert "POST /v2/rpc/executor.push" in log
    for value in (*USERS.values(), secret, "forged-token-value", "9.9.9-secretish"):
        assert value not in log
    database = (tmp_path / "hub" / "hub.sqlite3").read_bytes()
    assert secret.encode() not in database
    assert b"9.9.9-secretish" not in database  # build-env values are dropped after the build
