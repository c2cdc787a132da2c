"""Build tasks: the task id in the push stream, the normalizer's checks, progress streams."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from support.hubkit import (
    ALICE,
    USERS,
    HubApi,
    hello_entries,
    make_executor_folder,
    zip_entries,
)
from support.localhub_process import local_hub

TWO_EXECUTORS = """\
from jina import Executor


class First(Executor):
    pass


class Second(Executor):
    pass
"""


def _log(lines: list[dict[str, Any]]) -> list[str]:
    return [ln["data"]["data"]["payload"] for ln in lines if ln["type"] == "progress"]


def _fails_with(api: HubApi, archive: bytes | Path, name: str | None = None, **kw: Any) -> str:
    result = api.push(archive, name=name, token=ALICE, **kw)
    result.ok()  # the push is accepted; the build decides
    assert result.task_id is not None
    _, lines = api.progress(result.task_id)
    final = lines[-1]
    assert final["type"] == "report"
    assert final["status"] == "failed", final
    assert final["task"] == {"_id": result.task_id}
    assert final["message"] == final["error"]["message"]
    reason: str = final["message"]
    assert _log(lines)[-1] == f"Build failed: {reason}"
    return reason


# the push stream and the task id ------------------------------------------------------------
def test_push_stream_carries_the_task_id_on_one_line_before_complete(
    api: HubApi, folder: Path
) -> None:
    result = api.push(folder, token=ALICE)
    with_task = [ln for ln in result.lines if "task" in ln]
    assert len(with_task) == 1
    line = with_task[0]
    task_id = line["payload"]
    assert re.fullmatch(r"[0-9a-f]{24}", task_id)
    assert line == {
        "type": "done",
        "subject": "createTask",
        "message": f"Build task {task_id} queued",
        "payload": task_id,
        "task": {"_id": task_id},
    }
    assert result.lines.index(line) == len(result.lines) - 2
    assert result.lines[-1]["type"] == "complete"
    assert all("type" in ln and "subject" in ln for ln in result.lines)


def test_list_async_tasks_finds_the_newest_task_first(api: HubApi, folder: Path) -> None:
    first = api.push(folder, token=ALICE, tags=["a"])
    second = api.push(folder, token=ALICE, tags=["b"])
    tasks = api.tasks(folder.name)
    assert [t["_id"] for t in tasks] == [second.task_id, first.task_id]
    newest = tasks[0]
    assert newest["executor"] == {"id": second.ok()["id"], "name": folder.name}
    assert newest["status"] in ("pending", "waiting", "succeeded")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", newest["createdAt"])
    assert [t["_id"] for t in api.tasks(second.ok()["id"])] == [second.task_id, first.task_id]
    assert api.tasks("NeverPushed") == []


def test_task_id_can_be_left_out_of_the_stream(tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    with local_hub(tmp_path / "hub", users=USERS, extra_args=["--no-task-id-in-stream"]) as hub:
        api = HubApi(hub.url)
        result = api.push(folder, token=ALICE)
        result.ok()
        assert result.task_id is None
        assert not any("task" in ln for ln in result.lines)
        tasks = api.tasks(folder.name)
        assert len(tasks) == 1
        assert api.final_report(tasks[0]["_id"])["status"] == "succeeded"
        api.close()


# progress streams ------------------------------------------------------------------------------
def test_query_progress_replays_the_whole_log_and_ends_with_the_result(
    api: HubApi, folder: Path
) -> None:
    result = api.push(folder, token=ALICE, tags=["v1", "latest"])
    assert result.task_id is not None
    status, lines = api.progress(result.task_id, replay=True)
    assert status == 200
    progress = [ln for ln in lines if ln["type"] == "progress"]
    assert [ln["data"]["sn"] for ln in progress] == list(range(1, len(progress) + 1))
    assert all(ln["data"]["data"]["type"] == "console" for ln in progress)
    subjects = {ln["data"]["data"]["subject"] for ln in progress}
    assert {"extractZip", "normalize", "buildWorkspace", "pushImage", "commitSave"} <= subjects
    assert any("Found Executor HelloExecutor in executor.py" in p for p in _log(lines))
    final = lines[-1]
    assert final["status"] == "succeeded"
    assert final["task"] == {"_id": result.task_id}
    assert final["result"] == {k: v for k, v in result.ok().items() if k != "secret"}

    _, replayed = api.progress(result.task_id, replay=True)
    assert _log(replayed) == _log(lines)
    _, tail = api.progress(result.task_id, replay=False)
    assert tail == [final]


@pytest.mark.timeout(30)
def test_progress_stream_stays_open_while_building_and_closes_after_the_result(
    tmp_path: Path,
) -> None:
    folder = make_executor_folder(tmp_path)
    with local_hub(tmp_path / "hub", users=USERS, build_seconds=1.5) as hub:
        api = HubApi(hub.url)
        result = api.push(folder, token=ALICE)
        assert result.task_id is not None
        started = time.monotonic()
        _, lines = api.progress(result.task_id, replay=False)
        elapsed = time.monotonic() - started
        assert 1.0 < elapsed < 10
        assert lines[0]["type"] == "report"
        assert lines[0]["status"] in ("pending", "waiting")
        assert lines[0]["task"] == {"_id": result.task_id}
        assert lines[-1]["status"] == "succeeded"
        assert 0 < len(_log(lines)) <= len(_log(api.progress(result.task_id)[1]))
        api.close()


@pytest.mark.timeout(30)
def test_progress_stream_is_capped_and_can_be_reopened(tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    args = ["--stream-seconds", "0.5"]
    with local_hub(tmp_path / "hub", users=USERS, build_seconds=3, extra_args=args) as hub:
        api = HubApi(hub.url)
        result = api.push(folder, token=ALICE)
        assert result.task_id is not None
        _, first = api.progress(result.task_id)
        assert first[-1]["type"] != "report" or first[-1]["status"] in ("pending", "waiting")
        assert not any(ln.get("status") in ("succeeded", "failed") for ln in first)
        deadline = time.monotonic() + 20
        final: dict[str, Any] = {}
        while time.monotonic() < deadline and final.get("status") not in ("succeeded", "failed"):
            _, lines = api.progress(result.task_id, replay=False)
            final = lines[-1]
        assert final["status"] == "succeeded"
        api.close()


def test_progress_of_an_unknown_task_is_a_404_code_line(api: HubApi) -> None:
    status, lines = api.progress("0" * 24)
    assert status == 404
    assert len(lines) == 1
    assert lines[0]["code"] == 404
    assert lines[0]["message"]


def test_build_takes_build_seconds(tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    with local_hub(tmp_path / "hub", users=USERS, build_seconds=1.0) as hub:
        api = HubApi(hub.url)
        started = time.monotonic()
        result = api.push(folder, token=ALICE)
        assert result.task_id is not None
        assert api.final_report(result.task_id)["status"] == "succeeded"
        assert 0.9 < time.monotonic() - started < 5
        api.close()


# the normalizer's checks --------------------------------------------------------------------
def test_bundle_without_an_executor_class_fails_with_4000(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path, executor_py="GREETING = 'no class here'\n")
    reason = _fails_with(api, folder)
    assert reason.startswith("We can not discover any Executor in your bundle")


def test_a_class_named_by_jtype_is_found_whatever_its_base(api: HubApi, tmp_path: Path) -> None:
    # Jina Hub's check matches the class by name only when config.yml names it.
    folder = make_executor_folder(tmp_path, executor_py="class HelloExecutor(Base):\n    pass\n")
    result = api.push(folder, token=ALICE)
    assert result.task_id is not None
    assert api.final_report(result.task_id)["status"] == "succeeded"


def test_jtype_that_matches_no_class_fails_with_4000(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path, cls="Other")
    name = folder.name
    (folder / "config.yml").write_text(f"jtype: HelloExecutor\nmetas:\n  name: {name}\n")
    assert "We can not discover any Executor" in _fails_with(api, folder)


def test_the_executor_class_defined_twice_fails_with_4001(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    (folder / "copy.py").write_text((folder / "executor.py").read_text())
    (folder / "config.yml").write_text(
        f"jtype: HelloExecutor\npy_modules: [executor.py, copy.py]\nmetas:\n  name: {folder.name}\n"
    )
    reason = _fails_with(api, folder)
    assert reason.startswith("Multiple executors are placed at one package")
    assert "copy.py" in reason and "executor.py" in reason


def test_two_executor_classes_without_config_fail_with_4001(api: HubApi, tmp_path: Path) -> None:
    entries = {"executor.py": TWO_EXECUTORS}
    reason = _fails_with(api, zip_entries(entries), name="NoConfigTwo")
    assert reason.startswith("Multiple executors are placed at one package")
    result = api.push(zip_entries(entries), name="NoConfigTwo", token=ALICE)
    assert result.task_id is not None
    assert api.final_report(result.task_id)["error"]["code"] == 4001


def test_executor_class_is_found_through_py_modules(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    (folder / "executor.py").rename(folder / "impl.py")
    (folder / "other.py").write_text(TWO_EXECUTORS)
    config = f"jtype: HelloExecutor\nmetas:\n  name: {folder.name}\n  py_modules:\n    - impl.py\n"
    (folder / "config.yml").write_text(config)
    result = api.push(folder, token=ALICE)
    assert result.task_id is not None
    assert api.final_report(result.task_id)["status"] == "succeeded"


def test_py_modules_under_metas_and_root_fail(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    (folder / "config.yml").write_text(
        f"jtype: HelloExecutor\npy_modules: [executor.py]\n"
        f"metas:\n  name: {folder.name}\n  py_modules: [executor.py]\n"
    )
    assert "py_modules can only be appear in one of metas and root" in _fails_with(api, folder)


def test_config_without_jtype_fails(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path)
    (folder / "config.yml").write_text(f"metas:\n  name: {folder.name}\n")
    assert "config.yml has no `jtype`" in _fails_with(api, folder)


def test_a_dockerfile_needs_an_entrypoint(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path, files={"Dockerfile": "FROM jinaai/jina:3\n"})
    assert "has no ENTRYPOINT in its final stage" in _fails_with(
        api, folder, dockerfile="Dockerfile"
    )
    (folder / "Dockerfile").write_text(
        'FROM jinaai/jina:3\nENTRYPOINT ["jina", "executor", "--uses", "config.yml"]\n'
    )
    result = api.push(folder, token=ALICE, dockerfile="Dockerfile")
    assert result.task_id is not None
    assert api.final_report(result.task_id)["status"] == "succeeded"


def test_a_dockerfile_named_by_the_push_but_missing_is_generated(
    api: HubApi, tmp_path: Path
) -> None:
    folder = make_executor_folder(tmp_path)
    result = api.push(folder, token=ALICE, dockerfile="Dockerfile.gpu")
    assert result.task_id is not None
    assert api.final_report(result.task_id)["status"] == "succeeded"


def test_syntax_error_in_a_module_fails_with_its_line(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path, executor_py="class HelloExecutor(Executor:\n")
    assert "executor.py line 1 has a syntax error" in _fails_with(api, folder)


# unsafe archives --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("../evil.py", "points outside the executor folder"),
        ("sub/../../evil.py", "points outside the executor folder"),
        ("/etc/evil.py", "absolute path"),
    ],
)
def test_archive_entries_that_escape_the_folder_fail_the_build(
    api: HubApi, entry: str, expected: str
) -> None:
    entries = {**hello_entries("Unsafe"), entry: "x = 1\n"}
    reason = _fails_with(api, zip_entries(entries), name=f"Unsafe{abs(hash(entry)) % 10**6}")
    assert expected in reason
    assert f"`{entry}`" in reason


def test_symlink_in_the_archive_fails_the_build(api: HubApi) -> None:
    archive = zip_entries(hello_entries("Linked"), symlinks={"passwd": "/etc/passwd"})
    reason = _fails_with(api, archive, name="Linked")
    assert "`passwd` is a symbolic link" in reason


def test_upload_that_is_not_a_zip_is_refused_in_the_push_stream(api: HubApi) -> None:
    result = api.push(b"this is not a zip", name="NotAZip", token=ALICE)
    assert result.complete is None
    assert result.status == 42203
    assert "not a valid ZIP" in result.readable
