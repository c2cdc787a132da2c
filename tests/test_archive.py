"""Packing: the Hub's ignore rules, deterministic bytes, and no symlink out of the folder."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub_push.archive import pack
from hub_push.errors import ExecutorError, SourceLocation

MakeExecutor = Callable[..., Path]


def names(archive_path: Path) -> list[str]:
    with zipfile.ZipFile(archive_path) as archive:
        return archive.namelist()


def test_same_files_give_the_same_md5_whatever_the_mtimes(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(requirements="numpy\n", files={"sub/b.txt": "b", "a.txt": "a"})
    first = pack(folder, tmp_path / "1.zip")
    for path in folder.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    second = pack(folder, tmp_path / "2.zip")
    assert first.md5 == second.md5
    assert first.md5 == hashlib.md5((tmp_path / "1.zip").read_bytes()).hexdigest()  # noqa: S324
    assert first.size == (tmp_path / "1.zip").stat().st_size
    assert names(first.path) == sorted(names(first.path))


def test_default_rules_drop_caches_and_git_but_keep_hidden_files(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(
        files={
            "__pycache__/x.pyc": "",
            ".git/HEAD": "",
            ".jina/secret.key": "",
            ".venv/lib.py": "",
            ".hidden": "kept",
            "tests/test_x.py": "",
        }
    )
    packed = names(pack(folder, tmp_path / "a.zip").path)
    assert ".hidden" in packed and "tests/test_x.py" in packed and "config.yml" in packed
    assert not [n for n in packed if n.startswith(("__pycache__", ".git/", ".jina", ".venv"))]


def test_a_gitignore_replaces_the_template_but_git_and_jina_stay_out(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(
        files={
            ".gitignore": "# mine\n*.log\n",
            "x.log": "",
            "__pycache__/kept.pyc": "",
            ".git/config": "",
            ".jina/k": "",
        }
    )
    packed = names(pack(folder, tmp_path / "a.zip").path)
    assert "x.log" not in packed
    assert "__pycache__/kept.pyc" in packed  # like `jina hub push`: the template no longer applies
    assert ".gitignore" in packed
    assert not [n for n in packed if n.startswith((".git/", ".jina"))]


def test_symlinks_never_leave_the_folder(make_executor: MakeExecutor, tmp_path: Path) -> None:
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("do not upload")
    folder = make_executor(files={"real.txt": "inside"})
    (folder / "leak.txt").symlink_to(outside)
    (folder / "alias.txt").symlink_to(folder / "real.txt")
    (folder / "loop").symlink_to(folder)
    archive = pack(folder, tmp_path / "a.zip")
    packed = names(archive.path)
    assert "leak.txt" not in packed
    assert "alias.txt" in packed
    assert "loop" not in " ".join(packed)
    assert {s.path for s in archive.skipped} == {"leak.txt", "loop"}
    with zipfile.ZipFile(archive.path) as zf:
        assert zf.read("alias.txt") == b"inside"


def test_entries_are_deflated_with_fixed_time_and_unix_modes(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(files={"run.sh": "#!/bin/sh\n"})
    (folder / "run.sh").chmod(0o755)
    with zipfile.ZipFile(pack(folder, tmp_path / "a.zip").path) as zf:
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert zf.getinfo("run.sh").external_attr >> 16 & 0o777 == 0o755
        assert zf.getinfo("config.yml").external_attr >> 16 & 0o777 == 0o644


def test_an_unreadable_file_is_an_executor_error_naming_it(
    make_executor: MakeExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_executor(files={"locked.bin": "x"})
    real_open = Path.open

    def refuse_locked(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "locked.bin":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse_locked)
    with pytest.raises(ExecutorError) as caught:
        pack(folder, tmp_path / "a.zip")
    assert caught.value.location == SourceLocation(f"{folder.as_posix()}/locked.bin")
    assert "Permission denied" in str(caught.value)


def test_a_symlink_loop_is_left_out_not_a_crash(tmp_path: Path) -> None:
    folder = tmp_path / "exec"
    folder.mkdir()
    (folder / "config.yml").write_text("jtype: X\n")
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    archive = pack(folder, tmp_path / "out.zip")
    assert archive.files == ["config.yml"]
    assert {s.path for s in archive.skipped} == {"a", "b"}


def test_a_file_name_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "exec"
    folder.mkdir()
    (folder / "config.yml").write_text("jtype: X\n")
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    with pytest.raises(ExecutorError, match="not UTF-8") as caught:
        pack(folder, tmp_path / "out.zip")
    assert caught.value.location is not None
    assert caught.value.location.file.endswith("caf\ufffd.txt")
