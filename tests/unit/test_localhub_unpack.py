"""The local Hub's unpacking: what the build check never reads is verified, not written."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from localhub.unpack import KEEP_AT_MOST, UnsafeArchiveError, unpack


def archive_with_weights(path: Path, weights: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.yml", "jtype: X\n")
        archive.writestr(zipfile.ZipInfo("model.bin"), weights)  # stored: the bytes as they are
    return path


def test_a_large_entry_is_verified_and_left_as_a_sparse_file(tmp_path: Path) -> None:
    weights = os.urandom(KEEP_AT_MOST + 1)
    archive = archive_with_weights(tmp_path / "a.zip", weights)
    files, size = unpack(archive, tmp_path / "out")
    model = tmp_path / "out" / "model.bin"
    assert (files, size) == (2, len(weights) + len("jtype: X\n"))
    assert model.stat().st_size == len(weights)
    assert model.stat().st_blocks * 512 < len(weights) // 2  # no second copy on disk
    assert (tmp_path / "out" / "config.yml").read_text() == "jtype: X\n"


def test_a_damaged_large_entry_still_fails(tmp_path: Path) -> None:
    weights = os.urandom(KEEP_AT_MOST + 1)
    archive = archive_with_weights(tmp_path / "a.zip", weights)
    data = bytearray(archive.read_bytes())
    data[data.index(weights[:64]) + KEEP_AT_MOST // 2] ^= 0xFF  # a flipped byte in the weights
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchiveError, match=r"model\.bin"):
        unpack(archive, tmp_path / "out")
