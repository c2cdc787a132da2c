"""The receiving path, in process: multipart in large pieces written by a thread of their own,
no hashing on the way (the build checks the MD5), the unpacked-size limit as an option of the
server."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import threading
import zipfile
from email.message import Message
from pathlib import Path

import pytest

from localhub.__main__ import build_parser
from localhub.errors import DATA_STREAM_BROKEN, TOO_LARGE_FILE, RpcError
from localhub.forms import CHUNK, Body, read_form
from localhub.unpack import MAX_UNPACKED_BYTES, UnsafeArchiveError, unpack
from support.hubkit import encode_multipart


def _request(body: bytes, content_type: str) -> tuple[Message, io.BytesIO]:
    headers = Message()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    return headers, io.BytesIO(body)


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir())


def _writing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "localhub-write"]


def test_an_upload_of_many_pieces_is_saved_whole(tmp_path: Path) -> None:
    archive = secrets.token_bytes(3 * CHUNK + 4321)
    body, content_type = encode_multipart([("md5sum", "x"), ("id", "Name")], archive)
    headers, rfile = _request(body, content_type)
    form = read_form(headers, Body(headers, rfile), uploads_dir=tmp_path)
    assert form.file is not None
    assert form.file.size == len(archive)
    assert form.file.path.read_bytes() == archive
    assert form.fields == {"md5sum": "x", "id": "Name"}
    assert not _writing_threads()


def test_a_too_large_upload_leaves_no_file_and_no_thread(tmp_path: Path) -> None:
    body, content_type = encode_multipart([("id", "Name")], secrets.token_bytes(2 * CHUNK))
    headers, rfile = _request(body, content_type)
    with pytest.raises(RpcError) as refused:
        read_form(headers, Body(headers, rfile), uploads_dir=tmp_path, max_upload_bytes=CHUNK)
    assert refused.value.status == TOO_LARGE_FILE
    assert not _files(tmp_path)
    assert not _writing_threads()


def test_a_body_cut_short_leaves_no_file_and_no_thread(tmp_path: Path) -> None:
    body, content_type = encode_multipart([("id", "Name")], secrets.token_bytes(CHUNK + 10))
    headers, _ = _request(body, content_type)
    rfile = io.BytesIO(body[: len(body) // 2])  # Content-Length promises more
    with pytest.raises(RpcError) as broken:
        read_form(headers, Body(headers, rfile), uploads_dir=tmp_path)
    assert broken.value.status == DATA_STREAM_BROKEN
    assert not _files(tmp_path)
    assert not _writing_threads()


def test_a_disk_error_is_a_500_that_leaves_no_file_and_no_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import localhub.forms as forms

    class FullDisk:
        def __init__(self, fd: int, *_: object, **__: object) -> None:
            self.fd = fd

        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            os.close(self.fd)

    body, content_type = encode_multipart([("id", "Name")], secrets.token_bytes(3 * CHUNK))
    headers, rfile = _request(body, content_type)
    with monkeypatch.context() as patch:
        patch.setattr(forms.os, "fdopen", FullDisk)
        with pytest.raises(RpcError) as failed:
            read_form(headers, Body(headers, rfile), uploads_dir=tmp_path)
    assert failed.value.status == 50001
    assert "No space left on device" in str(failed.value)
    assert not _files(tmp_path)
    assert not _writing_threads()


def test_a_client_that_goes_away_is_not_a_disk_error(tmp_path: Path) -> None:
    body, content_type = encode_multipart([("id", "Name")], secrets.token_bytes(3 * CHUNK))
    headers, _ = _request(body, content_type)

    class Reset(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            if self.tell() > CHUNK:
                raise ConnectionResetError(104, "Connection reset by peer")
            return super().read(size)

    with pytest.raises(RpcError) as broken:
        read_form(headers, Body(headers, Reset(body)), uploads_dir=tmp_path)
    assert broken.value.status == DATA_STREAM_BROKEN
    assert not _files(tmp_path)
    assert not _writing_threads()


def test_a_file_part_that_never_ends_leaves_no_file(tmp_path: Path) -> None:
    """A body cut right after the file's bytes (no closing boundary, Content-Length kept
    honest): no form holds the file, so it is not left in the uploads folder."""
    body, content_type = encode_multipart([("id", "Name")], secrets.token_bytes(CHUNK + 5))
    cut = body[: body.rindex(b"\r\n--")]
    headers, rfile = _request(cut, content_type)
    try:
        form = read_form(headers, Body(headers, rfile), uploads_dir=tmp_path)
    except RpcError:
        pass
    else:
        assert form.file is None
    assert not _files(tmp_path)
    assert not _writing_threads()


def _zip(path: Path, entries: dict[str, bytes], method: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_unpack_takes_stored_and_deflated_entries(tmp_path: Path, method: int) -> None:
    data = {"a/big.bin": secrets.token_bytes(CHUNK + 7), "b.txt": b"hello\n" * 1000}
    archive = _zip(tmp_path / "a.zip", data, method)
    files, size = unpack(archive, tmp_path / "out")
    assert (files, size) == (2, sum(len(v) for v in data.values()))
    for name, content in data.items():
        assert (tmp_path / "out" / name).read_bytes() == content


@pytest.mark.parametrize("prefix", [b"", b"#!/bin/sh\nexit 0\n" * 100])
@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_unpack_takes_the_archives_md5_from_its_own_reads(
    tmp_path: Path, method: int, prefix: bytes
) -> None:
    """The md5 of the whole file, whatever the reads skipped: the central directory (read
    first), or bytes before the first entry (a self-extracting stub)."""
    data = {"a/big.bin": secrets.token_bytes(3 * CHUNK + 7), "b.txt": b"hello\n" * 1000}
    archive = _zip(tmp_path / "a.zip", data, method)
    archive.write_bytes(prefix + archive.read_bytes())
    digest = hashlib.md5()  # noqa: S324
    assert unpack(archive, tmp_path / "out", md5=digest) == (2, sum(map(len, data.values())))
    assert digest.hexdigest() == hashlib.md5(archive.read_bytes()).hexdigest()  # noqa: S324
    assert (tmp_path / "out" / "a/big.bin").read_bytes() == data["a/big.bin"]
    assert not [t for t in threading.enumerate() if t.name == "localhub-md5"]


def test_unpack_refuses_more_than_its_limit(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"x.bin": bytes(1000)}, zipfile.ZIP_DEFLATED)
    with pytest.raises(UnsafeArchiveError, match="more than 999 bytes"):
        unpack(archive, tmp_path / "out", max_bytes=999)
    assert unpack(archive, tmp_path / "ok", max_bytes=1000) == (1, 1000)


def test_the_server_takes_the_limit_from_its_command_line() -> None:
    parser = build_parser()
    assert parser.parse_args(["--data", "d"]).max_unpacked_bytes == MAX_UNPACKED_BYTES
    assert MAX_UNPACKED_BYTES >= 8 * 1024**3  # a 1 GiB executor builds by default
    args = parser.parse_args(["--data", "d", "--max-unpacked-bytes", "12345"])
    assert args.max_unpacked_bytes == 12345
