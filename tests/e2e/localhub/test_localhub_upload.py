"""The request level: checksums, size limits, chunked uploads, unknown methods, NDJSON form."""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from pathlib import Path

import httpx
import pytest

from hub_push.archive import pack
from support.hubkit import ALICE, USERS, HubApi, encode_multipart, make_executor_folder, zip_folder
from support.localhub_process import LocalHub, local_hub


def test_a_damaged_upload_fails_its_build_with_40003_and_keeps_no_tag(
    api: HubApi, folder: Path
) -> None:
    """The push's answer does not wait for a hash of the upload: its build checks the md5."""
    result = api.push(folder, token=ALICE, md5sum="0" * 32, protected=["v1"])
    assert result.complete is not None
    final = api.final_report(result.task_id or "")
    assert final["status"] == "failed"
    assert final["error"]["code"] == 40003
    assert "arrived damaged" in final["message"] and "0" * 32 in final["message"]
    assert api.package(folder.name, tag="v1").status_code == 404
    assert api.push(folder, token=ALICE, protected=["v1"]).complete is not None  # released


def _damaged(archive: bytes, offset: int) -> bytes:
    damaged = bytearray(archive)
    damaged[offset] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize("where", [0, 1, 10, 100])
def test_damaged_deflate_data_fails_the_build_with_40003(
    api: HubApi, folder: Path, tmp_path: Path, where: int
) -> None:
    """Damage inside a deflated entry makes zlib itself fail (offset 0: "invalid stored block
    lengths"), or the CRC check: either way the md5 names the cause."""
    (folder / "vocab.txt").write_text("token value\n" * 20000)
    archive = pack(folder, tmp_path / "a.zip").path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        info = zf.getinfo("vocab.txt")
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    md5sum = hashlib.md5(archive).hexdigest()  # noqa: S324 - what was sent
    result = api.push(
        _damaged(archive, data_start + where), name=folder.name, md5sum=md5sum, token=ALICE
    )
    final = api.final_report(result.task_id or "")
    assert final["status"] == "failed"
    assert final["error"]["code"] == 40003, final
    assert "arrived damaged" in final["message"]


def test_an_upload_damaged_where_the_push_reads_it_is_refused_with_40003(
    api: HubApi, folder: Path, tmp_path: Path
) -> None:
    """The push reads requirements.txt (through the central directory) before answering:
    damage there is named as damage, not as a malformed archive."""
    archive = pack(folder, tmp_path / "a.zip").path.read_bytes()
    central = archive.rindex(b"PK\x01\x02")  # the last central directory record
    md5sum = hashlib.md5(archive).hexdigest()  # noqa: S324 - what was sent
    result = api.push(_damaged(archive, central), name=folder.name, md5sum=md5sum, token=ALICE)
    assert result.status == 40003, result.lines
    assert "arrived damaged" in result.readable
    assert api.package(folder.name).status_code == 404


@pytest.mark.parametrize("md5sum", ["x", "0" * 31, "g" * 32, "0" * 33])
def test_an_md5sum_that_is_not_an_md5_is_refused_with_40001(
    api: HubApi, folder: Path, md5sum: str
) -> None:
    result = api.push(folder, token=ALICE, md5sum=md5sum)
    assert (result.status_code, result.status) == (400, 40001)
    assert "md5sum" in result.readable
    assert api.package(folder.name).status_code == 404


