"""Helpers for the local Hub's tests: executor folders, ZIPs, and a raw HTTP client.

The client builds the multipart bodies itself, field by field in the order the official
client sends them (B §2.3 of the protocol notes), and reads NDJSON line by line, so that the
tests see the wire exactly as a client does.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import stat
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# Re-exported: the tests build their executor folders with the project's dev helper.
from support.executors import EXECUTOR_PY as EXECUTOR_PY
from support.executors import make_executor_folder as make_executor_folder
from support.executors import unique_name as unique_name

USERS = {"alice": "alice-token-0123456789", "bob": "bob-token-9876543210"}
ALICE = USERS["alice"]
BOB = USERS["bob"]


def zip_folder(folder: Path) -> bytes:
    """The folder as a ZIP, entries relative to it (like the official client's archive)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def zip_entries(
    entries: Mapping[str, str | bytes], *, symlinks: Mapping[str, str] | None = None
) -> bytes:
    """A ZIP with exactly these entries (names as given, even unsafe ones) and symlinks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def hello_entries(name: str, cls: str = "HelloExecutor") -> dict[str, str | bytes]:
    """The files of a valid executor, as ZIP entries."""
    return {
        "config.yml": f"jtype: {cls}\nmetas:\n  name: {name}\n",
        "executor.py": EXECUTOR_PY.format(cls=cls),
    }


# the raw HTTP client ------------------------------------------------------------------------
def encode_multipart(fields: Iterable[tuple[str, str]], file: bytes | None) -> tuple[bytes, str]:
    """A multipart/form-data body as urllib3 builds it for the official client."""
    boundary = secrets.token_hex(16)
    out = io.BytesIO()
    for name, value in fields:
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode("utf-8") + b"\r\n")
    if file is not None:
        out.write(f"--{boundary}\r\n".encode())
        out.write(b'Content-Disposition: form-data; name="file"; filename="filename"\r\n')
        out.write(b"Content-Type: application/octet-stream\r\n\r\n")
        out.write(file + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"token {token}"} if token else {}


@dataclass
class PushResult:
    """What a push answered: the HTTP status, and the stream's lines or the error body."""

    status_code: int
    lines: list[dict[str, Any]] = field(default_factory=list)
    body: dict[str, Any] | None = None

    @property
    def complete(self) -> dict[str, Any] | None:
        return next((ln["payload"] for ln in self.lines if ln.get("type") == "complete"), None)

    @property
    def error(self) -> dict[str, Any] | None:
        """The structured error: of the `error` line, or the HTTP error body."""
        line = next((ln for ln in self.lines if ln.get("type") == "error"), None)
        if line is not None:
            payload: dict[str, Any] = line["payload"]
            return payload
        return self.body if self.status_code >= 400 else None

    @property
    def status(self) -> int | None:
        return self.error["status"] if self.error else None

    @property
    def readable(self) -> str:
        return str(self.error["readableMessage"]) if self.error else ""

    @property
    def task_id(self) -> str | None:
        for line in self.lines:
            task = line.get("task")
            if isinstance(task, dict) and isinstance(task.get("_id"), str):
                return str(task["_id"])
        return None

    def ok(self) -> dict[str, Any]:
        """The complete payload, failing the test with the error if there is none."""
        assert self.complete is not None, f"push refused: {self.status_code} {self.error}"
        return self.complete


def parse_ndjson(text: str) -> list[dict[str, Any]]:
    """Lines of an NDJSON body; a blank line fails the test (the official client crashes)."""
    assert text.endswith("\n"), f"NDJSON must end with a newline: {text[-80:]!r}"
    lines = text.split("\n")[:-1]
    assert all(line.strip() for line in lines), f"blank line in NDJSON: {text!r}"
    return [json.loads(line) for line in lines]


