"""Faults of the network and of the Hub, each injected through a scripted hostile Hub over
HTTP (tests/support/hostile_hub.py) or the local Hub: the action never hangs, never sends an
upload twice to a Hub that may have it, keeps a task id it was given, and reports each ending.

Every test has a time bound, and each run's own `timeout` is small, so a hang fails the test
instead of stalling the suite.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import hostile_hub as hh
from support.localhub_process import local_hub
from support.runner import ActionRun, run_action

MakeExecutor = Callable[..., Path]
TOKEN = "tok-0123456789abcdef"


@pytest.fixture
def hub() -> Iterator[hh.HostileHub]:
    with hh.hostile_hub() as server:
        yield server


def push(
    hub_url: str, folder: Path, timeout: str = "20s", **inputs: str
) -> tuple[ActionRun, float]:
    started = time.monotonic()
    run = run_action(
        # a first publish without a login is meant where a test passes no credential
        {
            "path": folder.name,
            "hub-url": hub_url,
            "timeout": timeout,
            "allow-anonymous": "true",
            **inputs,
        },
        workspace=folder.parent,
        timeout=90,
    )
    return run, time.monotonic() - started


def the_error(run: ActionRun) -> str:
    (error,) = run.annotations()
    return error


# -- every wait is bounded -------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_a_hub_that_accepts_and_never_answers_ends_at_the_deadline(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("user.identity.whoami", hh.hang)
    run, seconds = push(hub.url, make_executor(), timeout="3s", token=TOKEN)
    assert run.returncode == 1
    assert run.outputs["build-status"] == "timeout"
    assert "deadline" in the_error(run)
    assert seconds < 3 + 10


@pytest.mark.timeout(60)
def test_a_hub_that_stops_reading_the_upload_ends_at_the_deadline(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    folder = make_executor(files={"weights.txt": "x" * (32 * 1024 * 1024)})
    hub.script("executor.push", hh.stop_reading)
    run, seconds = push(hub.url, folder, timeout="4s")
    assert run.returncode == 1
    assert run.outputs["build-status"] in ("timeout", "error"), run.log
    assert len(hub.seen("executor.push")) == 1  # never sent again to a Hub that may have it
    assert seconds < 4 + 10


@pytest.mark.timeout(60)
def test_blank_lines_forever_end_at_the_deadline_and_keep_the_task_id(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("executor.push", hh.push_then("blank"))
    run, seconds = push(hub.url, make_executor(), timeout="3s")
    assert run.returncode == 1
    assert run.outputs["build-status"] == "timeout"
    assert run.outputs["task-id"] == hh.TASK_ID  # named before the stream went blank
    assert seconds < 3 + 10


@pytest.mark.timeout(60)
def test_a_slow_build_streaming_forever_ends_at_the_timeout(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("executor.push", hh.push_ok())
    hub.script("executor.queryProgress", hh.progress("forever"))
    run, seconds = push(hub.url, make_executor(), timeout="3s")
    assert run.returncode == 1
    assert run.outputs["build-status"] == "timeout"
    assert run.outputs["task-id"] == hh.TASK_ID
    assert "still `pending` at the run's deadline" in the_error(run)
    assert seconds < 3 + 10


@pytest.mark.timeout(60)
def test_status_streams_that_end_empty_are_not_reopened_in_a_tight_loop(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("executor.push", hh.push_ok())
    hub.script("executor.queryProgress", hh.progress("empty"))
    run, seconds = push(hub.url, make_executor(), timeout="3s")
    assert run.outputs["build-status"] == "timeout"
    assert len(hub.seen("executor.queryProgress")) <= 3 / 0.5 + 2  # one per pause, not hundreds
    assert seconds < 3 + 10


# -- retry only what is safe -----------------------------------------------------------------
@pytest.mark.timeout(60)
def test_429_with_retry_after_is_waited_out_on_a_safe_call(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("user.identity.whoami", hh.status(429, 42900, "slow down", "1"), hh.whoami())
    hub.script("executor.push", hh.push_ok())
    hub.script("executor.queryProgress", hh.progress("succeeded"))
    run, seconds = push(hub.url, make_executor(), token=TOKEN)
    assert run.returncode == 0, run.log
    assert len(hub.seen("user.identity.whoami")) == 2
    assert seconds >= 1.0


@pytest.mark.timeout(60)
def test_a_retry_after_past_the_deadline_is_not_waited_for(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("user.identity.whoami", hh.status(503, 50301, "maintenance", "3600"))
    run, seconds = push(hub.url, make_executor(), timeout="5s", token=TOKEN)
    assert run.returncode == 1
    assert run.outputs["build-status"] == "timeout"
    assert "past the run's deadline" in the_error(run)
    assert seconds < 5


@pytest.mark.timeout(60)
def test_5xx_on_status_reads_are_retried(hub: hh.HostileHub, make_executor: MakeExecutor) -> None:
    hub.script("executor.push", hh.push_ok())
    hub.script("executor.queryProgress", hh.status(502), hh.progress("succeeded"))
    run, _ = push(hub.url, make_executor())
    assert run.returncode == 0, run.log
    assert len(hub.seen("executor.queryProgress")) == 2
    # the retry is said: what failed, the attempt, the pause
    assert "asking for the build status: attempt 1 failed (HTTP 502); trying again in" in run.log


@pytest.mark.timeout(60)
@pytest.mark.parametrize("answer", [hh.status(500), hh.status(502), hh.push_then("break")])
def test_an_upload_is_never_sent_twice_once_the_hub_may_have_it(
    hub: hh.HostileHub, make_executor: MakeExecutor, answer: hh.Behaviour
) -> None:
    hub.script("executor.push", answer, hh.push_ok())
    run, _ = push(hub.url, make_executor())
    assert run.returncode == 1
    assert run.outputs["build-status"] == "error"
    assert len(hub.seen("executor.push")) == 1


@pytest.mark.timeout(60)
def test_an_upload_is_retried_only_when_no_connection_was_made(
    make_executor: MakeExecutor,
) -> None:
    run, seconds = push("http://127.0.0.1:9", make_executor(), timeout="4s")  # nothing listens
    assert run.returncode == 1
    assert run.outputs["build-status"] in ("error", "timeout")
    assert "connect" in the_error(run).lower() or "deadline" in the_error(run)
    assert seconds < 4 + 10


# -- one push, its own task ------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_a_task_named_before_the_stream_broke_is_kept(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    """The stream broke after naming the task: the push is not sent again, and the build of
    the task it named is followed (it was reported `error`, with the task id, before)."""
    hub.script("executor.push", hh.push_then("break"))
    hub.script("executor.queryProgress", hh.progress("succeeded"))
    run, _ = push(hub.url, make_executor())
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "succeeded"
    assert run.outputs["task-id"] == hh.TASK_ID
    assert len(hub.seen("executor.push")) == 1
    (warning,) = [w for w in run.annotations("warning") if "answer was lost" in w]
    assert "broke off" in warning


@pytest.mark.timeout(60)
def test_without_a_task_in_the_stream_the_task_of_this_commit_is_followed(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    other = hh.task_entry(task_id="6b0f00000000000000000001", commit_id="6b0f00000000000000000c02")
    ours = hh.task_entry()
    hub.script("executor.push", hh.push_ok(task=False))
    hub.script("executor.listAsyncTasks", hh.tasks(other, ours))  # another push's task first
    hub.script("executor.queryProgress", hh.progress("succeeded"))
    run, _ = push(hub.url, make_executor())
    assert run.returncode == 0, run.log
    assert run.outputs["task-id"] == hh.TASK_ID


@pytest.mark.timeout(60)
def test_without_a_commit_several_new_tasks_are_not_guessed(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    one = hh.task_entry(task_id="6b0f00000000000000000001", commit_id="")
    two = hh.task_entry(task_id="6b0f00000000000000000002", commit_id="")
    hub.script("executor.push", hh.push_ok(task=False, commit={"tags": ["latest"]}))
    hub.script("executor.listAsyncTasks", hh.tasks(one, two))
    run, _ = push(hub.url, make_executor())
    assert run.returncode == 1
    assert run.outputs["task-id"] == ""
    assert "can't tell which one is this push's" in the_error(run)


@pytest.mark.timeout(120)
def test_concurrent_pushes_of_one_executor_each_follow_their_own_build(
    users: dict[str, str], tmp_path: Path, make_executor: MakeExecutor
) -> None:
    """The local Hub, like Jina Hub, names no task in the push stream here."""
    import concurrent.futures

    folder = make_executor()
    with local_hub(
        tmp_path / "hub", users=users, build_seconds=1.0, extra_args=["--no-task-id-in-stream"]
    ) as hub:
        token = users["alice"]
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            runs = list(
                pool.map(
                    lambda tag: push(hub.url, folder, token=token, tags=tag)[0], ["a", "b", "c"]
                )
            )
    for run in runs:
        assert run.returncode == 0, run.log
    task_ids = [run.outputs["task-id"] for run in runs]
    assert len(set(task_ids)) == 3  # three pushes, three tasks: none followed another's


@pytest.mark.timeout(60)
def test_without_waiting_a_task_lookup_failure_is_a_warning_and_the_push_stands(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("executor.push", hh.push_ok(task=False))
    hub.script("executor.listAsyncTasks", hh.status(403, 40301, "not yours"))
    run, _ = push(hub.url, make_executor(), wait="false")
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "pending"
    assert run.outputs["executor-id"] == hh.EXECUTOR_ID
    assert [w for w in run.annotations("warning") if "build task could not be found" in w]


# -- nothing is lost -------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_a_push_without_any_credential_is_refused_before_packing(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    """An empty `token` (a repository secret missing) no longer creates an ownerless
    executor: without `allow-anonymous` the run stops before packing, naming `token`."""
    run, _ = push(hub.url, make_executor(), token="", **{"allow-anonymous": "false"})
    assert run.returncode == 1
    assert run.outputs["build-status"] == "invalid"
    (error,) = run.annotations()
    assert "Input `token`: is empty, and so are `name` and `secret`" in error
    assert "allow-anonymous: true" in error
    assert "::group::Packing" not in run.log
    assert hub.requests == []


@pytest.mark.timeout(60)
def test_a_name_without_secret_or_token_is_refused_saying_which_is_missing(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    run, _ = push(hub.url, make_executor(), name="MyExec", **{"allow-anonymous": "false"})
    assert run.returncode == 1
    assert run.outputs["build-status"] == "invalid"
    (error,) = run.annotations()
    assert "Input `name`: is set, but neither `secret` nor `token` is" in error
    assert hub.requests == []


@pytest.mark.timeout(60)
def test_an_anonymous_first_publish_when_meant_keeps_its_secret_and_says_how(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("executor.push", hh.push_ok(secret="f" * 32))
    hub.script("executor.queryProgress", hh.progress("succeeded"))
    run, _ = push(hub.url, make_executor(), **{"allow-anonymous": "true"})
    assert run.returncode == 0, run.log
    (notice,) = [n for n in run.annotations("notice") if "First publish" in n]
    assert "NEW executor" in notice
    assert run.outputs["secret"] == "f" * 32  # the SECRET, kept in the masked output
    assert "::add-mask::" + "f" * 32 in run.log
    # ...and the summary says how to keep it from the next step of the same job.
    assert "Keep the SECRET" in run.summary
    assert "SECRET: ${{ steps.hub.outputs.secret }}" in run.summary
    assert "f" * 32 not in run.summary


@pytest.mark.timeout(60)
def test_outputs_are_written_when_the_output_file_does_not_exist_yet(
    hub: hh.HostileHub, make_executor: MakeExecutor, tmp_path: Path
) -> None:
    target = tmp_path / "not" / "yet" / "output"
    folder = make_executor()
    run = run_action(
        {"path": folder.name, "hub-url": hub.url, "dry-run": "true"},
        workspace=folder.parent,
        env={"GITHUB_OUTPUT": str(target)},
    )
    assert run.returncode == 0, run.log
    assert "build-status<<" in target.read_text()


@pytest.mark.timeout(60)
def test_names_outside_the_hubs_grammar_never_reach_the_outputs(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script(
        "executor.push",
        hh.push_ok(name="::error::pwned x", id="../../etc", owner={"name": "a b"}),
    )
    hub.script("executor.queryProgress", hh.progress("succeeded"))
    run, _ = push(hub.url, make_executor(), wait="false")
    assert run.returncode == 0, run.log
    assert "pwned" not in run.outputs["uses"] + run.outputs["executor-id"] + run.outputs["url"]
    assert "etc" not in run.outputs["result"]
    (warning,) = [w for w in run.annotations("warning") if "grammar" in w]
    assert "executor id" in warning and "executor name" in warning


@pytest.mark.timeout(60)
def test_text_from_the_hub_never_becomes_a_workflow_command(
    make_executor: MakeExecutor,
) -> None:
    injected = "::add-mask::PWNED ::error::PWNED ##[error]PWNED"
    with hh.hostile_hub(echo=f"\n{injected}\n  ::stop-commands::PWNED\n##[group]PWNED") as hub:
        hub.script("executor.push", hh.push_ok())
        hub.script("executor.queryProgress", hh.progress("failed"))
        run, _ = push(hub.url, make_executor(), verbose="true")
    assert run.returncode == 1
    assert "PWNED" in run.stdout  # the text was shown...
    commands = run.commands()
    assert commands  # ...and our own commands still work
    assert not [c for c in commands if "PWNED" in c[0] + c[1] and c[0] not in ("error", "warning")]
    # Annotations carry Hub text only as their escaped message, never as a command of its own.
    assert not [
        c for c in commands if c[0] in ("add-mask", "group", "stop-commands") and "PWNED" in c[1]
    ]
