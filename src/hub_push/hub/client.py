"""The Hubble RPC client (httpx): `POST {hub}/v2/rpc/<method>` for every call.

Everything the Hub sends is untrusted: its texts pass through `scrub` (the caller's redaction)
before they are shortened or put in an error, and the names and ids it returns are checked
against its grammar (`models.checked`). Every wait is bounded by the run's `Deadline`:
connect, read and write timeouts on each call, the deadline checked on every streamed line.

Safe calls (whoami, listAsyncTasks, queryProgress) are retried on transport errors, 5xx and
429 answers, with jittered backoff, honouring `Retry-After` while the deadline allows. The
upload is sent again only when the connection was never made (so the Hub cannot have it).
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import httpx

from hub_push import __version__
from hub_push.deadline import Deadline
from hub_push.errors import (
    BuildFailedError,
    BuildTimeoutError,
    DeadlineError,
    HubError,
    HubUnreachableError,
    LoginRefusedError,
    NoBuildTaskError,
    PushRefusedError,
    PushUnfinishedError,
    UploadBrokenError,
)
from hub_push.hub.models import (
    BuildResult,
    BuildStatus,
    ExecutorResult,
    ExistingTag,
    ProgressEvent,
    PushEvent,
    PushRequest,
    PushResult,
    User,
    checked,
)

AUTH_REQUIRED = 40103
SAFE_ATTEMPTS = 4
#: Per-call limits (each also capped by what is left of the deadline).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
#: How long an upload may make no progress (the Hub stopped reading) before it is given up.
STALL_TIMEOUT = 60.0
#: Seconds the read of a push response may be silent (the Hub unpacks and checks the upload).
PUSH_READ_TIMEOUT = 600.0
#: One queryProgress stream is read at most this long before it is reopened.
STREAM_SLICE = 30.0
#: The pause before reopening a status stream that ended without a line.
EMPTY_STREAM_PAUSE = 0.5
#: The longest pause between two tries of a safe call (without a `Retry-After`).
MAX_BACKOFF = 10.0
#: How much longer than the upload's start a task may look created (clocks differ).
CLOCK_SKEW = timedelta(seconds=5)
#: The most of a Hub text that goes into one message (after redaction).
TEXT_LIMIT = 300
CHUNK = 1024 * 1024

PushEventHandler = Callable[[PushEvent], None]
ProgressHandler = Callable[[ProgressEvent], None]
#: `on_upload(bytes read for the upload, archive size)`.
UploadHandler = Callable[[int, int], None]
Scrub = Callable[[str], str]


class HubClient:
    """One Hub, one optional login token, one connection pool, one deadline."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        deadline: Deadline,
        scrub: Scrub = lambda text: text,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 1.0,
    ) -> None:
        headers = {"User-Agent": f"hub-push/{__version__}"}
        if token:
            headers["Authorization"] = f"token {token}"
        self.base_url = base_url.rstrip("/")
        self.deadline = deadline
        self._scrub = scrub
        self._backoff = backoff
        self._http = httpx.Client(
            base_url=self.base_url + "/v2/rpc/",
            headers=headers,
            timeout=self._timeout(),
            transport=transport,
            follow_redirects=False,
            trust_env=True,  # a runner's HTTPS_PROXY, NO_PROXY and SSL_CERT_FILE
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- limits --------------------------------------------------------------------------------

    def _timeout(self, read: float = READ_TIMEOUT) -> httpx.Timeout:
        cap = self.deadline.cap
        return httpx.Timeout(
            connect=cap(CONNECT_TIMEOUT),
            read=cap(read),
            write=cap(STALL_TIMEOUT),
            pool=cap(CONNECT_TIMEOUT),
        )

    def _check_deadline(self, doing: str, task_id: str = "") -> None:
        if self.deadline.expired:
            raise DeadlineError(f"The run reached its deadline while {doing}.", task_id=task_id)

    def _pause(self, attempt: int, response: httpx.Response | None, doing: str) -> None:
        """Wait before trying again: `Retry-After` if the Hub said, else jittered backoff."""
        wait = _retry_after(response) if response is not None else None
        if wait is None:
            wait = min(MAX_BACKOFF, self._backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
        if wait >= self.deadline.remaining():
            raise DeadlineError(
                f"The Hub asked to wait {wait:.0f} s before {doing} again, past the run's deadline."
            )
        time.sleep(wait)

    def _text(self, text: str) -> str:
        """A Hub text for a message: redacted first, then shortened, on one line."""
        flat = " ".join(self._scrub(text).split())
        return flat if len(flat) <= TEXT_LIMIT else flat[: TEXT_LIMIT - 1] + "…"

    # -- the safe calls ------------------------------------------------------------------------

    def _retrying(
        self, doing: str, call: Callable[[httpx.Timeout], httpx.Response]
    ) -> httpx.Response:
        """Run a safe call, retrying transport errors, 5xx and 429 within the deadline."""
        for attempt in range(1, SAFE_ATTEMPTS + 1):
            self._check_deadline(doing)
            try:
                response = call(self._timeout())
            except httpx.TransportError as exc:
                if attempt == SAFE_ATTEMPTS:
                    raise HubUnreachableError(
                        f"Could not reach the Hub at {self.base_url} for {doing}: "
                        f"{self._text(str(exc)) or type(exc).__name__}"
                    ) from None
                self._pause(attempt, None, doing)
                continue
            if (response.status_code < 500 and response.status_code != 429) or (
                attempt == SAFE_ATTEMPTS
            ):
                return response
            self._pause(attempt, response, doing)
        raise AssertionError("unreachable")  # pragma: no cover

    def whoami(self) -> User:
        """Check the login token before anything is uploaded."""
        response = self._retrying(
            "the login check", lambda t: self._http.post("user.identity.whoami", timeout=t)
        )
        body = _json(response)
        if response.status_code == 401 or _status_code(body) == AUTH_REQUIRED:
            raise LoginRefusedError(
                "The Hub refused the login token: it is invalid or expired.", code=AUTH_REQUIRED
            )
        if response.status_code >= 400:
            raise self._http_error(response, body, "The login check failed")
        data = body.get("data") if isinstance(body, dict) else None
        name = checked("owner", data.get("name"), []) if isinstance(data, dict) else ""
        if not name:
            raise HubError("The Hub's login check answered without a valid user name.")
        return User(name=name)

    def find_task(
        self, executor: str, *, commit_id: str, since: datetime, secret: str | None = None
    ) -> str:
        """The build task of this push, from `executor.listAsyncTasks`, or "" when none is.

        With the commit the push created (the Hub names it on `complete`), the task is the one
        building that commit. Without it, the one task created since the upload began; if
        several were (another push of the same executor ran at once), the Hub's list can't
        tell which is ours, and that is an error rather than a guess.
        """
        form = {"id": executor, "sort": "-createdAt", "pageSize": "10"}
        if secret:
            form["secret"] = secret
        for attempt in range(1, 4):  # the task may be listed a moment after the push
            response = self._retrying(
                "the build task lookup",
                lambda t: self._http.post("executor.listAsyncTasks", data=form, timeout=t),
            )
            body = _json(response)
            if response.status_code >= 400:
                raise self._http_error(response, body, "Looking up the build task failed")
            tasks = body.get("data") if isinstance(body, dict) else None
            ours = _tasks_of_this_push(tasks if isinstance(tasks, list) else [], commit_id, since)
            if len(ours) == 1:
                return ours[0]
            if len(ours) > 1:
                raise NoBuildTaskError(
                    f"Several build tasks of {executor} started during this push "
                    f"({', '.join(ours)}); the Hub's list can't tell which one is this push's."
                )
            if attempt < 3:
                self._pause(attempt, None, "the build task lookup")
        return ""

    def existing_tag(self, executor: str, tag: str, *, secret: str | None) -> ExistingTag | None:
        """The tag on the Hub (`executor.getPackage`), or None when the Hub has no such tag."""
        body = {"id": executor, "tag": tag, **({"secret": secret} if secret else {})}
        response = self._retrying(
            "checking the tags already on the Hub",
            lambda t: self._http.post("executor.getPackage", json=body, timeout=t),
        )
        answer = _json(response)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise self._http_error(response, answer, "Checking the tags on the Hub failed")
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise HubError("The Hub answered the tag check without the executor's data.")
        package = data.get("package")
        md5 = package.get("md5") if isinstance(package, dict) else None
        return ExistingTag(executor=ExecutorResult.from_wire(data), md5=checked("md5", md5, []))

    # -- the upload ----------------------------------------------------------------------------

    def push(
        self,
        request: PushRequest,
        archive: Path,
        on_event: PushEventHandler,
        on_upload: UploadHandler = lambda _done, _total: None,
    ) -> PushResult:
        """Upload the archive and read the push stream to its `complete` line.

        Sent again only when the connection could not be made at all; a push that fails
        once bytes may have left is reported, never silently repeated.
        """
        for attempt in range(1, SAFE_ATTEMPTS + 1):
            self._check_deadline("uploading")
            try:
                return self._push_once(request, archive, on_event, on_upload)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == SAFE_ATTEMPTS:
                    raise HubUnreachableError(
                        f"Could not connect to the Hub at {self.base_url} to upload: "
                        f"{self._text(str(exc)) or type(exc).__name__}"
                    ) from None
                self._pause(attempt, None, "uploading")
        raise AssertionError("unreachable")  # pragma: no cover

    def _push_once(
        self,
        request: PushRequest,
        archive: Path,
        on_event: PushEventHandler,
        on_upload: UploadHandler,
    ) -> PushResult:
        warnings: list[str] = []
        named = _Named()  # the task id, once the stream names it: kept whatever happens next
        try:
            with (
                archive.open("rb") as file,
                self._http.stream(
                    "POST",
                    request.method,
                    data=dict(request.form_fields()),
                    files={
                        "file": (
                            "filename",
                            _Bounded.wrap(file, self.deadline, on_upload),
                            "application/zip",
                        )
                    },
                    timeout=self._timeout(read=PUSH_READ_TIMEOUT),
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    refusal = HubError if response.status_code >= 500 else PushRefusedError
                    raise self._http_error(
                        response, _json(response), "The Hub refused the push", refusal
                    )
                for line in self._lines(response, "reading the push's answer", named.get):
                    on_event(_push_event(line))
                    task = line.get("task")
                    if isinstance(task, dict):
                        named.task_id = checked("task id", task.get("_id"), []) or named.task_id
                    kind = line.get("type")
                    if kind == "error":
                        raise PushRefusedError(
                            self._text(_message(line, "The Hub reported an error.")),
                            code=_status_code(line),
                            task_id=named.task_id,
                        )
                    if kind == "warning":
                        warnings.append(self._text(_message(line, "warning")))
                    if kind == "complete":
                        payload = line.get("payload")
                        if not isinstance(payload, dict) or not payload:
                            break
                        if isinstance(line.get("warning"), str):
                            warnings.append(self._text(line["warning"]))
                        executor = ExecutorResult.from_wire(payload)
                        if executor.rejected:
                            warnings.append(
                                "The Hub sent a value outside its own grammar, left out: "
                                + ", ".join(executor.rejected)
                            )
                        return PushResult(
                            executor=executor,
                            task_id=named.task_id,
                            warnings=tuple(warnings),
                            message=self._text(str(line.get("message") or "")),
                        )
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise  # nothing was sent: `push` may try again
        except httpx.TransportError as exc:
            raise UploadBrokenError(
                f"The push to {self.base_url} broke off "
                f"({self._text(str(exc)) or type(exc).__name__}); it was not sent again.",
                task_id=named.task_id,
            ) from None
        raise PushUnfinishedError(
            "The Hub closed the push without a result.", task_id=named.task_id
        )

    # -- the build -----------------------------------------------------------------------------

    def follow_build(
        self,
        task_id: str,
        *,
        verbose: bool = False,
        secret: str | None = None,
        on_progress: ProgressHandler = lambda _: None,
    ) -> BuildResult:
        """Read `executor.queryProgress` until the task ends or the deadline passes.

        A stream the Hub closes early is reopened with `replay`, and log lines already seen
        (by their sequence number) are skipped. Raises `BuildFailedError` or
        `BuildTimeoutError`, both with the log read so far.
        """
        watch = _BuildWatch(task_id, on_progress, self._text)
        form = {"replay": "True", "verbose": str(verbose), "id": task_id}
        if secret:
            form["secret"] = secret
        attempt = 0
        try:
            while True:
                self._check_deadline("following the build", task_id)
                attempt += 1
                try:
                    with self._open_progress(form) as response:
                        if response.status_code >= 500 or response.status_code == 429:
                            response.read()
                            self._pause(min(attempt, 6), response, "asking for the build status")
                            continue
                        if response.status_code >= 400:
                            response.read()
                            raise self._http_error(
                                response, _json(response), "The build status query failed"
                            )
                        lines = 0
                        for line in self._lines(response, "following the build", watch.get_id):
                            lines += 1
                            if (result := watch.take(line)) is not None:
                                return result
                        attempt = 0  # the stream ended before the task: reopen it
                        if not lines:  # ...but not in a tight loop if it said nothing
                            time.sleep(min(EMPTY_STREAM_PAUSE, self.deadline.remaining()))
                except httpx.ReadTimeout:
                    continue  # a quiet stream: reopen it while there is time left
                except httpx.TransportError:
                    self._pause(min(attempt, 6), None, "asking for the build status")
        except DeadlineError:
            raise BuildTimeoutError(
                f"The build task {task_id} was still `{watch.status}` at the run's deadline.",
                task_id=task_id,
                log=tuple(watch.log),
            ) from None

    @contextmanager
    def _open_progress(self, form: dict[str, str]) -> Iterator[httpx.Response]:
        files = {k: (None, v) for k, v in form.items()}  # multipart, as the official client
        with self._http.stream(
            "POST", "executor.queryProgress", files=files, timeout=self._timeout(STREAM_SLICE)
        ) as response:
            yield response

    # -- reading answers -----------------------------------------------------------------------

    def _lines(
        self, response: httpx.Response, doing: str, task_id: Callable[[], str]
    ) -> Iterator[dict[str, Any]]:
        """NDJSON objects of a streamed answer; the deadline is checked on every line, blank
        ones included (a Hub sending blank lines forever is stopped by it)."""
        for raw in response.iter_lines():
            self._check_deadline(doing, task_id())
            line = raw.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                raise HubError(
                    f"The Hub sent a line that is not JSON: {self._text(line)}",
                    task_id=task_id(),
                ) from None
            if isinstance(item, dict):
                yield item

    def _http_error(
        self, response: httpx.Response, body: Any, what: str, kind: type[HubError] = HubError
    ) -> HubError:
        text = _message(body, response.text or response.reason_phrase)
        return kind(
            f"{what} (HTTP {response.status_code}): {self._text(text)}", code=_status_code(body)
        )


class _Named:
    """The build task a push stream named so far."""

    task_id = ""

    def get(self) -> str:
        return self.task_id


class _Bounded:
    """The archive as the upload reads it: large chunks, and the deadline checked on each.

    `fileno`, `seek` and `tell` let httpx size the body (a Content-Length, not chunks).
    """

    def __init__(self, file: IO[bytes], deadline: Deadline, on_read: UploadHandler) -> None:
        self._file = file
        self._deadline = deadline
        self._on_read = on_read
        self._total = os.fstat(file.fileno()).st_size

    @classmethod
    def wrap(cls, file: IO[bytes], deadline: Deadline, on_read: UploadHandler) -> IO[bytes]:
        """The file, bounded, typed as the file object httpx takes (it only reads, seeks)."""
        return cast("IO[bytes]", cls(file, deadline, on_read))

    def fileno(self) -> int:
        return self._file.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def read(self, size: int = -1) -> bytes:
        if self._deadline.expired:
            raise DeadlineError("The run reached its deadline while uploading.")
        data = self._file.read(CHUNK if size is None or size < 0 else max(size, CHUNK))
        self._on_read(self._file.tell(), self._total)
        return data


class _BuildWatch:
    """What the queryProgress lines of one task have said so far."""

    def __init__(
        self, task_id: str, on_progress: ProgressHandler, text: Callable[[str], str]
    ) -> None:
        self.task_id = task_id
        self.on_progress = on_progress
        self.text = text
        self.status: BuildStatus = "pending"
        self.log: list[str] = []
        self.last_sn = 0

    def get_id(self) -> str:
        return self.task_id

    def take(self, line: dict[str, Any]) -> BuildResult | None:
        """Read one line: a result when the build succeeded; raises when it failed."""
        code = line.get("code")
        if isinstance(code, int) and code >= 400:
            message = _message(line, "The Hub refused the build status query.")
            raise HubError(self.text(message), code=code, task_id=self.task_id)
        kind = line.get("type")
        if kind == "error":
            message = _message(line, "The build status query failed.")
            raise HubError(self.text(message), task_id=self.task_id)
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
                f"The build task {self.task_id} failed: {self.text(reason)}",
                task_id=self.task_id,
                log=tuple(self.log),
            )
        return None


def _tasks_of_this_push(tasks: list[Any], commit_id: str, since: datetime) -> list[str]:
    """Ids of the listed tasks that can be this push's (see `HubClient.find_task`)."""
    found: list[str] = []
    for task in tasks:
        if not isinstance(task, dict):
            continue
        task_id = checked("task id", task.get("_id"), [])
        commit = task.get("commit")
        if not task_id:
            continue
        if commit_id:
            if isinstance(commit, dict) and commit.get("_id") == commit_id:
                found.append(task_id)
            continue
        created = _timestamp(task.get("createdAt"))
        if created is None or created >= since - CLOCK_SKEW:
            found.append(task_id)  # a task of unknown age can't be ruled out
    return found


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the Hub asked us to wait (`Retry-After`: seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


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


def _push_event(line: dict[str, Any]) -> PushEvent:
    """The typed form of one push-stream line (its payload object is never passed on)."""
    payload = line.get("payload")
    secret = payload.get("secret") if isinstance(payload, dict) else None
    text = line.get("message") or (payload if isinstance(payload, str) else "")
    return PushEvent(
        kind=str(line.get("type") or ""),
        subject=str(line.get("subject") or ""),
        text=str(text),
        secret=secret.strip() if isinstance(secret, str) else "",
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
