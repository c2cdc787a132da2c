"""The executor folder checks, each failure naming the file and line to fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub_push.errors import ExecutorError, SourceLocation
from hub_push.executor import load_executor

MakeExecutor = Callable[..., Path]


def problem(folder: Path, **kwargs: object) -> ExecutorError:
    with pytest.raises(ExecutorError) as caught:
        load_executor(folder, workspace=folder.parent, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_reads_name_jtype_and_placeholders(make_executor: MakeExecutor) -> None:
    folder = make_executor("Greeter", requirements="# ${IGNORED}\ngit+https://${TOKEN}@h/x\n")
    executor = load_executor(folder, build_env=["TOKEN"])
    assert (executor.name, executor.jtype) == ("Greeter", "Greeter")
    assert [(p.name, p.line) for p in executor.placeholders] == [("TOKEN", 2)]


def test_missing_folder(tmp_path: Path) -> None:
    assert "does not exist" in str(problem(tmp_path / "nope"))


def test_missing_config_names_the_file(make_executor: MakeExecutor) -> None:
    folder = make_executor()
    (folder / "config.yml").unlink()
    error = problem(folder)
    assert error.location == SourceLocation(f"{folder.name}/config.yml")


def test_config_without_jtype_points_at_line_1(make_executor: MakeExecutor) -> None:
    folder = make_executor(config="metas:\n  name: X\n")
    error = problem(folder)
    assert error.location == SourceLocation(f"{folder.name}/config.yml", 1)
    assert "jtype" in str(error)


def test_invalid_yaml_names_its_line(make_executor: MakeExecutor) -> None:
    folder = make_executor(config="jtype: X\nmetas:\n  name: [unclosed\n")
    error = problem(folder)
    assert error.location is not None and error.location.line == 4
    assert "not valid YAML" in str(error)


def test_py_modules_in_two_places_points_at_the_second(make_executor: MakeExecutor) -> None:
    config = "jtype: X\npy_modules: [a.py]\nmetas:\n  name: X\n  py_modules: [a.py]\n"
    error = problem(make_executor(config=config))
    assert error.location is not None and error.location.line == 5
    assert "py_modules" in str(error)


def test_missing_name_falls_back_to_manifest_then_the_name_input(
    make_executor: MakeExecutor,
) -> None:
    folder = make_executor(config="jtype: X\n", files={"manifest.yml": "name: FromManifest\n"})
    assert load_executor(folder).name == "FromManifest"
    (folder / "manifest.yml").unlink()
    assert load_executor(folder, name_override="FromInput").name == "FromInput"
    assert "executor name" in str(problem(folder))


def test_unset_placeholder_names_requirements_line(make_executor: MakeExecutor) -> None:
    folder = make_executor(requirements="numpy\n--index-url https://${PYPI_TOKEN}@x/simple\n")
    error = problem(folder, build_env=["OTHER"])
    assert error.location == SourceLocation(f"{folder.name}/requirements.txt", 2)
    assert "PYPI_TOKEN" in str(error)


def test_dockerfile_must_exist_inside_the_folder(make_executor: MakeExecutor) -> None:
    folder = make_executor(files={"Dockerfile.gpu": "FROM python:3.11\n"})
    assert load_executor(folder, dockerfile="Dockerfile.gpu").dockerfile == "Dockerfile.gpu"
    assert "does not exist" in str(problem(folder, dockerfile="Dockerfile"))
    assert "inside the executor folder" in str(problem(folder, dockerfile="../Dockerfile"))


def test_dockerfile_must_start_with_from(make_executor: MakeExecutor) -> None:
    folder = make_executor(files={"Dockerfile": "# hi\nARG X=1\nRUN echo\nFROM y\n"})
    error = problem(folder, dockerfile="Dockerfile")
    assert error.location == SourceLocation(f"{folder.name}/Dockerfile", 3)


def test_requirements_that_are_not_utf8_are_still_read(make_executor: MakeExecutor) -> None:
    folder = make_executor()
    (folder / "requirements.txt").write_bytes(b"caf\xe9-lib\ngit+https://${TOKEN}@h/x\n")
    executor = load_executor(folder, build_env=["TOKEN"])
    assert [(p.name, p.line) for p in executor.placeholders] == [("TOKEN", 2)]
