"""The Hubble RPC client: the Hub's methods (login, tags, upload, task, build) over
`transport.py` (httpx, deadline, retries), reading answers with `wire.py`.

Everything the Hub sends is untrusted: texts are redacted and shortened, names and ids checked
against its grammar (`models.checked`). Safe calls (whoami, listAsyncTasks, getPackage,
queryProgress) are retried; the upload is sent again only when the connection was never made
(so the Hub cannot have it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from hub_push.deadline import Deadline
from hub_push.errors import (
    BuildTimeoutError,
    DeadlineError,
    HubError,
    LoginRefusedError,
    NoBuildTaskError,
    PushAnswerLostError,
    PushRefusedError,
    PushUnfinishedError,
    UploadBrokenError,
)
from hub_push.hub.models import (
    BuildResult,
    ExecutorResult,
    ExistingTag,
    HubExecutor,
    ProgressEvent,
    PushEvent,
    PushRequest,
    PushResult,
    User,
    checked,
)
from hub_push.hub.transport import (
    REASON_LIMIT,
    Bounded,
    Scrub,
    Transport,
    UploadHandler,
    json_of,
)
from hub_push.hub.wire import (
    BuildWatch,
    ProgressHandler,
    existing_tag,
    hub_executor,
    message_of,
    push_event,
    status_code_of,
    tasks_of_this_push,
)

AUTH_REQUIRED = 40103
#: Seconds the read of a push response may be silent (the Hub unpacks and checks the upload).
PUSH_READ_TIMEOUT = 600.0
#: One queryProgress stream is read at most this long before it is reopened.
STREAM_SLICE = 30.0
#: The pause before reopening a status stream that ended without a line.
EMPTY_STREAM_PAUSE = 0.5

PushEventHandler = Callable[[PushEvent], None]


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
        say: Callable[[str], None] = lambda _line: None,
        debug: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.deadline = deadline
        self.has_login = bool(token)
        self._net = Transport(
            self.base_url,
            token,
            deadline=deadline,
            scrub=scrub,
            transport=transport,
            backoff=backoff,
            say=say,
            debug=debug,
        )
        self._http = self._net.http

    def close(self) -> None:
        self._net.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def whoami(self) -> User:
        """Check the login token before anything is uploaded."""
        response = self._net.retrying(
            "the login check", lambda t: self._http.post("user.identity.whoami", timeout=t)
        )
        body = json_of(response)
        if response.status_code == 401 or status_code_of(body) == AUTH_REQUIRED:
            raise LoginRefusedError(
                "The Hub refused the login token: it is invalid or expired.", code=AUTH_REQUIRED
            )
        if response.status_code >= 400:
            raise self._net.http_error(response, body, "The login check failed")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise HubError("The Hub's login check answered without the user's data.")
        # A name outside the Hub's grammar is dropped: the login stands, the name is not shown.
        return User(name=checked("owner", data.get("name"), []))

    def _tasks(self, executor: str, page: int, secret: str | None) -> list[Any]:
        """The newest `page` build tasks of `executor` (`executor.listAsyncTasks`)."""
        form = {"id": executor, "sort": "-createdAt", "pageSize": str(page)}
        if secret:
            form["secret"] = secret
        response = self._net.retrying(
            "the build task lookup",
            lambda t: self._http.post("executor.listAsyncTasks", data=form, timeout=t),
        )
        body = json_of(response)
        if response.status_code >= 400:
            raise self._net.http_error(response, body, "Looking up the build task failed")
        tasks = body.get("data") if isinstance(body, dict) else None
        return tasks if isinstance(tasks, list) else []

    def find_task(
        self, executor: str, *, commit_id: str, since: datetime, secret: str | None = None
    ) -> str:
        """The build task of this push, from `executor.listAsyncTasks`, or "" when none is.

        With the commit the push created (the Hub names it on `complete`), the task is the one
        building that commit. Without it, the one task created since the upload began; if
        several were (another push of the same executor ran at once), the Hub's list can't
        tell which is ours, and that is an error rather than a guess.
        """
        for attempt in range(1, 4):  # the task may be listed a moment after the push
            ours = tasks_of_this_push(self._tasks(executor, 10, secret), commit_id, since)
            if len(ours) == 1:
                return ours[0]
            if len(ours) > 1:
                raise NoBuildTaskError(
                    f"Several build tasks of {executor} started during this push "
                    f"({', '.join(ours)}); the Hub's list can't tell which one is this push's."
                )
            if attempt < 3:
                self._net.pause(attempt, "the build task lookup", "this push's task is not listed")
        return ""

    def newest_task(self, executor: str, *, secret: str | None = None) -> str:
        """The newest build task of `executor` (`executor.listAsyncTasks`, as `jina hub status
        PATH` finds it), or `NoBuildTaskError`."""
        first = next(iter(self._tasks(executor, 1, secret)), None)
        task_id = checked("task id", first.get("_id"), []) if isinstance(first, dict) else ""
        if not task_id:
            raise NoBuildTaskError(
                f"The Hub lists no build task of {executor}: push it first, or set `task-id`."
            )
        return task_id

    def grace(self, seconds: float) -> AbstractContextManager[None]:
        """Allow the calls in the block `seconds` from now even past the run's deadline (the
        lookup of a push whose answer was lost: finding its task is worth a moment)."""
        return self._net.grace(seconds)

    def _package(self, body: dict[str, str], doing: str) -> dict[str, Any] | None:
        """`executor.getPackage`'s data, or None when the Hub has no such executor or tag."""
        response = self._net.retrying(
            doing, lambda t: self._http.post("executor.getPackage", json=body, timeout=t)
        )
        answer = json_of(response)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise self._net.http_error(response, answer, f"{doing[:1].upper()}{doing[1:]} failed")
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise HubError(f"The Hub answered {doing} without the executor's data.")
        return data

    def executor_on_hub(self, executor: str, *, secret: str | None) -> HubExecutor | None:
        """The executor as the Hub has it (owner, tags, protected tags), or None when the
        Hub has none by that name (or none this login may read)."""
        body = {"id": executor, **({"secret": secret} if secret else {})}
        data = self._package(body, "asking the Hub about the executor")
        return hub_executor(data) if data is not None else None

    def existing_tag(self, executor: str, tag: str, *, secret: str | None) -> ExistingTag | None:
        """The tag on the Hub (`executor.getPackage`), or None when the Hub has no such tag."""
        body = {"id": executor, "tag": tag, **({"secret": secret} if secret else {})}
        data = self._package(body, "checking the tags already on the Hub")
        return existing_tag(data) if data is not None else None

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
        return self._net.retrying(
            "uploading",
            lambda _timeout: self._push_once(request, archive, on_event, on_upload),
            safe=False,
        )

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
                            Bounded.wrap(file, self.deadline, on_upload),
                            "application/zip",
                        )
                    },
                    timeout=self._net.timeout(read=PUSH_READ_TIMEOUT),
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    refusal = (
                        PushAnswerLostError if response.status_code >= 500 else PushRefusedError
                    )
                    raise self._net.http_error(
                        response, json_of(response), "The Hub refused the push", refusal
                    )
                for line in self._net.lines(response, "reading the push's answer", named.get):
                    on_event(push_event(line))
                    task = line.get("task")
                    if isinstance(task, dict):
                        named.task_id = checked("task id", task.get("_id"), []) or named.task_id
                    kind = line.get("type")
                    if kind == "error":
                        raise PushRefusedError(
                            self._net.text(message_of(line, "The Hub reported an error.")),
                            code=status_code_of(line),
                            task_id=named.task_id,
                        )
                    if kind == "warning":
                        warnings.append(self._net.text(message_of(line, "warning")))
                    if kind == "complete":
                        payload = line.get("payload")
                        if not isinstance(payload, dict) or not payload:
                            break
                        if isinstance(line.get("warning"), str):
                            warnings.append(self._net.text(line["warning"]))
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
                            message=self._net.text(str(line.get("message") or "")),
                        )
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise  # nothing was sent: `push` may try again
        except httpx.TransportError as exc:
            raise UploadBrokenError(
                f"The push to {self.base_url} broke off "
                f"({self._net.text(str(exc)) or type(exc).__name__}); it was not sent again.",
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
        replay: bool = True,
        once: bool = False,
    ) -> BuildResult:
        """Read `executor.queryProgress` until the task ends or the deadline passes.

        A stream the Hub closes early is reopened with `replay`, and log lines already seen
        (by their sequence number) are skipped. Raises `BuildFailedError` or
        `BuildTimeoutError`, both with the log read so far.
        """
        watch = BuildWatch(
            task_id,
            on_progress,
            self._net.text,
            lambda text: self._net.text(text, REASON_LIMIT),
            once=once,
        )
        # The first stream replays the log only when asked; a reopened one always does (the
        # lines already seen are skipped by their sequence number).
        form = {"replay": str(replay), "verbose": str(verbose), "id": task_id}
        if secret:
            form["secret"] = secret
        attempt, doing = 0, "asking for the build status"
        try:
            while True:
                self._net.check_deadline("following the build", task_id)
                attempt += 1
                try:
                    with self._open_progress(form) as response:
                        if response.status_code >= 500 or response.status_code == 429:
                            response.read()
                            failure = f"HTTP {response.status_code}"
                            self._net.pause(min(attempt, 6), doing, failure, response)
                            continue
                        if response.status_code >= 400:
                            response.read()
                            raise self._net.http_error(
                                response, json_of(response), "The build status query failed"
                            )
                        lines = 0
                        for line in self._net.lines(
                            response, "following the build", watch.get_id, skip_malformed=True
                        ):
                            lines += 1
                            if (result := watch.take(line)) is not None:
                                return result
                        form["replay"] = "True"
                        attempt = 0  # the stream ended before the task: reopen it
                        on_progress(ProgressEvent(watch.status))
                        if not lines:  # ...but not in a tight loop if it said nothing
                            time.sleep(min(EMPTY_STREAM_PAUSE, self.deadline.remaining()))
                except httpx.ReadTimeout:
                    on_progress(ProgressEvent(watch.status))  # a quiet stream: say it waits
                    continue  # ...and reopen it while there is time left
                except httpx.TransportError as exc:
                    failure = f"{type(exc).__name__}: {self._net.text(str(exc))}".rstrip(": ")
                    self._net.pause(min(attempt, 6), doing, failure)
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
            "POST", "executor.queryProgress", files=files, timeout=self._net.timeout(STREAM_SLICE)
        ) as response:
            yield response


class _Named:
    """The build task a push stream named so far."""

    task_id = ""

    def get(self) -> str:
        return self.task_id
