"""The request level: checksums, size limits, chunked uploads, unknown methods, NDJSON form."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import httpx
from hubkit import ALICE, USERS, HubApi, encode_multipart, make_executor_folder, zip_folder

from support.localhub_process import LocalHub, local_hub


def test_md5sum_mismatch_is_refused_with_40003(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token=ALICE, md5sum="0" * 32)
    assert result.status_code == 400
    assert result.status == 40003
    assert "md5" in result.readable
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
    digest = hashlib.sha256(archive).hexdigest()
    stored = hub.data_dir / "blobs" / "sha256" / digest[:2] / f"{digest}.zip"
    assert stored.read_bytes() == archive


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
