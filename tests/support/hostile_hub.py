"""A scripted, hostile stand-in for Jina Hub: the faults a real server or network can produce.

Where the local Hub (`src/localhub`) plays by the Hub's rules, this one plays whatever a test
scripts: each RPC method answers with the next of its planned behaviours (the last one
repeats), over real HTTP on 127.0.0.1. Behaviours can hang, stop reading an upload, send blank
lines forever, answer 429 with `Retry-After`, break a stream right after naming a task, echo
every secret back in every field, or slip workflow commands into any text. Every request is
recorded; every wait is bounded (`LONGEST_WAIT`), and `stop()` ends them at once.

With `upstream` (a real local Hub's address) it is a gateway: a method without a plan is
forwarded as it is, and `forward_then` forwards a request and then damages the answer (a
502 after the Hub took the push, a stream cut before the task id, an answer too slow).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: No behaviour waits longer than this, whatever it was asked.
LONGEST_WAIT = 60.0
TASK_ID = "6b0f0000000000000000beef"
COMMIT_ID = "6b0f000000000000000c0111"
EXECUTOR_ID = "ab12cd34"


@dataclass
class Request:
    """One request the hostile Hub received."""

    method: str
    headers: dict[str, str]
    body_bytes: int


Behaviour = Callable[["_Handler"], None]


@dataclass
class HostileHub:
    """The server, its plan (method → behaviours) and what it saw."""

    plan: dict[str, list[Behaviour]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    #: Texts put into every text field the Hub sends (a Hub echoing secrets back).
    echo: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    #: A real Hub to forward to (a gateway in front of it), or "".
    upstream: str = ""
    _server: ThreadingHTTPServer | None = None

    def script(self, method: str, *behaviours: Behaviour) -> HostileHub:
        self.plan[method] = list(behaviours)
        return self

    def seen(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    def next_behaviour(self, method: str) -> Behaviour | None:
        planned = self.plan.get(method)
        if not planned:
            return None
        return planned.pop(0) if len(planned) > 1 else planned[0]

    def text(self, words: str) -> str:
        """A message as this Hub writes it: the echo appended, when there is one."""
        return f"{words} {self.echo}" if self.echo else words

    def wait(self, seconds: float = LONGEST_WAIT) -> None:
        self.stopping.wait(min(seconds, LONGEST_WAIT))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    body: bytes = b""

    @property
    def hub(self) -> HostileHub:
        return self.server.hub

    def do_POST(self) -> None:
        method = self.path.split("?", 1)[0].removeprefix("/v2/rpc/")
        behaviour = self.hub.next_behaviour(method)
        if behaviour is None and self.hub.upstream:
            behaviour = forward_then("nothing")
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.read_body() if behaviour is not stop_reading else b""
        self.body = body
        self.hub.requests.append(Request(method, headers, len(body)))
        if behaviour is None:
            self.send_json(404, {"code": 404, "status": 40402, "message": "no such method"})
            return
        behaviour(self)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return bytes(data)
        return b""

    def send_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def send_lines(self, lines: Sequence[dict[str, Any]]) -> None:
        for line in lines:
            self.send_chunk(json.dumps(line).encode() + b"\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hub: HostileHub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hub = hub

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # broken pipes are the point of many behaviours


@contextmanager
def hostile_hub(echo: str = "", upstream: str = "") -> Iterator[HostileHub]:
    """A started hostile Hub (a gateway to `upstream`, if given); stopped (every waiting
    behaviour released) on exit."""
    hub = HostileHub(echo=echo, upstream=upstream.rstrip("/"))
    server = _Server(hub)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield hub
    finally:
        hub.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


# -- behaviours ------------------------------------------------------------------------------


def whoami(name: str = "alice") -> Behaviour:
    def answer(h: _Handler) -> None:
        h.send_json(200, {"code": 200, "status": 20000, "data": {"name": name}})

    return answer


def status(code: int, hubble: int = 0, message: str = "", retry_after: str = "") -> Behaviour:
    """An HTTP error answer (with `Retry-After` when given)."""

    def answer(h: _Handler) -> None:
        body = {"code": code, "status": hubble or code * 100 + 1, "message": h.hub.text(message)}
        h.send_json(code, body, {"Retry-After": retry_after} if retry_after else None)

    return answer


def hang(h: _Handler) -> None:
    """Accept, and never answer (until the Hub stops)."""
    h.hub.wait()
    h.close_connection = True


def stop_reading(h: _Handler) -> None:
    """Read a little of the upload, then nothing more (the client's writes stall)."""
    h.rfile.read(64 * 1024)
    h.hub.wait()
    h.close_connection = True


def executor_payload(hub: HostileHub, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": EXECUTOR_ID,
        "name": "Hostile",
        "visibility": "public",
        "owner": {"name": "alice"},
        "commit": {"_id": COMMIT_ID, "tags": ["latest"]},
    }
    if hub.echo:  # a Hub that echoes everything back: in every field it sends
        payload.update(
            name=hub.echo,
            visibility=hub.echo,
            owner={"name": hub.echo},
            commit={"_id": hub.echo, "tags": [hub.echo]},
            readableMessage=hub.echo,
        )
    payload.update(changes)
    return payload


def push_lines(
    hub: HostileHub, *, task: bool = True, secret: str = "", **payload: Any
) -> list[dict[str, Any]]:
    """The lines of a push the Hub accepts (as the local Hub writes them)."""
    lines: list[dict[str, Any]] = [
        {"type": "start", "subject": hub.text("zip"), "message": hub.text("Checking")},
        {"type": "console", "subject": hub.text("zip"), "payload": hub.text("unpacked")},
        {"type": "warning", "subject": "tags", "message": hub.text("a warning")},
    ]
    if task:
        lines.append(
            {"type": "done", "subject": "createTask", "payload": TASK_ID, "task": {"_id": TASK_ID}}
        )
    body = executor_payload(hub, **payload)
    if secret:
        body["secret"] = secret
    lines.append({"type": "complete", "message": hub.text("Pushed"), "payload": body})
    return lines


def push_ok(*, task: bool = True, secret: str = "", **payload: Any) -> Behaviour:
    def answer(h: _Handler) -> None:
        h.start_stream()
        h.send_lines(push_lines(h.hub, task=task, secret=secret, **payload))
        h.end_stream()

    return answer


def push_error_line(hubble: int = 40901, message: str = "Tag is protected") -> Behaviour:
    def answer(h: _Handler) -> None:
        h.start_stream()
        h.send_lines(
            [
                {
                    "type": "error",
                    "subject": "push",
                    "message": h.hub.text(message),
                    "payload": {"status": hubble, "readableMessage": h.hub.text(message)},
                }
            ]
        )
        h.end_stream()

    return answer


def push_then(after: str) -> Behaviour:
    """Name the task, then: `break` (close mid-stream), `blank` (blank lines forever),
    `hang` (say nothing more), or `garbage` (a line that is not JSON)."""

    def answer(h: _Handler) -> None:
        h.start_stream()
        h.send_lines(push_lines(h.hub)[:-1])  # everything but `complete`
        if after == "break":
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)
            return
        if after == "garbage":
            h.send_chunk(h.hub.text("<html>oops").encode() + b"\n")
            h.end_stream()
            return
        deadline = time.monotonic() + LONGEST_WAIT
        while after == "blank" and time.monotonic() < deadline and not h.hub.stopping.is_set():
            try:
                h.send_chunk(b"\n")
            except OSError:
                return
            time.sleep(0.02)
        if after == "hang":
            h.hub.wait()
        h.close_connection = True

    return answer