class HubApi:
    """The local Hub's RPC methods, called over real HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=f"{url}/v2/rpc/", timeout=60, trust_env=False)

    def close(self) -> None:
        self.http.close()

    def whoami(self, token: str | None) -> httpx.Response:
        return self.http.post("user.identity.whoami", headers=auth(token))

    def push(
        self,
        archive: bytes | Path,
        *,
        name: str | None = None,
        token: str | None = None,
        update: bool = False,
        secret: str | None = None,
        public: bool = False,
        private: bool = False,
        tags: Iterable[str] = (),
        protected: Iterable[str] = (),
        build_env: Mapping[str, str] | str | None = None,
        dockerfile: str | None = None,
        platform: str | None = None,
        md5sum: str | None = None,
        chunked: bool = False,
    ) -> PushResult:
        """``executor.push`` (or ``executor.update``) with the official client's fields."""
        data = zip_folder(archive) if isinstance(archive, Path) else archive
        if name is None and isinstance(archive, Path):
            name = archive.name
        fields: list[tuple[str, str]] = [
            ("public", str(public)),
            ("private", str(private)),
            ("md5sum", md5sum or hashlib.md5(data).hexdigest()),  # noqa: S324
            ("verbose", "True"),
        ]
        if tags := list(tags):
            fields.append(("tags", ",".join(tags)))
        if protected := list(protected):
            fields.append(("immutableTags", ",".join(protected)))
        if dockerfile:
            fields.append(("dockerfile", dockerfile))
        if build_env is not None:
            env = build_env if isinstance(build_env, str) else json.dumps(dict(build_env))
            fields.append(("buildEnv", env))
        if platform:
            fields.append(("platform", platform))
        fields.append(("id", name or ""))
        if secret is not None:
            fields.append(("secret", secret))
        body, content_type = encode_multipart(fields, data)
        headers = {"Content-Type": content_type, **auth(token)}
        method = "executor.update" if update else "executor.push"
        content: bytes | Iterator[bytes] = body
        if chunked:
            content = (body[i : i + 1000] for i in range(0, len(body), 1000))
        response = self.http.post(method, content=content, headers=headers)
        if response.status_code >= 400:
            return PushResult(response.status_code, body=response.json())
        return PushResult(response.status_code, lines=parse_ndjson(response.text))

    def progress(
        self,
        task_id: str,
        *,
        replay: bool = True,
        token: str | None = None,
        secret: str | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """``executor.queryProgress``: the HTTP status and every line until the server closes."""
        fields = [("replay", str(replay)), ("verbose", "True"), ("id", task_id)]
        if secret is not None:
            fields.append(("secret", secret))
        body, content_type = encode_multipart(fields, None)
        response = self.http.post(
            "executor.queryProgress",
            content=body,
            headers={"Content-Type": content_type, **auth(token)},
        )
        return response.status_code, parse_ndjson(response.text)

    def final_report(self, task_id: str, **kwargs: Any) -> dict[str, Any]:
        """The last line of a progress stream that ran to the end of the task."""
        _, lines = self.progress(task_id, **kwargs)
        return lines[-1]

    def tasks(
        self, ident: str, *, token: str | None = None, secret: str | None = None
    ) -> list[dict[str, Any]]:
        """``executor.listAsyncTasks`` as the official client sends it (urlencoded)."""
        data = {"id": ident, "sort": "-createdAt", "pageSize": "10"}
        if secret is not None:
            data["secret"] = secret
        response = self.http.post("executor.listAsyncTasks", data=data, headers=auth(token))
        assert response.status_code == 200, response.text
        tasks: list[dict[str, Any]] = response.json()["data"]
        return tasks

    def package(
        self,
        ident: str,
        *,
        tag: str | None = None,
        token: str | None = None,
        secret: str | None = None,
    ) -> httpx.Response:
        """``executor.getPackage`` with the JSON body of the official client's fetch_meta."""
        payload: dict[str, Any] = {"id": ident, "include": ["code", "docker"], "rebuildImage": True}
        if tag:
            payload["tag"] = tag
        if secret:
            payload["secret"] = secret
        return self.http.post("executor.getPackage", json=payload, headers=auth(token))
