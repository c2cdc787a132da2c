"""Info-ZIP's `unzip` (another reader than Python's zipfile) reads hub-push's archives."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from hub_push import zip_records
from hub_push.archive import pack

MakeExecutor = Callable[..., Path]
pytestmark = pytest.mark.skipif(not shutil.which("unzip"), reason="Info-ZIP's unzip is missing")


def unzip_test(archive: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["unzip", "-tq", str(archive)], capture_output=True, text=True)


def test_info_zip_reads_the_archive(make_executor: MakeExecutor, tmp_path: Path) -> None:
    folder = make_executor(files={"a.txt": "text " * 1000})
    (folder / "w.onnx").write_bytes(os.urandom(100_000))
    checked = unzip_test(pack(folder, tmp_path / "a.zip").path)
    assert checked.returncode == 0, checked.stdout
    assert "No errors detected" in checked.stdout


def test_info_zip_reads_zip64_fields(
    make_executor: MakeExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zip_records, "_ZIP64_LIMIT", 1000)
    folder = make_executor(files={"notes.txt": "n" * 5000})
    (folder / "w.bin").write_bytes(os.urandom(3000))
    checked = unzip_test(pack(folder, tmp_path / "a.zip").path)
    assert checked.returncode == 0, checked.stdout
