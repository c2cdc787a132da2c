"""A stand-in for the GitHub REST API, over real HTTP on 127.0.0.1, for PyGithub to talk to.

It answers under `/api/v3` as GitHub Enterprise Server does (`Github(base_url=server.api_url)`)
and puts that prefix in every `url` field it returns, since PyGithub takes follow-up paths
from them. It keeps just enough state for the action's calls, records every request (method,
path, JSON body, headers) and can be told to answer the next N requests on a path with an
error or a rate-limit refusal:

| method | path (under `/api/v3/repos/OWNER/REPO`) | |
| --- | --- | --- |
| GET | `` | the repository (PyGithub fetches it unless lazy) |
| POST | `/statuses/SHA` | a commit status |
| POST, PATCH | `/check-runs`, `/check-runs/ID` | check runs; annotations accumulate |
| GET | `/pulls/N` | a pull request (head SHA from `pulls`) |
| GET, POST | `/issues/N/comments` | comments, paginated with `Link` headers |
| PATCH | `/issues/comments/ID` | edit a comment |
| GET | `/actions/secrets/public-key` | a real NaCl public key; the server keeps the private one |
| PUT | `/actions/secrets/NAME` | store a sealed secret (201 new, 204 updated) |

Every request needs an `Authorization` header (401 otherwise), as on GitHub.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nacl.public import PrivateKey, SealedBox

PREFIX = "/api/v3"
PRIMARY_LIMIT_MESSAGE = "API rate limit exceeded for installation ID 1."
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
FORBIDDEN_MESSAGE = "Resource not accessible by integration"

Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Request:
    """One request as the server received it."""

    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    status: int  # what the server answered

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


@dataclass
class _Script:
    method: str | None
    path: str
    answer: Answer
    times: int
    delay: float


@dataclass
class FakeGitHub:
    """The server's state; `serve()` runs it. Thread-safe: requests arrive on threads."""

    port: int = 0
    requests: list[Request] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → comment
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → sealed value
    pulls: dict[int, str] = field(default_factory=dict)  # number → head SHA
    private_key: PrivateKey = field(default_factory=PrivateKey.generate)
    key_id: str = "568250167242549743"
    _scripts: list[_Script] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1000

    # -- what tests use -------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    def answer(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | dict[str, Any] | None = None,
        delay: float = 0,
    ) -> None:
        """Answer the next `times` requests on `path` (under `/api/v3`) with this instead,
        after `delay` seconds (to make a client's timeout fire)."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        with self._lock:
            answer = (status, all_headers, raw)
            self._scripts.append(_Script(method, PREFIX + path, answer, times, delay))

    def forbid(self, path: str, *, times: int = 1, method: str | None = None) -> None:
        """403 as a read-only token gets (a fork's pull request)."""
        body = {"message": FORBIDDEN_MESSAGE, "documentation_url": "https://docs.github.com/rest"}
        self.answer(path, 403, times=times, method=method, body=body)

    def fail(self, path: str, *, times: int = 1, status: int = 500) -> None:
        self.answer(path, status, times=times, body={"message": "Server Error"})

    def rate_limit(
        self,
        path: str,
        *,
        status: int = 403,
        retry_after: int | None = None,
        reset_in: float | None = None,
        secondary: bool = False,
        times: int = 1,
    ) -> None:
        """Refuse as GitHub does past a limit: `Retry-After`, or remaining 0 until a reset."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if reset_in is not None:
            headers["x-ratelimit-limit"] = "5000"
            headers["x-ratelimit-remaining"] = "0"
            headers["x-ratelimit-reset"] = str(int(time.time() + reset_in))
        message = SECONDARY_LIMIT_MESSAGE if secondary else PRIMARY_LIMIT_MESSAGE
        self.answer(path, status, times=times, headers=headers, body={"message": message})

    def seen(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """Requests received (optionally only this method, and path under `/api/v3`)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method)
                and (path is None or r.path == PREFIX + path)
            ]

    def decrypt_secret(self, name: str) -> str:
        """The plain value of a stored secret, opened with the repository's private key."""
        sealed = base64.b64decode(self.secrets[name]["encrypted_value"])
        return SealedBox(self.private_key).decrypt(sealed).decode()

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.comments.values() if c["issue"] == number]

    # -- the routes -------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[Answer, float]:
        """The answer to one request, and how long to wait before sending it."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        with self._lock:
            script = self._scripted(method, path)
            if script is not None:
                answer, delay = script.answer, script.delay
            else:
                answer, delay = self._route(method, path, query, headers, raw), 0.0
            self.requests.append(Request(method, path, query, headers, raw, answer[0]))
        return answer, delay

    def _scripted(self, method: str, path: str) -> _Script | None:
        for script in self._scripts:
            if script.path == path and script.method in (None, method) and script.times > 0:
                script.times -= 1
                return script
        return None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        raw: bytes,
    ) -> Answer:
        if not headers.get("authorization"):
            return _json(401, {"message": "Requires authentication"})
        match = re.fullmatch(rf"{PREFIX}/repos/([^/]+)/([^/]+)(/.*)?", path)
        if match is None:
            return _json(404, {"message": "Not Found"})
        repo = f"{self.api_url}/repos/{match.group(1)}/{match.group(2)}"
        rest = match.group(3) or ""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return _json(400, {"message": "Problems parsing JSON"})
        for pattern, verb, route in self._routes():
            found = re.fullmatch(pattern, rest)
            if found and verb == method:
                return route(repo, match.group(2), *found.groups(), body=body, query=query)
        return _json(404, {"message": "Not Found"})

    def _routes(self) -> list[tuple[str, str, Callable[..., Answer]]]:
        return [
            (r"", "GET", self._get_repository),
            (r"/statuses/([0-9a-f]+)", "POST", self._create_status),
            (r"/check-runs", "POST", self._create_check_run),
            (r"/check-runs/(\d+)", "PATCH", self._update_check_run),
            (r"/pulls/(\d+)", "GET", self._get_pull),
            (r"/issues/(\d+)/comments", "GET", self._list_comments),
            (r"/issues/(\d+)/comments", "POST", self._create_comment),
            (r"/issues/comments/(\d+)", "PATCH", self._edit_comment),
            (r"/actions/secrets/public-key", "GET", self._public_key),
            (r"/actions/secrets/([A-Za-z0-9_]+)", "PUT", self._put_secret),
        ]

    def _get_repository(self, repo: str, name: str, **_: Any) -> Answer:
        owner = repo.rsplit("/", 2)[-2]
        full_name = f"{owner}/{name}"
        return _json(200, {"id": 1, "name": name, "full_name": full_name, "url": repo})

    def _create_status(self, repo: str, _name: str, sha: str, *, body: Any, **_: Any) -> Answer:
        status = {"id": self._new_id(), "sha": sha, **body}
        status["url"] = f"{repo}/statuses/{sha}"
        self.statuses.append(status)
        return _json(201, status)

    def _create_check_run(self, repo: str, _name: str, *, body: Any, **_: Any) -> Answer:
        run_id = self._new_id()
        run = {"id": run_id, "url": f"{repo}/check-runs/{run_id}", "annotations": []}
        self.check_runs[run_id] = run
        return _json(201, self._merge_check_run(run, body))

    def _update_check_run(self, _repo: str, _name: str, run_id: str, **kw: Any) -> Answer:
        run = self.check_runs.get(int(run_id))
        if run is None:
            return _json(404, {"message": "Not Found"})
        return _json(200, self._merge_check_run(run, kw["body"]))

    @staticmethod
    def _merge_check_run(run: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        output = body.pop("output", None)
        run.update(body)
        if isinstance(output, dict):
            run["annotations"] = run["annotations"] + list(output.pop("annotations", []))
            run["output"] = {**output, "annotations_count": len(run["annotations"])}
        return {k: v for k, v in run.items() if k != "annotations"}

    def _get_pull(self, repo: str, _name: str, number: str, **_: Any) -> Answer:
        n = int(number)
        if n not in self.pulls:
            return _json(404, {"message": "Not Found"})
        return _json(
            200,
            {
                "number": n,
                "url": f"{repo}/pulls/{n}",
                "issue_url": f"{repo}/issues/{n}",
                "head": {"sha": self.pulls[n]},
            },
        )

    def _comment_json(self, repo: str, comment: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in comment.items() if k != "issue"}
        shown["url"] = f"{repo}/issues/comments/{comment['id']}"
        shown["issue_url"] = f"{repo}/issues/{comment['issue']}"
        shown["user"] = {"login": "github-actions[bot]", "type": "Bot"}
        return shown

    def _list_comments(
        self, repo: str, _name: str, number: str, *, query: dict[str, list[str]], **_: Any
    ) -> Answer:
        found = [c for c in self.comments.values() if c["issue"] == int(number)]
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        shown = found[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(found):
            next_url = f"{repo}/issues/{number}/comments?per_page={per_page}&page={page + 1}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        status, json_headers, raw = _json(200, [self._comment_json(repo, c) for c in shown])
        return status, {**json_headers, **headers}, raw

    def _create_comment(self, repo: str, _name: str, number: str, *, body: Any, **_: Any) -> Answer:
        comment = {"id": self._new_id(), "issue": int(number), "body": body["body"]}
        self.comments[comment["id"]] = comment
        return _json(201, self._comment_json(repo, comment))

    def _edit_comment(
        self, repo: str, _name: str, comment_id: str, *, body: Any, **_: Any
    ) -> Answer:
        comment = self.comments.get(int(comment_id))
        if comment is None:
            return _json(404, {"message": "Not Found"})
        comment["body"] = body["body"]
        return _json(200, self._comment_json(repo, comment))

    def _public_key(self, _repo: str, _name: str, **_: Any) -> Answer:
        key = base64.b64encode(bytes(self.private_key.public_key)).decode()
        return _json(200, {"key_id": self.key_id, "key": key})

    def _put_secret(self, _repo: str, _name: str, secret: str, *, body: Any, **_: Any) -> Answer:
        if body.get("key_id") != self.key_id or not body.get("encrypted_value"):
            return _json(422, {"message": "Invalid request: key_id and encrypted_value needed"})
        existed = secret.upper() in self.secrets
        self.secrets[secret.upper()] = dict(body)
        return (204 if existed else 201), {}, b""


def _json(status: int, payload: Any) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(payload).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PyGithub's connection pool expects
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        (status, answer_headers, body), delay = self.server.api.handle(
            self.command, self.path, headers, raw
        )
        if delay:
            time.sleep(delay)
        self.send_response(status)
        for name, value in answer_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: FakeGitHub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api


@contextmanager
def github_api() -> Iterator[FakeGitHub]:
    """A fresh fake GitHub API on a free port of 127.0.0.1, for the `with` block."""
    api = FakeGitHub()
    server = _Server(api)
    api.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-github", daemon=True
    )
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
