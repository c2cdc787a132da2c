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

It is as strict as GitHub (`github_rules.py`): every request must be an operation of GitHub's
own API description (`@octokit/openapi`) with a body valid against its schema, and within the
limits GitHub enforces beyond it (a check run's summary in bytes, 50 annotations a request,
…); a violation is answered with GitHub's 422 and fails the test at the end of the `with`
block. Its answers carry every field the description requires (checked too), the
`x-ratelimit-*` and `x-github-request-id` headers, and `Link` with `next` and `last`. It serves
GitHub Enterprise Server's layout (`/api/v3`) or api.github.com's (at the root).
"""

from __future__ import annotations

import base64
import fnmatch
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

from support import github_rules

#: GitHub Enterprise Server's API prefix; api.github.com serves at the root ("").
PREFIX = "/api/v3"
#: Every exchange of every double in this test session, for the summary: (request, problems,
#: whether the test sent a bad request on purpose).
CHECKED: list[tuple[str, list[str], bool]] = []
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
    #: Apply the request first (GitHub did it), then answer this (a gateway's 502).
    after_applying: bool = False


@dataclass
class FakeGitHub:
    """The server's state; `serve()` runs it. Thread-safe: requests arrive on threads."""

    port: int = 0
    prefix: str = PREFIX
    requests: list[Request] = field(default_factory=list)
    #: What broke GitHub's description or limits (requests), or the description (answers).
    violations: list[str] = field(default_factory=list)
    #: A test that sends a bad request on purpose says so; otherwise a violation fails it.
    violations_expected: bool = False
    rate_remaining: int = 5000
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
        return f"http://127.0.0.1:{self.port}{self.prefix}"

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
            self._scripts.append(_Script(method, self.prefix + path, answer, times, delay))

    def fail_after_applying(
        self, path: str, *, method: str, status: int = 502, times: int = 1
    ) -> None:
        """GitHub does the next `times` requests on `path`, then a gateway answers `status`
        (so a client that repeats one does it twice)."""
        body = json.dumps({"message": "Bad Gateway"}).encode()
        answer = (status, {"Content-Type": "application/json; charset=utf-8"}, body)
        with self._lock:
            self._scripts.append(
                _Script(method, self.prefix + path, answer, times, 0.0, after_applying=True)
            )

    def refuse_fine_grained_pat(self, path: str, *, method: str | None = None) -> None:
        """The 403 a fine-grained personal access token gets: it cannot hold `checks: write`."""
        body = {
            "message": "Resource not accessible by personal access token",
            "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
            "status": "403",
        }
        self.answer(path, 403, times=1000, method=method, body=body)

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
            operation, problems, refusal = self._check_request(method, path, raw)
            script = self._scripted(method, path)
            if refusal is not None:
                answer, delay = refusal, 0.0
            elif script is not None and not script.after_applying:
                answer, delay = script.answer, script.delay
            else:
                answer, delay = self._route(method, path, query, headers, raw), 0.0
                if operation is not None:
                    answer = self._complete(operation, answer, problems)
                if script is not None:  # applied: now the gateway's answer
                    answer, delay = script.answer, script.delay
            answer = self._with_headers(answer)
            self.requests.append(Request(method, path, query, headers, raw, answer[0]))
            CHECKED.append((f"{method} {path}", list(problems), self.violations_expected))
            self.violations.extend(f"{method} {path}: {problem}" for problem in problems)
        return answer, delay

    def _check_request(
        self, method: str, path: str, raw: bytes
    ) -> tuple[github_rules.Operation | None, list[str], Answer | None]:
        """The operation, what breaks GitHub's description or limits, and GitHub's answer to
        a request it refuses (a 422), else None."""
        if not path.startswith(self.prefix + "/"):
            return None, [f"not under the API's address ({self.prefix or '/'})"], None
        operation = github_rules.operation_for(method, path.removeprefix(self.prefix))
        if operation is None:
            return None, ["no such operation in GitHub's API description"], None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return (
                operation,
                ["the body is not JSON"],
                _json(400, {"message": "Problems parsing JSON"}),
            )
        problems = [
            f"{operation.operation_id}: {error}"
            for error in github_rules.schema_errors(operation.request_body, body)
        ]
        limits = github_rules.limit_errors(operation.operation_id, body)
        problems += [f"{operation.operation_id}: {item['message']}" for item in limits]
        if problems:
            errors = limits or [
                {"resource": operation.operation_id, "code": "invalid", "message": p}
                for p in problems
            ]
            return operation, problems, _json(422, github_rules.validation_failed(errors))
        return operation, [], None

    def _complete(
        self, operation: github_rules.Operation, answer: Answer, problems: list[str]
    ) -> Answer:
        """The route's answer with every field the description requires (the route's own
        values win), checked against the response schema."""
        status, headers, raw = answer
        schema = operation.responses.get(str(status))
        if not raw or schema is None:
            return answer
        body = github_rules.filled(schema, json.loads(raw))
        problems += [
            f"the double's answer: {error}"
            for error in github_rules.answer_errors(operation, status, body)
        ]
        return status, headers, json.dumps(body).encode()

    def _with_headers(self, answer: Answer) -> Answer:
        status, headers, raw = answer
        self.rate_remaining = max(0, self.rate_remaining - 1)
        common = {
            "x-github-request-id": f"{self._new_id():08X}:0:0:0:0",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(self.rate_remaining),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-used": str(5000 - self.rate_remaining),
            "x-ratelimit-resource": "core",
        }
        return status, {**common, **headers}, raw

    def _scripted(self, method: str, path: str) -> _Script | None:
        for script in self._scripts:
            matches = fnmatch.fnmatchcase(path, script.path)  # `*` stands for an id
            if matches and script.method in (None, method) and script.times > 0:
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
        match = re.fullmatch(rf"{self.prefix}/repos/([^/]+)/([^/]+)(/.*)?", path)
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
            (r"/check-runs/(\d+)", "GET", self._get_check_run),
            (r"/commits/([^/]+)/check-runs", "GET", self._list_check_runs),
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

    def _get_check_run(self, _repo: str, _name: str, run_id: str, **_: Any) -> Answer:
        run = self.check_runs.get(int(run_id))
        if run is None:
            return _json(404, {"message": "Not Found"})
        return _json(200, {k: v for k, v in run.items() if k != "annotations"})

    def _list_check_runs(
        self, _repo: str, _name: str, ref: str, *, query: dict[str, list[str]], **_: Any
    ) -> Answer:
        wanted = {key: query[key][0] for key in ("check_name", "status") if key in query}
        runs = [
            {k: v for k, v in run.items() if k != "annotations"}
            for run in self.check_runs.values()
            if run.get("head_sha") == ref
            and run.get("name") == wanted.get("check_name", run.get("name"))
            and run.get("status") == wanted.get("status", run.get("status"))
        ]
        return _json(200, {"total_count": len(runs), "check_runs": runs})

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
        last = max(1, -(-len(found) // per_page))
        if page < last:

            def link(to: int) -> str:
                return f"{repo}/issues/{number}/comments?per_page={per_page}&page={to}"

            headers["Link"] = f'<{link(page + 1)}>; rel="next", <{link(last)}>; rel="last"'
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

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closed its connection is no error of the double's: stay quiet."""

    def __init__(self, api: FakeGitHub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api


@contextmanager
def github_api(prefix: str = PREFIX) -> Iterator[FakeGitHub]:
    """A fresh fake GitHub API on a free port of 127.0.0.1, for the `with` block; a request
    that broke GitHub's description or limits fails it at the end (unless expected)."""
    api = FakeGitHub(prefix=prefix)
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
    if api.violations and not api.violations_expected:
        raise AssertionError(
            "requests GitHub would refuse (or answers GitHub would not give):\n"
            + "\n".join(api.violations)
        )
