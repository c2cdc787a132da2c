"""The Hub client through `httpx.MockTransport`: what it sends, and how it reads the answers
(the wire module with plain dicts). The end-to-end runs drive it against the local Hub."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hub_push.deadline import Deadline
from hub_push.errors import (
    BuildFailedError,
    DeadlineError,
    LoginRefusedError,
    PushRefusedError,
    UploadBrokenError,
)
from hub_push.hub.client import HubClient
from hub_push.hub.models import PushEvent, PushRequest
from hub_push.hub.wire import push_event, tasks_of_this_push

TASK = "a" * 24
COMMIT = "c" * 24
Handler = Callable[[httpx.Request], httpx.Response]


def client(
    handler: Handler,
    token: str | None = "t0ken",
    *,
    said: list[str] | None = None,
    seconds: float = 30,
    backoff: float = 0.0,
) -> HubClient:
    return HubClient(
        "https://hub.test",
        token,
        deadline=Deadline(time.monotonic() + seconds),
        transport=httpx.MockTransport(handler),
        backoff=backoff,
        say=(said if said is not None else []).append,
    )


def ndjson(*lines: object) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def test_whoami_sends_the_token_and_reads_the_name() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"name": "alice"}})

    assert client(handler).whoami().name == "alice"
    assert seen[0].url.path == "/v2/rpc/user.identity.whoami"
    assert seen[0].headers["Authorization"] == "token t0ken"


def test_a_safe_call_is_retried_after_a_5xx_and_the_retry_is_said() -> None:
    answers = [httpx.Response(502), httpx.Response(200, json={"data": {"name": "bob"}})]
    said: list[str] = []
    assert client(lambda _request: answers.pop(0), said=said).whoami().name == "bob"
    assert answers == []
    assert said == ["the login check: attempt 1 failed (HTTP 502); trying again in 0.0 s"]


def test_a_hub_that_never_answers_is_not_said_to_have_asked_for_a_wait() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(DeadlineError) as late:
        client(refuse, seconds=0.5, backoff=5.0).whoami()
    message = str(late.value)
    assert message.startswith("No usable answer from the Hub at https://hub.test for the login")
    assert "attempt 1 failed (ConnectError: connection refused)" in message
    assert "asked" not in message


def test_a_retry_after_past_the_deadline_says_the_hub_asked_for_it() -> None:
    answer = httpx.Response(503, headers={"Retry-After": "3600"})
    with pytest.raises(DeadlineError) as late:
        client(lambda _request: answer, seconds=5).whoami()
    assert "answered HTTP 503 and asked to wait 3600 s before the login check again" in str(
        late.value
    )


def test_an_upload_is_repeated_only_when_no_connection_was_made(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK")
    calls: list[str] = []

    def cut(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ReadError("connection reset", request=request)

    with pytest.raises(UploadBrokenError):
        client(cut).push(PushRequest(id="X", md5sum="0" * 32), archive, print)
    assert len(calls) == 1  # bytes may have left: never sent again


def test_a_refused_token_is_a_login_error() -> None:
    with pytest.raises(LoginRefusedError):
        client(lambda _request: httpx.Response(401, json={"status": 40103})).whoami()


def test_a_tag_the_hub_does_not_have_is_none_and_a_bad_md5_is_dropped() -> None:
    assert client(lambda _r: httpx.Response(404)).existing_tag("X", "v1", secret=None) is None
    data = {"id": "abcd1234", "name": "X", "visibility": "public", "package": {"md5": "nope"}}
    found = client(lambda _r: httpx.Response(200, json={"data": data})).existing_tag(
        "X", "v1", secret=None
    )
    assert found is not None
    assert (found.executor.id, found.md5) == ("abcd1234", "")


def test_a_push_sends_the_form_and_reads_the_stream(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK-archive")
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.read())
        return httpx.Response(
            200,
            content=ndjson(
                {"type": "progress", "subject": "upload", "message": "received"},
                {"type": "progress", "task": {"_id": TASK}},
                {
                    "type": "complete",
                    "message": "done",
                    "payload": {"id": "abcd1234", "name": "X", "secret": "s3cret"},
                },
            ),
        )

    events: list[PushEvent] = []
    request = PushRequest(id="X", md5sum="0" * 32, tags=("v1", "latest"))
    result = client(handler, token=None).push(request, archive, events.append)
    assert (result.task_id, result.executor.id, result.executor.secret) == (
        TASK,
        "abcd1234",
        "s3cret",
    )
    assert [event.kind for event in events] == ["progress", "progress", "complete"]
    body = sent[0]
    assert b'name="tags"\r\n\r\nv1,latest' in body
    assert b'name="md5sum"\r\n\r\n' + b"0" * 32 in body
    assert b"PK-archive" in body


def test_an_error_line_in_the_push_stream_is_a_refusal_with_its_code(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK")
    line = {"type": "error", "payload": {"status": 40901, "readableMessage": "tag `v1` taken"}}
    answer = httpx.Response(200, content=ndjson(line))
    with pytest.raises(PushRefusedError) as refused:
        client(lambda _r: answer).push(PushRequest(id="X", md5sum="0" * 32), archive, print)
    assert refused.value.code == 40901
    assert "tag `v1` taken" in str(refused.value)


def progress(sn: int, text: str) -> dict[str, object]:
    return {"type": "progress", "data": {"sn": sn, "data": {"subject": "build", "payload": text}}}


def test_a_build_is_followed_to_its_end_each_log_line_once() -> None:
    streams = [
        ndjson({"type": "report", "status": "waiting"}, progress(1, "step 1")),
        ndjson(
            progress(1, "step 1"),
            progress(2, "step 2"),
            {"type": "report", "status": "succeeded", "result": {"id": "abcd1234", "name": "X"}},
        ),
    ]
    result = client(lambda _r: httpx.Response(200, content=streams.pop(0))).follow_build(TASK)
    assert result.status == "succeeded"
    assert result.log == ("[build] step 1", "[build] step 2")


def test_a_failed_build_raises_with_its_log() -> None:
    stream = ndjson(
        progress(1, "pip install"),
        {"type": "report", "status": "failed", "error": {"message": "no such package"}},
    )
    with pytest.raises(BuildFailedError) as failed:
        client(lambda _r: httpx.Response(200, content=stream)).follow_build(TASK)
    assert failed.value.log == ("[build] pip install",)
    assert "no such package" in str(failed.value)


def test_the_task_of_this_push_is_picked_by_its_commit_else_by_its_age() -> None:
    since = datetime(2026, 1, 1, 12, tzinfo=UTC)
    tasks = [
        {"_id": "b" * 24, "commit": {"_id": "d" * 24}, "createdAt": "2026-01-01T12:00:01Z"},
        {"_id": TASK, "commit": {"_id": COMMIT}, "createdAt": "2026-01-01T11:00:00Z"},
        {"_id": "not a task id"},
    ]
    assert tasks_of_this_push(tasks, COMMIT, since) == [TASK]
    assert tasks_of_this_push(tasks, "", since) == ["b" * 24]


def test_a_push_event_keeps_a_returned_secret_and_nothing_else_of_the_payload() -> None:
    event = push_event({"type": "complete", "payload": {"secret": " s3 ", "other": "x"}})
    assert event == PushEvent(kind="complete", subject="", text="", secret="s3")
