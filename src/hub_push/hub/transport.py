"""The Hub's transport: one httpx client, the run's deadline on every call, one retry policy.

Every call is `POST {hub}/v2/rpc/<method>`. Timeouts (connect, read, write, pool) are capped
by what is left of the deadline; safe calls (reads, and the login check) are retried on
transport errors, 5xx and 429 answers with jittered backoff, honouring `Retry-After` while
the deadline allows. The Hub's texts pass through `scrub` before they are shortened or put in
an error.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any, TypeVar, cast

import httpx

from hub_push import __version__
from hub_push.deadline import Deadline
from hub_push.errors import DeadlineError, HubError, HubUnreachableError
from hub_push.hub.wire import message_of, status_code_of

SAFE_ATTEMPTS = 4
#: Per-call limits (each also capped by what is left of the deadline).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
#: How long an upload may make no progress (the Hub stopped reading) before it is given up.
STALL_TIMEOUT = 60.0
#: The longest pause between two tries of a safe call (without a `Retry-After`).
MAX_BACKOFF = 10.0
#: The most of a Hub text that goes into one message (after redaction).
TEXT_LIMIT = 300
#: The most of why a build failed: the reason is the message (the Hub's check explains there).
REASON_LIMIT = 4000
CHUNK = 1024 * 1024

#: `on_upload(bytes read for the upload, archive size)`.
UploadHandler = Callable[[int, int], None]
Scrub = Callable[[str], str]
T = TypeVar("T")


class Transport:
    """One Hub address, one optional login token, one connection pool, one deadline."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        deadline: Deadline,
        scrub: Scrub,
        transport: httpx.BaseTransport | None,
        backoff: float,
        say: Callable[[str], None],
        debug: Callable[[str], None] = lambda _line: None,
    ) -> None:
        headers = {"User-Agent": f"hub-push/{__version__}"}
        if token:
            headers["Authorization"] = f"token {token}"
        self.base_url = base_url
        self.deadline = deadline
        self._scrub = scrub
        self._backoff = backoff
        self._say = say
        self._debug = debug
        self.http = httpx.Client(
            base_url=base_url + "/v2/rpc/",
            headers=headers,
            timeout=self.timeout(),
            transport=transport,
            follow_redirects=False,
            trust_env=True,  # a runner's HTTPS_PROXY, NO_PROXY and SSL_CERT_FILE
        )

    def close(self) -> None:
        self.http.close()

    @contextmanager
    def grace(self, seconds: float) -> Iterator[None]:
        """Allow the calls in the block `seconds` from now, even past the run's deadline."""
        kept = self.deadline
        self.deadline = Deadline(max(kept.at, time.monotonic() + seconds))
        try:
            yield
        finally:
            self.deadline = kept

    # -- limits --------------------------------------------------------------------------------

    def timeout(self, read: float = READ_TIMEOUT) -> httpx.Timeout:
        cap = self.deadline.cap
        return httpx.Timeout(
            connect=cap(CONNECT_TIMEOUT),
            read=cap(read),
            write=cap(STALL_TIMEOUT),
            pool=cap(CONNECT_TIMEOUT),
        )

    def check_deadline(self, doing: str, task_id: str = "") -> None:
        if self.deadline.expired:
            raise DeadlineError(f"The run reached its deadline while {doing}.", task_id=task_id)

    def pause(
        self, attempt: int, doing: str, failure: str, response: httpx.Response | None = None
    ) -> None:
        """Wait before trying `doing` again, and say so: `Retry-After` if the Hub said, else a
        jittered backoff. A wait that would pass the deadline is not started: the error says
        what failed, and whether the Hub asked for the wait."""
        asked = retry_after(response) if response is not None else None
        wait = asked
        if wait is None:
            wait = min(MAX_BACKOFF, self._backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
        if wait >= self.deadline.remaining():
            if asked is not None:
                raise DeadlineError(
                    f"The Hub at {self.base_url} answered {failure} and asked to wait "
                    f"{asked:.0f} s before {doing} again (Retry-After), past the run's deadline."
                )
            raise DeadlineError(
                f"No usable answer from the Hub at {self.base_url} for {doing} before the run's "
                f"deadline: attempt {attempt} failed ({failure})."
            )
        self._say(
            f"{doing}: attempt {attempt} failed ({failure}); trying again in {wait:.1f} s"
            + (" (the Hub's Retry-After)" if asked is not None else "")
        )
        time.sleep(wait)

    def text(self, text: str, limit: int = TEXT_LIMIT) -> str:
        """A Hub text for a message: redacted first, then shortened, on one line."""
        flat = " ".join(self._scrub(text).split())
        return flat if len(flat) <= limit else flat[: limit - 1] + "…"

    def retrying(
        self,
        doing: str,
        call: Callable[[httpx.Timeout], T],
        *,
        safe: bool = True,
        attempts: int = SAFE_ATTEMPTS,
    ) -> T:
        """Run `call`, trying again only where a repeat is safe, within the deadline.

        A safe call (a read, the login check) is repeated after any transport error and after
        a 5xx or 429 answer. An unsafe one (the upload) only when the connection was never
        made, so the Hub cannot have it. Each repeat is said in the log.
        """
        for attempt in range(1, attempts + 1):
            self.check_deadline(doing)
            try:
                result = call(self.timeout())
            except httpx.TransportError as exc:
                never_connected = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if not (safe or never_connected):
                    raise
                failure = f"{type(exc).__name__}: {self.text(str(exc))}".rstrip(": ")
                if attempt == attempts:
                    raise HubUnreachableError(
                        f"Could not reach the Hub at {self.base_url} for {doing} "
                        f"({attempts} attempts; the last: {failure})."
                    ) from None
                self.pause(attempt, doing, failure)
                continue
            status = result.status_code if isinstance(result, httpx.Response) else 200
            if safe and (status >= 500 or status == 429) and attempt < attempts:
                assert isinstance(result, httpx.Response)
                result.read()
                self.pause(attempt, doing, f"HTTP {status}", result)
                continue
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reading answers -----------------------------------------------------------------------

    def lines(
        self,
        response: httpx.Response,
        doing: str,
        task_id: Callable[[], str],
        *,
        skip_malformed: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """NDJSON objects of a streamed answer; the deadline is checked on every line, blank
        ones included (a Hub sending blank lines forever is stopped by it)."""
        for raw in response.iter_lines():
            self.check_deadline(doing, task_id())
            line = raw.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                if skip_malformed:  # a status stream: read on (the deadline bounds it)
                    self._debug(f"{doing}: a line that is not JSON was skipped: {self.text(line)}")
                    continue
                raise HubError(
                    f"The Hub sent a line that is not JSON: {self.text(line)}",
                    task_id=task_id(),
                ) from None
            if isinstance(item, dict):
                yield item

    def http_error(
        self, response: httpx.Response, body: Any, what: str, kind: type[HubError] = HubError
    ) -> HubError:
        text = message_of(body, response.text or response.reason_phrase)
        return kind(
            f"{what} (HTTP {response.status_code}): {self.text(text)}", code=status_code_of(body)
        )


class Bounded:
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


def retry_after(response: httpx.Response) -> float | None:
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


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