def tasks(*entries: dict[str, Any]) -> Behaviour:
    def answer(h: _Handler) -> None:
        h.send_json(200, {"code": 200, "status": 20000, "data": list(entries)})

    return answer


def task_entry(
    task_id: str = TASK_ID, commit_id: str = COMMIT_ID, created: str = ""
) -> dict[str, Any]:
    return {
        "_id": task_id,
        "status": "pending",
        "createdAt": created or time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "commit": {"_id": commit_id},
    }


def progress(ending: str = "succeeded", *, log_lines: int = 3, line: str = "step") -> Behaviour:
    """A build's status stream: some log lines, then `succeeded` or `failed`; `forever`
    streams log lines until the Hub stops (a slow build); `empty` ends at once, saying nothing."""

    def answer(h: _Handler) -> None:
        h.start_stream()
        if ending == "empty":  # a stream that ends at once, saying nothing
            h.end_stream()
            return
        sn = 0

        def log(text: str) -> None:
            nonlocal sn
            sn += 1
            line = {"subject": "build", "payload": h.hub.text(text)}
            h.send_lines([{"type": "progress", "data": {"sn": sn, "data": line}}])

        h.send_lines([{"type": "report", "status": "pending"}])
        for n in range(log_lines):
            log(f"{line} {n}")
        if ending == "forever":
            deadline = time.monotonic() + LONGEST_WAIT
            while time.monotonic() < deadline and not h.hub.stopping.is_set():
                try:
                    log("still building")
                except OSError:
                    return
                time.sleep(0.05)
            h.close_connection = True
            return
        final: dict[str, Any] = {"type": "report", "status": ending, "task": {"_id": TASK_ID}}
        if ending == "succeeded":
            final["result"] = executor_payload(h.hub)
        else:
            final["error"] = {"message": h.hub.text("the build failed"), "code": 4000}
            final["message"] = h.hub.text("the build failed")
        h.send_lines([final])
        h.end_stream()

    return answer


def forward_then(damage: str, seconds: float = 0.0) -> Behaviour:
    """Forward the request to the upstream Hub, read its whole answer, then pass it on as it
    is (`nothing`), answer 502 instead (`502`), send its first line and cut the connection
    (`cut`), or pass it on after `seconds` (`delay`)."""

    def answer(h: _Handler) -> None:
        target = urllib.parse.urlsplit(h.hub.upstream)
        host = target.hostname or "127.0.0.1"
        connection = http.client.HTTPConnection(host, target.port, timeout=LONGEST_WAIT)
        keep = ("content-type", "authorization", "user-agent")
        headers = {k: v for k, v in h.headers.items() if k.lower() in keep}
        headers["Content-Length"] = str(len(h.body))
        try:
            connection.request("POST", h.path, body=h.body, headers=headers)
            upstream = connection.getresponse()
            status, kind, data = (
                upstream.status,
                upstream.getheader("Content-Type"),
                upstream.read(),
            )
        finally:
            connection.close()
        if damage == "502":
            h.send_json(502, {"message": "Bad Gateway"})
            return
        if damage == "cut":
            h.start_stream()
            first = data.split(b"\n", 1)[0]
            h.send_chunk(first + b"\n")
            h.close_connection = True
            h.connection.shutdown(2)  # no end of the stream: the client sees it broken
            return
        if damage == "delay":
            h.hub.wait(seconds)
        h.send_response(status)
        h.send_header("Content-Type", kind or "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return answer