def test_push_without_archive_is_refused(api: HubApi) -> None:
    body, content_type = encode_multipart([("id", "NoFile"), ("md5sum", "0" * 32)], None)
    response = api.http.post("executor.push", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["status"] == 40001
    assert "`file`" in response.json()["readableMessage"]


def test_archive_larger_than_max_upload_bytes_is_refused_with_41301(tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path, files={"data.txt": secrets.token_hex(40_000)})
    args = ["--max-upload-bytes", "20000"]
    with local_hub(tmp_path / "hub", users=USERS, extra_args=args) as hub:
        api = HubApi(hub.url)
        result = api.push(folder, token=ALICE)
        assert result.status_code == 413
        assert result.status == 41301
        assert "20000 bytes" in result.readable
        assert not list((tmp_path / "hub" / "uploads").iterdir())
        small = make_executor_folder(tmp_path / "small")
        assert api.push(small, token=ALICE).complete is not None
        api.close()


def test_chunked_upload_is_accepted(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token=ALICE, chunked=True)
    assert result.ok()["name"] == folder.name


def test_archive_is_stored_byte_for_byte(api: HubApi, hub: LocalHub, folder: Path) -> None:
    archive = zip_folder(folder)
    api.push(archive, name=folder.name, token=ALICE).ok()
    digest = hashlib.md5(archive).hexdigest()  # noqa: S324
    (stored,) = (hub.data_dir / "blobs" / "md5" / digest[:2]).glob(f"{digest}-*.zip")
    assert stored.read_bytes() == archive


def test_two_pushes_of_one_archive_never_share_a_blob(
    api: HubApi, hub: LocalHub, folder: Path
) -> None:
    archive = zip_folder(folder)
    api.push(archive, name=folder.name, token=ALICE).ok()
    api.push(archive, name=folder.name, token=ALICE).ok()
    digest = hashlib.md5(archive).hexdigest()  # noqa: S324
    blobs = list((hub.data_dir / "blobs" / "md5" / digest[:2]).glob(f"{digest}-*.zip"))
    assert len(blobs) == 2
    assert all(blob.read_bytes() == archive for blob in blobs)
    assert not list((hub.data_dir / "uploads").iterdir())


def test_a_large_upload_in_many_pieces_arrives_whole(api: HubApi, tmp_path: Path) -> None:
    """Several MiB, sent in odd-sized pieces: the md5 (hashed by a second thread) and the
    stored bytes match, whatever the pieces' boundaries."""
    folder = make_executor_folder(tmp_path)
    weights = secrets.token_bytes(5 * 1024 * 1024 + 12345)
    (folder / "weights.bin").write_bytes(weights)
    archive = zip_folder(folder)
    result = api.push(archive, name=folder.name, token=ALICE, chunked=True)
    assert result.ok()["name"] == folder.name
    assert api.final_report(result.task_id or "")["status"] == "succeeded"


def test_an_archive_of_stored_entries_unpacks_and_builds(
    api: HubApi, folder: Path, tmp_path: Path
) -> None:
    """hub-push stores what does not compress (ZIP method 0): the Hub unpacks it as well."""
    (folder / "model.onnx").write_bytes(secrets.token_bytes(300_000))
    (folder / "vocab.txt").write_text("token\n" * 50_000)
    archive = pack(folder, tmp_path / "a.zip")
    assert "model.onnx" in archive.stored and "vocab.txt" not in archive.stored
    result = api.push(archive.path.read_bytes(), name=folder.name, token=ALICE)
    assert result.ok()["name"] == folder.name
    assert api.final_report(result.task_id or "")["status"] == "succeeded"


def test_the_unpacked_size_limit_is_a_start_up_option(tmp_path: Path) -> None:
    folder = make_executor_folder(tmp_path, files={"data.txt": "x" * 300_000})
    args = ["--max-unpacked-bytes", "200000"]
    with local_hub(tmp_path / "hub", users=USERS, extra_args=args) as hub:
        api = HubApi(hub.url)
        big = api.push(folder, token=ALICE)
        final = api.final_report(big.task_id or "")
        assert final["status"] == "failed"
        assert "more than 200000 bytes" in final["message"]
        assert "--max-unpacked-bytes" in final["message"]
        small = make_executor_folder(tmp_path / "small")
        pushed = api.push(small, token=ALICE)
        assert api.final_report(pushed.task_id or "")["status"] == "succeeded"
        api.close()


def test_unknown_rpc_method_is_a_404_with_a_readable_message(api: HubApi) -> None:
    response = api.http.post("executor.nothing", data={"id": "x"})
    assert response.status_code == 404
    assert response.json()["status"] == 40402
    assert "executor.nothing" in response.json()["readableMessage"]


def test_streams_are_chunked_ndjson_without_blank_lines(api: HubApi, folder: Path) -> None:
    archive = zip_folder(folder)
    fields = [
        ("public", "False"),
        ("private", "False"),
        ("md5sum", hashlib.md5(archive).hexdigest()),  # noqa: S324
        ("id", folder.name),
    ]
    body, content_type = encode_multipart(fields, archive)
    headers = {"Content-Type": content_type, "Authorization": f"token {ALICE}"}
    with api.http.stream("POST", "executor.push", content=body, headers=headers) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"] == "application/x-ndjson"
        raw = b"".join(response.iter_raw())
    assert raw.endswith(b"\n")
    assert b"\n\n" not in raw
    assert b'"type":"complete"' in raw


def test_health_check_answers_get(api: HubApi) -> None:
    response = httpx.get(api.url + "/healthz", trust_env=False)
    assert response.status_code == 200


def test_list_async_tasks_also_takes_a_multipart_form(api: HubApi, folder: Path) -> None:
    pushed = api.push(folder, token=ALICE)
    fields = [("id", folder.name), ("sort", "-createdAt"), ("pageSize", "1")]
    body, content_type = encode_multipart(fields, None)
    response = api.http.post(
        "executor.listAsyncTasks", content=body, headers={"Content-Type": content_type}
    )
    assert [t["_id"] for t in response.json()["data"]] == [pushed.task_id]
