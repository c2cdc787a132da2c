"""The HTTP side: ``POST /v2/rpc/<method>`` routes, JSON answers and NDJSON streams.

A standard-library ``ThreadingHTTPServer`` speaking HTTP/1.1. Streams use chunked transfer
encoding, one JSON object per line, each ending in ``\\n``, never a blank line (the official
client crashes on one). The request log names methods, statuses and users, never tokens,
secrets or form values.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from localhub import push_rules
from localhub.errors import RPC_METHOD_NOT_FOUND, SERVER_INTERNAL, RpcError
from localhub.forms import Body, Form, read_form
from localhub.service import HubService

log = logging.getLogger("localhub")
EXECUTOR_PAGE = re.compile(r"/executor/([A-Za-z0-9_-]{1,64})/?")

RPC_PREFIX = "/v2/rpc/"


class LocalHubServer(ThreadingHTTPServer):
    """The HTTP server; its handlers reach the Hub through :attr:`service`."""

    daemon_threads = True
    allow_reuse_address = True
    #: Many clients connect at once in the race tests; the default backlog of 5 resets some.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: HubService) -> None:
        self.service = service
        super().__init__(address, HubRequestHandler)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away is routine; anything else is logged with its traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            log.info("client %s went away", client_address[0])
            return
        log.exception("error while serving %s", client_address[0])


Route = Callable[["HubRequestHandler", Body, "str | None"], None]


class HubRequestHandler(BaseHTTPRequestHandler):
    """One connection; each request is one RPC call."""

    protocol_version = "HTTP/1.1"
    #: Idle keep-alive connections (and stalled uploads) are closed after this many seconds.
    timeout = 600
    server_version = "hub-push-localhub/0.1"
    server: LocalHubServer

    _user: str | None = None

    # dispatch -----------------------------------------------------------------------------
    def do_POST(self) -> None:
        self._user = None
        path = self.path.split("?", 1)[0]
        body: Body | None = None
        try:
            body = Body(self.headers, self.rfile)
            method = path[len(RPC_PREFIX) :] if path.startswith(RPC_PREFIX) else ""
            route = ROUTES.get(method)
            if route is None:
                raise RpcError(
                    RPC_METHOD_NOT_FOUND, f"There is no RPC method `{path}` on this Hub."
                )
            self._user = self.service.identify(self.headers.get("Authorization"))
            route(self, body, self._user)
        except RpcError as error:
            if body is None:
                self.close_connection = True
            else:
                body.drain()
            self.send_json(error.http_status, error.body())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            log.exception("internal error on %s", path)
            self.close_connection = True
            crash = RpcError(SERVER_INTERNAL, f"Internal error of the local Hub: {exc}")
            self.send_json(500, crash.body())

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/healthz"):
            self.send_json(200, {"code": 200, "status": 20000, "message": "local Hub is up"})
            return
        if page := EXECUTOR_PAGE.fullmatch(path):
            self._executor_page(page.group(1))
            return
        error = RpcError(RPC_METHOD_NOT_FOUND, "Every method of this Hub is POST /v2/rpc/<method>.")
        self.send_json(404, error.body())

    def _executor_page(self, ident: str) -> None:
        """`/executor/ID/`: a public executor's page (what the action's `url` output links)."""
        try:
            data = self.service.get_package(Form({"id": ident}), None)["data"]
        except RpcError as error:
            self.send_json(error.http_status, error.body())
            return
        rows = "".join(
            f"<tr><th>{escape(label)}</th><td>{escape(str(value))}</td></tr>"
            for label, value in (
                ("ID", data.get("id", "")),
                ("visibility", data.get("visibility", "")),
                ("tags", ", ".join(data.get("tags", []))),
                ("protected tags", ", ".join(data.get("protectedTags", []))),
            )
        )
        name = escape(str(data.get("name", ident)))
        html = f"<!doctype html><title>{name}</title><h1>{name}</h1><table>{rows}</table>\n"
        body = html.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @property
    def service(self) -> HubService:
        return self.server.service

    def form(self, body: Body) -> Form:
        return read_form(
            self.headers,
            body,
            uploads_dir=self.service.store.uploads_dir,
            max_upload_bytes=self.service.settings.max_upload_bytes,
        )

    # answers ------------------------------------------------------------------------------
    def send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_stream(self, lines: Iterator[dict[str, Any]], status: int = 200) -> None:
        """Stream NDJSON with chunked transfer encoding, one line per chunk."""
        self.send_response(status)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for line in lines:
                data = (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8")
                self.wfile.write(f"{len(data):X}\r\n".encode("ascii") + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()

    # logging: method, status and user only --------------------------------------------------
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0] if hasattr(self, "path") else "?"
        who = self._user or "anonymous"
        log.info("%s %s -> %s (%s)", self.command, path, code, who)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("http: " + format, *args)


# routes -----------------------------------------------------------------------------------
def _whoami(handler: HubRequestHandler, body: Body, user: str | None) -> None:
    body.drain()
    handler.send_json(200, handler.service.whoami(user))


def _push(handler: HubRequestHandler, body: Body, user: str | None, *, update: bool) -> None:
    form = handler.form(body)
    upload = handler.service.check_upload(form)
    handler.send_stream(handler.service.push(form, upload, user, update=update))


def _list_tasks(handler: HubRequestHandler, body: Body, user: str | None) -> None:
    handler.send_json(200, handler.service.list_tasks(handler.form(body), user))


def _query_progress(handler: HubRequestHandler, body: Body, user: str | None) -> None:
    form = handler.form(body)
    if form.file is not None:
        form.file.discard()
    try:
        task, _ = handler.service.open_progress(form, user)
    except RpcError as error:
        # The official client reads a `code` >= 400 on the first line of the stream.
        handler.send_stream(iter([error.body()]), status=error.http_status)
        return
    replay = push_rules.parse_flag(form.get("replay"), "replay")
    handler.send_stream(handler.service.progress(task, replay=replay))


def _get_package(handler: HubRequestHandler, body: Body, user: str | None) -> None:
    handler.send_json(200, handler.service.get_package(handler.form(body), user))


ROUTES: dict[str, Route] = {
    "user.identity.whoami": _whoami,
    "executor.push": lambda h, b, u: _push(h, b, u, update=False),
    "executor.update": lambda h, b, u: _push(h, b, u, update=True),
    "executor.listAsyncTasks": _list_tasks,
    "executor.queryProgress": _query_progress,
    "executor.getPackage": _get_package,
}
