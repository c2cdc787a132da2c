"""build-env: names and values checked, and every `${NAME}` of requirements.txt supplied."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.hubkit import ALICE, HubApi, make_executor_folder


@pytest.mark.parametrize("name", ["lower", "_LEADING", "WITH-DASH", "SPACE X", ""])
def test_build_env_name_outside_the_docs_rule_is_refused(
    api: HubApi, folder: Path, name: str
) -> None:
    result = api.push(folder, token=ALICE, build_env={name: "1"})
    assert result.complete is None
    assert result.status == 40001
    assert f"`{name}`" in result.readable
    assert "upper-case" in result.readable


def test_build_env_value_with_equals_sign_is_refused(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token=ALICE, build_env={"TOKEN": "a=b"})
    assert result.status == 40001
    assert "`TOKEN`" in result.readable
    assert "`=`" in result.readable


@pytest.mark.parametrize("raw", ['["A"]', '{"A": 1}', "not json", '"A=1"'])
def test_build_env_that_is_not_a_json_object_of_strings_is_refused(
    api: HubApi, folder: Path, raw: str
) -> None:
    result = api.push(folder, token=ALICE, build_env=raw)
    assert result.status == 40001
    assert "JSON object of strings" in result.readable


def test_every_missing_placeholder_is_named(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(
        tmp_path,
        requirements=(
            "# ${IGNORED_IN_COMMENT}\n"
            "git+https://${GH_TOKEN}@github.com/org/private-repo\n"
            "numpy==${NUMPY_VERSION}\n"
            "torch==${TORCH_VERSION}  # inline ${ALSO_NEEDED}\n"
            "$NOT_A_PLACEHOLDER ${lower_is_ignored}\n"
        ),
    )
    result = api.push(folder, token=ALICE, build_env={"NUMPY_VERSION": "1.26.4"})
    assert result.complete is None
    assert result.status == 40001
    for name in ("GH_TOKEN", "TORCH_VERSION", "ALSO_NEEDED"):
        assert f"`{name}`" in result.readable
    for name in ("NUMPY_VERSION", "IGNORED_IN_COMMENT", "NOT_A_PLACEHOLDER", "lower_is_ignored"):
        assert name not in result.readable
    assert "--build-env GH_TOKEN=YOUR_VALUE" in result.readable


def test_placeholders_without_any_build_env_are_refused(api: HubApi, tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path, requirements="numpy==${NUMPY_VERSION}\n")
    result = api.push(folder, token=ALICE)
    assert result.status == 40001
    assert "`NUMPY_VERSION`" in result.readable


def test_supplied_placeholders_build_and_extra_names_are_allowed(
    api: HubApi, tmp_path: Path
) -> None:
    folder = make_executor_folder(tmp_path, requirements="numpy==${NUMPY_VERSION}\n")
    result = api.push(folder, token=ALICE, build_env={"NUMPY_VERSION": "1.26.4", "UNUSED_1": "x"})
    result.ok()
    assert result.task_id is not None
    _, lines = api.progress(result.task_id)
    assert lines[-1]["status"] == "succeeded"
    log = "\n".join(ln["data"]["data"]["payload"] for ln in lines if ln["type"] == "progress")
    assert "NUMPY_VERSION" in log
    assert "1.26.4" not in log  # build-env values are secrets: never in the build log
    commit = api.package(folder.name).json()["data"]["commit"]
    assert set(commit["commitParams"]["buildEnv"]) == {"NUMPY_VERSION", "UNUSED_1"}
    assert "1.26.4" not in str(commit)
