"""The entrypoint run as the runner runs it, against the local Hub over HTTP.

Each test starts `python -m hub_push` with hyphenated `INPUT_*` variables, fresh
`GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` files, and reads the outputs back with the runner's
heredoc rules. Nothing of our own client is mocked: the local Hub is the test double.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
import pytest

from hub_push.outputs import OUTPUT_NAMES
from support.localhub_process import local_hub
from support.runner import ActionRun, run_action

MakeExecutor = Callable[..., Path]


def push(hub_url: str, folder: Path, **inputs: str) -> ActionRun:
    return run_action(
        # a first publish without a login is meant where a test passes no credential
        {
            "path": folder.name,
            "hub-url": hub_url,
            "timeout": "60s",
            "allow-anonymous": "true",
            **inputs,
        },
        workspace=folder.parent,
    )


def assert_all_outputs_set(run: ActionRun) -> None:
    assert list(run.outputs) == list(OUTPUT_NAMES)
    json.loads(run.outputs["result"])


def assert_never_leaked(run: ActionRun, secrets: Iterable[str]) -> None:
    """A secret shows up only in its own `::add-mask::` line, before anything else."""
    for secret in secrets:
        assert f"::add-mask::{secret}" in run.log, f"{secret[:3]}… was never masked"
        unmasked = [
            line for line in run.log.splitlines() if secret in line and "::add-mask::" not in line
        ]
        assert unmasked == []
        assert secret not in run.summary
        assert secret not in run.outputs["result"]
        assert [n for n, v in run.outputs.items() if secret in v] in ([], ["secret"])


def test_login_push_builds_and_reports_everything(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    run = push(shared_hub.url, folder, token=alice, tags="v1.0.0\nlatest")
    assert run.returncode == 0, run.log
    assert_all_outputs_set(run)
    out = run.outputs
    assert out["build-status"] == "succeeded"
    assert out["task-id"]
    assert out["executor-name"] == folder.name
    assert len(out["executor-id"]) == 8
    assert out["visibility"] == "public"
    assert out["tags"] == "v1.0.0,latest"
    assert out["uses"] == f"jinaai+docker://alice/{folder.name}:v1.0.0"
    assert out["url"].endswith(f"/{out['executor-id']}/")
    assert out["secret"] == ""
    assert len(out["archive-md5"]) == 32
    assert json.loads(out["result"])["task_id"] == out["task-id"]
    assert run.summary.startswith(f"## ✅ Published <code>{folder.name}</code>")
    assert f"<code>{out['task-id']}</code>" in run.summary
    assert "::group::Upload (executor.push)" in run.log
    assert_never_leaked(run, [alice])


def test_no_tags_means_latest(alice: str, shared_hub, make_executor: MakeExecutor) -> None:
    run = push(shared_hub.url, make_executor(), token=alice)
    assert run.returncode == 0, run.log
    assert run.outputs["tags"] == "latest"


def test_first_publish_returns_a_masked_secret_that_updates_later(
    shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    first = push(shared_hub.url, folder, visibility="private")
    assert first.returncode == 0, first.log
    secret, name = first.outputs["secret"], first.outputs["executor-name"]
    assert secret
    assert first.outputs["visibility"] == "private"
    assert first.outputs["uses"] == f"jinahub+docker://{name}/latest"
    assert_never_leaked(first, [secret])

    update = push(shared_hub.url, folder, name=name, secret=secret, tags="v2")
    assert update.returncode == 0, update.log
    assert update.outputs["build-status"] == "succeeded"
    assert update.outputs["tags"] == "v2"
    assert update.outputs["visibility"] == "private"  # unchanged: visibility input left empty
    assert update.outputs["secret"] == ""
    assert "::group::Upload (executor.update)" in update.log
    assert_never_leaked(update, [secret])


def test_update_with_a_wrong_secret_is_refused_clearly(
    shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    first = push(shared_hub.url, folder)
    assert first.returncode == 0, first.log
    wrong = push(shared_hub.url, folder, name=first.outputs["executor-name"], secret="not-it-12345")
    assert wrong.returncode == 1
    (error,) = wrong.annotations()
    assert "secret" in error.lower()
    assert wrong.outputs["build-status"] == "refused"
    assert_all_outputs_set(wrong)
    assert_never_leaked(wrong, ["not-it-12345"])


def test_a_protected_tag_is_refused_the_second_time_naming_the_tag(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    inputs = {"token": alice, "tags": "v1\nlatest", "protected-tags": "v1"}
    assert push(shared_hub.url, folder, **inputs).returncode == 0
    again = push(shared_hub.url, folder, **inputs)
    assert again.returncode == 1
    (error,) = again.annotations()
    assert "v1" in error
    assert "protected" in error.lower()
    assert again.outputs["build-status"] == "refused"
    assert again.outputs["task-id"] == ""
    assert_all_outputs_set(again)
    assert "Traceback" not in again.log
    assert "## ⛔ Jina Hub refused the push of <code>" in again.summary
    assert "What to do:</b> A protected tag can be pushed only once" in again.summary
    groups = [line for line in again.log.splitlines() if line.startswith("::")]
    depth = 0
    for line in groups:  # GitHub's log groups do not nest
        depth += line.startswith("::group::") - line.startswith("::endgroup::")
        assert depth in (0, 1), groups


def test_an_invalid_token_fails_before_any_upload(shared_hub, make_executor: MakeExecutor) -> None:
    run = push(shared_hub.url, make_executor(), token="expired-token-000")
    assert run.returncode == 1
    (error,) = run.annotations()
    assert "invalid or expired" in error
    assert run.outputs["build-status"] == "refused"
    assert "Upload" not in run.log
    assert_never_leaked(run, ["expired-token-000"])


def test_build_env_fills_requirements_and_stays_secret(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor(requirements="git+https://${PRIVATE_TOKEN}@example.com/x.git\n")
    value = "ghp_buildenv_value_42"
    run = push(shared_hub.url, folder, token=alice, **{"build-env": f"PRIVATE_TOKEN={value}\n"})
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "succeeded"
    assert "| build-env | PRIVATE_TOKEN (values hidden) |" in run.summary
    assert_never_leaked(run, [value])


def test_a_missing_build_env_is_annotated_on_requirements_line(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor(requirements="numpy\ngit+https://${PRIVATE_TOKEN}@example.com/x\n")
    run = push(shared_hub.url, folder, token=alice)
    assert run.returncode == 1
    (error,) = run.annotations()
    assert f"file={folder.name}/requirements.txt,line=2" in error
    assert "PRIVATE_TOKEN" in error
    assert run.outputs["build-status"] == "preflight-failed"


def test_a_failed_build_reports_failed_with_the_log(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    (folder / "executor.py").write_text(
        "from jina import Executor\n\n\nclass Other(Executor): ...\n"
    )
    # The preflight would stop this folder; skipped, the Hub's own build rejects it.
    run = push(shared_hub.url, folder, token=alice, preflight="false")
    assert run.returncode == 1
    assert run.outputs["build-status"] == "failed"
    assert run.outputs["task-id"]
    (error,) = run.annotations()
    assert "can not discover any Executor" in error
    assert "What to do: Read the build log" in error  # the advice in the annotation too
    assert "Build log" in run.summary
    assert "was pushed, but its build on Jina Hub failed" in run.summary
    # Nothing was published: no usage string and no tags shown as if it had been.
    assert "Usage" not in run.summary
    assert "| Tags |" not in run.summary
    assert "<details open><summary>Build log" in run.summary  # the log, open


def test_a_failed_build_keeps_its_whole_reason_and_prints_its_log_once(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor("AnonExec")
    config = "jtype: AnonExecc\nmetas:\n  name: AnonExec\npy_modules: [executor.py]\n"
    (folder / "config.yml").write_text(config)
    run = push(shared_hub.url, folder, token=alice, preflight="false", verbose="true")
    assert run.outputs["build-status"] == "failed"
    (error,) = run.annotations()
    assert "Did you mean `AnonExec`?" in error  # was cut at 300 characters before it
    assert "Did you mean `AnonExec`?" in run.summary
    build_lines = [line for line in run.stdout.splitlines() if line.startswith("[")]
    assert build_lines
    assert len(build_lines) == len(set(build_lines)), "with verbose, each log line once"


def test_the_wait_for_a_build_is_visible_without_verbose(
    alice: str, users: dict[str, str], tmp_path: Path, make_executor: MakeExecutor
) -> None:
    with local_hub(tmp_path / "hub", users=users, build_seconds=2) as hub:
        run = push(hub.url, make_executor(), token=alice)
    assert run.returncode == 0, run.log
    task = run.outputs["task-id"]
    status_lines = [line for line in run.stdout.splitlines() if line.startswith(f"build {task}: ")]
    assert status_lines, run.log  # each change of the build's status is in the log
    assert status_lines[0].endswith(" s)")


def test_wait_false_reports_pending_and_succeeds(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    run = push(shared_hub.url, make_executor(), token=alice, wait="false")
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "pending"
    assert run.outputs["task-id"]


def test_a_slow_build_times_out_with_the_task_id(
    alice: str, users: dict[str, str], tmp_path: Path, make_executor: MakeExecutor
) -> None:
    with local_hub(tmp_path / "slow", users=users, build_seconds=30) as hub:
        run = push(hub.url, make_executor(), token=alice, timeout="2s")
    assert run.returncode == 1
    assert run.outputs["build-status"] == "timeout"
    assert run.outputs["task-id"]
    (error,) = run.annotations()
    assert "still" in error


def test_a_build_outlasting_several_status_streams_is_followed_without_duplicate_lines(
    alice: str, users: dict[str, str], tmp_path: Path, make_executor: MakeExecutor
) -> None:
    extra = ["--stream-seconds", "0.5"]
    with local_hub(tmp_path / "short", users=users, build_seconds=3, extra_args=extra) as hub:
        run = push(hub.url, make_executor(), token=alice, verbose="true")
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "succeeded"
    build_lines = [line for line in run.stdout.splitlines() if line.startswith("[")]
    assert build_lines, run.log
    assert len(build_lines) == len(set(build_lines)), build_lines


def test_task_id_is_found_when_the_stream_does_not_carry_it(
    alice: str, users: dict[str, str], tmp_path: Path, make_executor: MakeExecutor
) -> None:
    with local_hub(
        tmp_path / "quiet", users=users, build_seconds=0.2, extra_args=["--no-task-id-in-stream"]
    ) as hub:
        run = push(hub.url, make_executor(), token=alice)
    assert run.returncode == 0, run.log
    assert run.outputs["task-id"]
    assert run.outputs["build-status"] == "succeeded"


def test_dry_run_uploads_nothing(alice: str, shared_hub, make_executor: MakeExecutor) -> None:
    folder = make_executor()
    run = push(shared_hub.url, folder, token=alice, **{"dry-run": "true"})
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "dry-run"
    assert len(run.outputs["archive-md5"]) == 32
    assert "Login" not in run.log
    assert "🧪 Dry run" in run.summary
    # Had it been uploaded, a login push of the same folder would now be an update; it is new.
    first = push(shared_hub.url, folder, token=alice)
    assert first.outputs["archive-md5"] == run.outputs["archive-md5"]


def test_bad_inputs_each_get_one_annotation_and_every_output_is_set(
    shared_hub, make_executor: MakeExecutor
) -> None:
    run = push(shared_hub.url, make_executor(), wait="yes", visibility="hidden")
    assert run.returncode == 1
    errors = run.annotations()
    assert len(errors) == 2
    assert any("Input `wait`" in e for e in errors)
    assert any("Input `visibility`" in e for e in errors)
    assert "Traceback" not in run.log
    assert_all_outputs_set(run)
    assert run.outputs["build-status"] == "invalid"
    assert "empty outputs task-id" in run.log


def test_an_unreachable_hub_is_a_clear_error(alice: str, make_executor: MakeExecutor) -> None:
    run = push("http://127.0.0.1:9", make_executor(), token=alice)
    assert run.returncode == 1
    (error,) = run.annotations()
    assert "Could not reach the Hub at http://127.0.0.1:9" in error or (
        "No usable answer from the Hub at http://127.0.0.1:9" in error
    )
    assert "asked" not in error  # a Hub that never answered asked for nothing
    assert "What to do:" in error
    assert "the login check: attempt 1 failed (ConnectError" in run.log  # each retry said
    assert "Traceback" not in run.log


def test_summary_false_writes_no_summary(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    run = push(shared_hub.url, make_executor(), token=alice, summary="false")
    assert run.returncode == 0, run.log
    assert run.summary == ""


@pytest.mark.parametrize("example", ["hello-executor"])
def test_the_shipped_example_publishes(users: dict[str, str], shared_hub, example: str) -> None:
    root = Path(__file__).resolve().parents[2]
    run = run_action(
        {"path": f"examples/{example}", "hub-url": shared_hub.url, "token": users["bob"]},
        workspace=root,
    )
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "succeeded"


def test_a_folder_whose_files_are_all_ignored_is_refused_before_upload(
    make_executor: MakeExecutor,
) -> None:
    folder = make_executor(files={".gitignore": "*\n"})
    run = push("http://127.0.0.1:9", folder, **{"dry-run": "true"})
    assert run.returncode == 1
    (error,) = run.annotations()
    assert "title=Executor folder" in error
    assert "every file" in error
    assert run.outputs["build-status"] == "invalid"


def test_the_cli_works_outside_actions_with_flags_and_plain_variables(
    shared_hub, make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor()
    cli = Path(sys.executable).parent / "hub-push"
    home = tmp_path.with_name(tmp_path.name + "-home")  # not inside the current folder
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "HUB_PUSH_PROTECTED_TAGS": "v9",
        "JINA_HUBBLE_REGISTRY": shared_hub.url,
    }
    done = subprocess.run(
        [str(cli), "--path", str(folder), "--tag", "v9", "--tag", "latest", "--timeout", "60s"],
        cwd=folder.parent,  # outside Actions the workspace is the current directory
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "build-status=succeeded" in lines
    assert "tags=v9,latest" in lines
    assert "secret=***" in lines  # a first publish: the secret exists, not printed as output
    # Not a terminal: the SECRET is never printed, but kept in a file only its owner reads,
    # outside the current folder, and the log says where.
    (where,) = [line for line in lines if line.startswith("The SECRET of ")]
    path = Path(where.split(" is in ", 1)[1].split(" (readable", 1)[0])
    assert path.is_relative_to(home / ".local" / "state" / "hub-push")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    kept = dict(line.split("=", 1) for line in path.read_text().splitlines())
    assert re.fullmatch(r"[0-9a-f]{32}", kept["SECRET"])
    assert kept["SECRET"] not in done.stdout + done.stderr
    assert not [line for line in lines if line.startswith("::")]  # no workflow commands


def test_runner_debug_adds_detail_but_never_a_secret(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor(requirements="git+https://${PRIVATE_TOKEN}@example.com/x.git\n")
    value = "debug-mode-build-secret"
    run = run_action(
        {
            "path": folder.name,
            "hub-url": shared_hub.url,
            "token": alice,
            "build-env": f"PRIVATE_TOKEN={value}",
        },
        workspace=folder.parent,
        env={"RUNNER_DEBUG": "1"},
    )
    assert run.returncode == 0, run.log
    assert "::debug::packed config.yml" in run.log
    assert_never_leaked(run, [value, alice])


def test_the_hub_page_link_points_at_the_hub_pushed_to(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    run = push(shared_hub.url, folder, token=alice)
    assert run.returncode == 0, run.log
    url = run.outputs["url"]
    assert url == f"{shared_hub.url}/executor/{run.outputs['executor-id']}/"
    assert f'<a href="{url}">Hub page</a>' in run.summary
    page = httpx.get(url, timeout=10, trust_env=False)
    assert page.status_code == 200
    assert f"<h1>{folder.name}</h1>" in page.text


def test_an_archive_over_max_archive_size_fails_before_the_upload_naming_its_largest_files(
    alice: str, shared_hub, make_executor: MakeExecutor
) -> None:
    folder = make_executor(files={"vocab.txt": "token\n" * 1000})
    (folder / "model.onnx").write_bytes(os.urandom(300_000))  # stored: the archive is > 293 KiB
    for extra in ({}, {"dry-run": "true"}):
        run = push(shared_hub.url, folder, token=alice, **{"max-archive-size": "200kB"}, **extra)
        assert run.returncode == 1, run.log
        (error,) = run.annotations()
        assert "more than `max-archive-size` (195.3 KiB)" in error
        assert "Its largest files (bytes in the archive): model.onnx (293.0 KiB), " in error
        assert "raise `max-archive-size`" in run.summary  # the hint
        assert run.outputs["build-status"] == "invalid"
        assert len(run.outputs["archive-md5"]) == 32  # packed, measured, not sent
        assert "Login" not in run.log and "Upload" not in run.log
    fits = push(shared_hub.url, folder, token=alice, **{"max-archive-size": "1MiB"})
    assert fits.returncode == 0, fits.log
    assert fits.outputs["build-status"] == "succeeded"


def test_the_hubs_own_size_refusal_names_max_archive_size(
    alice: str, users: dict[str, str], make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor()
    (folder / "model.onnx").write_bytes(os.urandom(100_000))
    extra = ["--max-upload-bytes", "50000"]
    with local_hub(tmp_path / "small", users=users, extra_args=extra) as hub:
        run = push(hub.url, folder, token=alice)
    assert run.returncode == 1
    (error,) = run.annotations()
    assert "50000 bytes" in error
    assert run.outputs["build-status"] == "refused"
    assert "Set `max-archive-size` to the Hub" in run.summary
