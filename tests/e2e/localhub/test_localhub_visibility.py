"""Visibility: public by default, private on request, kept on updates; private stays hidden."""

from __future__ import annotations

from pathlib import Path

from support.hubkit import ALICE, BOB, HubApi


def test_executors_are_public_by_default(api: HubApi, folder: Path) -> None:
    assert api.push(folder, token=ALICE).ok()["visibility"] == "public"
    assert api.package(folder.name).json()["data"]["visibility"] == "public"


def test_private_flag_makes_the_executor_private(api: HubApi, folder: Path) -> None:
    assert api.push(folder, token=ALICE, private=True).ok()["visibility"] == "private"


def test_update_without_flags_keeps_the_visibility(api: HubApi, folder: Path) -> None:
    first = api.push(folder, private=True).ok()
    update = api.push(folder, update=True, name=folder.name, secret=first["secret"]).ok()
    assert update["visibility"] == "private"
    made_public = api.push(
        folder, update=True, name=folder.name, secret=first["secret"], public=True
    ).ok()
    assert made_public["visibility"] == "public"
    again = api.push(folder, update=True, name=folder.name, secret=first["secret"]).ok()
    assert again["visibility"] == "public"


def test_public_and_private_together_are_refused(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token=ALICE, public=True, private=True)
    assert result.status == 40001
    assert "both public and private" in result.readable


def test_private_executor_is_hidden_from_others(api: HubApi, folder: Path) -> None:
    pushed = api.push(folder, token=ALICE, private=True)
    task_id = pushed.task_id
    assert task_id is not None
    api.final_report(task_id, token=ALICE)

    for token in (None, BOB):
        assert api.package(folder.name, token=token).status_code == 404
        assert api.package(pushed.ok()["id"], token=token).status_code == 404
        assert api.tasks(folder.name, token=token) == []
        status, lines = api.progress(task_id, token=token)
        assert status == 404
        assert lines[0]["code"] == 404
        assert "not found" in lines[0]["message"]

    assert api.package(folder.name, token=ALICE).status_code == 200
    assert [t["_id"] for t in api.tasks(folder.name, token=ALICE)] == [task_id]
    assert api.final_report(task_id, token=ALICE)["status"] == "succeeded"


def test_private_executor_is_shown_to_the_holder_of_its_secret(api: HubApi, folder: Path) -> None:
    pushed = api.push(folder, private=True)
    secret = pushed.ok()["secret"]
    task_id = pushed.task_id
    assert task_id is not None

    assert api.package(folder.name).status_code == 404
    assert api.package(folder.name, secret="wrong").status_code == 404
    response = api.package(folder.name, secret=secret)
    assert response.status_code == 200
    assert response.json()["data"]["visibility"] == "private"
    assert [t["_id"] for t in api.tasks(folder.name, secret=secret)] == [task_id]
    report = api.final_report(task_id, secret=secret)
    assert report["status"] == "succeeded"
    assert "secret" not in report["result"]


def test_public_executor_metadata_and_tasks_are_open_to_everyone(api: HubApi, folder: Path) -> None:
    pushed = api.push(folder, token=ALICE)
    assert pushed.task_id is not None
    assert api.package(folder.name).status_code == 200
    assert [t["_id"] for t in api.tasks(folder.name)] == [pushed.task_id]
    assert api.final_report(pushed.task_id)["status"] == "succeeded"
