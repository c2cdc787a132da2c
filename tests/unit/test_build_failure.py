"""A failed build's log read for the causes it names, pointing at the file and line to fix."""

from __future__ import annotations

from pathlib import Path

from hub_push.build_failure import Cause, causes


def folder_with(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name.replace("__", ".")).write_text(text)
    return tmp_path


def test_pip_not_finding_a_requirement_points_at_its_line(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, requirements__txt="# deps\nnumpy\nTorch_Vision>=0.1\n")
    log = [
        "#7 1.8 ERROR: Could not find a version that satisfies the requirement torch-vision",
        "#7 1.8 ERROR: No matching distribution found for torch-vision",
    ]
    (cause,) = causes(log, folder)
    assert (cause.file, cause.line) == ("requirements.txt", 3)
    assert "`torch-vision`" in cause.message


def test_a_failing_dockerfile_step_points_at_its_line(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path, Dockerfile__gpu='FROM x\nCOPY . /w\nRUN make build\nENTRYPOINT ["jina"]\n'
    )
    log = [
        "#7 [3/4] RUN make build",
        '#7 ERROR: process "/bin/sh -c make build" did not complete successfully: exit code: 2',
    ]
    assert causes(log, folder, "Dockerfile.gpu") == [
        Cause("Dockerfile.gpu", 3, "This step failed on Jina Hub: `RUN make build`.")
    ]


def test_a_missing_module_is_a_requirement_or_a_py_modules_entry(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path, config__yml="jtype: X\npy_modules:\n  - executor.py\n", helpers__py="x = 1\n"
    )
    own, other = causes(
        [
            "ModuleNotFoundError: No module named 'helpers'",
            "ModuleNotFoundError: No module named 'sentence_transformers'",
        ],
        folder,
    )
    assert (own.file, own.line) == ("config.yml", 2)
    assert "list it in `py_modules`" in own.message
    assert (other.file, other.line) == ("requirements.txt", None)


def test_a_log_without_known_causes_gives_none(tmp_path: Path) -> None:
    assert causes(["[normalize] all good", "ERROR: something else"], tmp_path) == []
