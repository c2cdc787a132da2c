"""The Hubble RPC client (httpx): `POST {hub}/v2/rpc/<method>` for every call.

Safe calls (whoami, listAsyncTasks, queryProgress) are retried with backoff on network
faults and 5xx answers; the upload is never re-sent. The archive streams from disk.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from hub_push import __version__
from hub_push.errors import (
    BuildFailedError,
    BuildTimeoutError,
    HubError,
    HubUnreachableError,
    LoginRefusedError,
    PushRefusedError,
    PushUnfinishedError,
    UploadBrokenError,
)
from hub_push.hub.models import (
    BuildResult,
    BuildStatus,
    ExecutorResult,
    ProgressEvent,
    PushEvent,
    PushRequest,
    PushResult,
    User,
)

AUTH_REQUIRED = 40103
SAFE_ATTEMPTS = 4
#: One queryProgress stream is read at most this long before it is reopened.
STREAM_SLICE = 30.0
#: Seconds the read of a push response may be silent (the Hub unpacks and checks the upload).
PUSH_READ_TIMEOUT = 600.0

PushEventHandler = Callable[[PushEvent], None]
ProgressHandler = Callable[[ProgressEvent], None]


def _message(body: Any, fallback: str) -> str:
    """The readable text of a Hubble answer or error line (`readableMessage` first)."""
    if isinstance(body, dict):
        payload = body.get("payload")
        for source in (payload, body):
            if isinstance(source, dict):
                for key in ("readableMessage", "message"):
                    text = source.get(key)
                    if isinstance(text, str) and text.strip():
                        return text.strip()
        if isinstance(payload, str) and payload.strip():
            return payload.strip()
    return fallback


def _status_code(body: Any) -> int | None:
    if isinstance(body, dict):
        for source in (body.get("payload"), body):
            if isinstance(source, dict) and isinstance(source.get("status"), int):
                return int(source["status"])
    return None


def _lines(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """NDJSON objects of a streamed answer; blank lines are skipped."""
    for raw in response.iter_lines():
        line = raw.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            raise HubError(f"The Hub sent a line that is not JSON: {line[:200]!r}") from None
        if isinstance(item, dict):
            yield item


class HubClient:
    """One Hub, one optional login token, one connection pool."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 1.0,
    ) -> None:
        headers = {"User-Agent": f"hub-push/{__version__}"}
        if token:
            headers["Authorization"] = f"token {token}"
        self.base_url = base_url.rstrip("/")
        self._backoff = backoff
        self._http = httpx.Client(
            base_url=self.base_url + "/v2/rpc/",
            headers=headers,
            timeout=httpx.Timeout(30.0, connect=10.0),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the safe calls ------------------------------------------------------------------------

    def _retrying(self, what: str, call: Callable[[], httpx.Response]) -> httpx.Response:
        """Run a safe call, retrying network faults and 5xx answers with backoff."""
        for attempt in range(1, SAFE_ATTEMPTS + 1):
            try:
                response = call()
            except httpx.TransportError as exc:
                if attempt == SAFE_ATTEMPTS:
                    raise HubUnreachableError(
                        f"Could not reach the Hub at {self.base_url} for {what}: {exc}"
                    ) from None
            else:
                if response.status_code < 500 or attempt == SAFE_ATTEMPTS:
                    return response
                response.close()
            time.sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def whoami(self) -> User:
        """Check the login token before anything is uploaded."""
        response = self._retrying(
            "the login check", lambda: self._http.post("user.identity.whoami")
        )
        body = _json(response)
        if response.status_code == 401 or _status_code(body) == AUTH_REQUIRED:
            raise LoginRefusedError(
                "The Hub refused the login token: it is invalid or expired.", code=AUTH_REQUIRED
            )
        if response.status_code >= 400:
            raise _http_error(response, body, "The login check failed")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("name"):
            raise HubError("The Hub's login check answered without a user name.")
        return User(name=str(data["name"]), nickname=str(data.get("nickname") or ""))

    def find_task(self, executor: str) -> str:
        """The newest build task of an executor (`jina hub status PATH`), or ""."""
        form = {"id": executor, "sort": "-createdAt", "pageSize": "1"}
        response = self._retrying(
            "the build task lookup", lambda: self._http.post("executor.listAsyncTasks", data=form)
        )
        body = _json(response)
        if response.status_code >= 400:
            raise _http_error(response, body, "Looking up the build task failed")
        tasks = body.get("data") if isinstance(body, dict) else None
        if isinstance(tasks, list) and tasks and isinstance(tasks[0], dict):
            return str(tasks[0].get("_id") or "")
        return ""

    # -- the upload ----------------------------------------------------------------------------

    def push(self, request: PushRequest, archive: Path, on_event: PushEventHandler) -> PushResult:
        """Upload the archive and read the push stream to its `complete` line.

        Sent once: a push that fails half-way is reported, never silently repeated.
        """
        timeout = httpx.Timeout(60.0, connect=10.0, read=PUSH_READ_TIMEOUT)
        warnings: list[str] = []
        task_id = ""
        try:
            with (
                archive.open("rb") as upload,
                self._http.stream(
                    "POST",
                    request.method,
                    data=dict(request.form_fields()),
                    files={"file": ("filename", upload, "application/octet-stream")},
                    timeout=timeout,
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise _http_error(
                        response, _json(response), "The Hub refused the push", PushRefusedError
                    )
                for line in _lines(response):
                    on_event(_push_event(line))
                    task = line.get("task")
                    if isinstance(task, dict) and isinstance(task.get("_id"), str):
                        task_id = task["_id"]
                    kind = line.get("type")
                    if kind == "error":
                        raise PushRefusedError(
                            _message(line, "The Hub reported an error without a message."),
                            code=_status_code(line),
                        )
                    if kind == "warning":
                        warnings.append(_message(line, "warning"))
                    if kind == "complete":
                        payload = line.get("payload")
                        if not isinstance(payload, dict) or not payload:
                            break
                        if isinstance(line.get("warning"), str):
                            warnings.append(line["warning"])
                        return PushResult(
                            executor=ExecutorResult.from_wire(payload),
                            task_id=task_id,
                            warnings=tuple(warnings),
                            message=str(line.get("message") or ""),
                        )
        except httpx.TransportError as exc:
            raise UploadBrokenError(f"The push to {self.base_url} broke off: {exc}") from None
        raise PushUnfinishedError("The Hub closed the push without a result.")

    # -- the build -----------------------------------------------------------------------------

    def follow_build(
        self,
        task_id: str,
        *,
        timeout: float,
        verbose: bool = False,
        secret: str | None = None,
        on_progress: ProgressHandler = lambda _: None,
    ) -> BuildResult:
        """Read `executor.queryProgress` until the task ends or `timeout` seconds pass.

        A stream the Hub closes early is reopened with `replay`, and log lines already seen
        (by their sequence number) are skipped. Raises `BuildFailedError` or
        `BuildTimeoutError`, both with the log read so far.
        """
        deadline = time.monotonic() + timeout
        watch = _BuildWatch(task_id, on_progress)
        form = {"replay": "True", "verbose": str(verbose), "id": task_id}
        if secret:
            form["secret"] = secret
        while (remaining := deadline - time.monotonic()) > 0:
            read_timeout = httpx.Timeout(30.0, connect=10.0, read=min(remaining, STREAM_SLICE))
            try:
                with self._open_progress(form, read_timeout) as response:
                    for line in _lines(response):
                        if (result := watch.take(line)) is not None:
                            return result
            except httpx.ReadTimeout:
                continue  # a quiet stream: reopen it while there is time left
            except httpx.TransportError:
                pass
            # The stream ended (or broke) before the task did: ask again shortly.
            time.sleep(min(self._backoff, max(deadline - time.monotonic(), 0)))
        raise BuildTimeoutError(
            f"The build task {task_id} was still `{watch.status}` after {_duration(timeout)}.",
            task_id=task_id,
            log=tuple(watch.log),
        )

    @contextmanager
    def _open_progress(
        self, form: dict[str, str], timeout: httpx.Timeout
    ) -> Iterator[httpx.Response]:
        files = {k: (None, v) for k, v in form.items()}  # multipart, as the official client
        for attempt in range(1, SAFE_ATTEMPTS + 1):
            with self._http.stream(
                "POST", "executor.queryProgress", files=files, timeout=timeout
            ) as response:
                if response.status_code >= 500 and attempt < SAFE_ATTEMPTS:
                    time.sleep(self._backoff * 2 ** (attempt - 1))
                    continue
                if response.status_code >= 400:
                    response.read()
                    raise _http_error(response, _json(response), "The build status query failed")
                yield response
                return


class _BuildWatch:
    """What the queryProgress lines of one task have said so far."""

    def __init__(self, task_id: str, on_progress: ProgressHandler) -> None:
        self.task_id = task_id
        self.on_progress = on_progress
        self.status: BuildStatus = "pending"
        self.log: list[str] = []
        self.last_sn = 0

    def take(self, line: dict[str, Any]) -> BuildResult | None:
        """Read one line: a result when the build succeeded; raises when it failed."""
        code = line.get("code")
        if isinstance(code, int) and code >= 400:
            message = _message(line, "The Hub refused the build status query.")
            raise HubError(message, code=code)
        kind = line.get("type")
        if kind == "error":
            raise HubError(_message(line, "The build status query failed."))
        if kind == "progress":
            entry = _log_entry(line)
            if entry and entry[0] > self.last_sn:  # replayed lines were seen already
                self.last_sn = entry[0]
                self.log.append(entry[1])
                self.on_progress(ProgressEvent(self.status, (entry[1],)))
            return None
        reported = line.get("status") if kind == "report" else None
        if reported in ("pending", "waiting"):
            if reported != self.status:
                self.status = reported
                self.on_progress(ProgressEvent(self.status))
        elif reported == "succeeded":
            result = line.get("result")
            executor = ExecutorResult.from_wire(result) if isinstance(result, dict) else None
            return BuildResult(self.task_id, "succeeded", executor=executor, log=tuple(self.log))
        elif reported == "failed":
            error = line.get("error")
            reason = _message(
                {"payload": error} if isinstance(error, dict) else line,
                "The build failed without a reason.",
            )
            raise BuildFailedError(
                f"The build task {self.task_id} failed: {reason}",
                task_id=self.task_id,
                log=tuple(self.log),
            )
        return None


def _push_event(line: dict[str, Any]) -> PushEvent:
    """The typed form of one push-stream line (its payload object is never passed on)."""
    payload = line.get("payload")
    secret = payload.get("secret") if isinstance(payload, dict) else None
    text = line.get("message") or (payload if isinstance(payload, str) else "")
    return PushEvent(
        kind=str(line.get("type") or ""),
        subject=str(line.get("subject") or ""),
        text=str(text),
        secret=secret if isinstance(secret, str) else "",
    )


def _log_entry(line: dict[str, Any]) -> tuple[int, str] | None:
    """(sequence number, text) of a `progress` line's console payload."""
    outer = line.get("data")
    if not isinstance(outer, dict):
        return None
    inner = outer.get("data")
    sn = outer.get("sn")
    if not isinstance(inner, dict) or not isinstance(sn, int):
        return None
    payload = inner.get("payload")
    subject = inner.get("subject")
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return sn, f"[{subject}] {text}" if subject else text


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _http_error(
    response: httpx.Response, body: Any, what: str, kind: type[HubError] = HubError
) -> HubError:
    text = _message(body, response.text[:200].strip() or response.reason_phrase)
    return kind(f"{what} (HTTP {response.status_code}): {text}", code=_status_code(body))


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
