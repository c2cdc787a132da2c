"""The mistakes Jina Hub's docs warn about, and the inputs that passed quietly: each through
the entrypoint (against the local Hub, or the hostile Hub for a Hub that misbehaves)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import hostile_hub as hh
from support.runner import ActionRun, push_folder, run_action

MakeExecutor = Callable[..., Path]
TOKEN = "alice-token-0123456789"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def hub() -> Iterator[hh.HostileHub]:
    with hh.hostile_hub() as server:
        yield server


def push(folder: Path, hub_url: str, env: dict[str, str] | None = None, **inputs: str) -> ActionRun:
    return push_folder(folder, hub_url, env, limit="30s", **inputs)


def test_placeholders_the_hub_will_not_fill_are_warned_on_their_line(
    shared_hub: Any, make_executor: MakeExecutor
) -> None:
    folder = make_executor(
        requirements="numpy\ngit+https://$PRIVATE_TOKEN@h/x.git\ngit+https://${private_token}@h/y\n"
        "git+https://${GOOD}@h/z\n"
    )
    run = push(folder, shared_hub.url, token=TOKEN, **{"build-env": "GOOD=1", "dry-run": "true"})
    assert run.returncode == 0, run.log
    warnings = run.annotations("warning")
    (bare,) = [w for w in warnings if "`$PRIVATE_TOKEN`" in w]
    assert f"file={folder.name}/requirements.txt,line=2" in bare and "`${PRIVATE_TOKEN}`" in bare
    (lower,) = [w for w in warnings if "`${private_token}`" in w]
    assert "line=3" in lower
    assert "needs them set too" in run.summary and "`GOOD`" in run.summary


@pytest.mark.parametrize("preflight", ["true", "false"])
def test_git_lfs_pointers_are_refused_before_the_upload(
    hub: hh.HostileHub, make_executor: MakeExecutor, preflight: str
) -> None:
    folder = make_executor()
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 42\n"
    (folder / "model.onnx").write_text(pointer)
    run = push(folder, hub.url, token=TOKEN, preflight=preflight)
    assert run.returncode == 1
    assert run.outputs["build-status"] == "invalid"
    (error,) = run.annotations()
    assert f"file={folder.name}/model.onnx" in error
    assert "Git LFS pointer" in error and "`lfs: true`" in error
    assert hub.requests == []


def test_a_build_env_name_in_lower_case_is_shown_not_masked(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    run = push(make_executor(), hub.url, token=TOKEN, **{"build-env": "token=abc-secret"})
    assert run.returncode == 1
    assert "::add-mask::token\n" not in run.stdout + "\n"  # would hide "token" everywhere
    assert "::add-mask::abc-secret" in run.stdout
    (error,) = run.annotations()
    assert "the name `token` may hold only upper-case letters" in error


def test_protected_latest_is_a_warning_and_protected_auto_an_input_error(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    latest = push(folder, hub.url, token=TOKEN, **{"protected-tags": "latest", "dry-run": "true"})
    (warning,) = [w for w in latest.annotations("warning") if "`latest` is a protected tag" in w]
    assert "Protect a version instead" in warning
    auto = push(folder, hub.url, token=TOKEN, **{"protected-tags": "auto"})
    assert auto.outputs["build-status"] == "invalid"
    (error,) = auto.annotations()
    assert "Input `protected-tags`: holds `auto`" in error and "belongs in `tags`" in error


def test_an_input_variable_spelled_with_underscores_is_refused_by_name(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    run = push(make_executor(), hub.url, {"INPUT_DRY_RUN": "true"}, token=TOKEN)
    assert run.returncode == 1
    (error,) = run.annotations()
    assert "`INPUT_DRY_RUN` is set, but nothing reads it" in error
    assert "`INPUT_DRY-RUN`" in error
    assert hub.requests == []  # no real upload


def test_a_platform_without_its_os_is_refused(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    run = push(make_executor(), hub.url, token=TOKEN, platform="amd64")
    (error,) = run.annotations()
    assert "Input `platform`" in error and "`amd64` alone names no OS" in error


def test_discover_finding_nothing_says_so_and_shows_no_push_inputs(tmp_path: Path) -> None:
    (tmp_path / "executors").mkdir()
    run = run_action({"mode": "discover", "root": "executors"}, workspace=tmp_path)
    assert run.returncode == 0, run.log
    (notice,) = [n for n in run.annotations("notice") if "matrix is empty" in n]
    assert "`executors`" in notice
    assert "Tags" not in run.summary
    assert "| token |" not in run.summary and "| root | executors |" in run.summary


def test_a_private_executor_published_without_a_login_says_its_uses_needs_the_secret(
    shared_hub: Any, make_executor: MakeExecutor
) -> None:
    run = push(make_executor(), shared_hub.url, visibility="private", **{"allow-anonymous": "true"})
    assert run.outputs["build-status"] == "succeeded", run.log
    assert "pulling it needs its SECRET too" in run.summary


def test_a_token_the_hub_echoes_into_a_name_never_reaches_an_output(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("user.identity.whoami", hh.whoami())
    hub.script("executor.getPackage", hh.status(404))
    hub.script("executor.push", hh.push_ok(name=TOKEN))
    hub.script("executor.queryProgress", hh.progress("succeeded"))
    run = push(make_executor(), hub.url, token=TOKEN)
    assert run.outputs["build-status"] == "succeeded", run.log
    assert all(TOKEN not in value for value in run.outputs.values())
    assert TOKEN not in json.loads(run.outputs["result"])["executor_name"]


def malformed_then_succeeded(h: Any) -> None:
    h.start_stream()
    h.send_chunk(b"this is not json\n")
    h.send_lines([{"type": "report", "status": "succeeded", "result": {"id": hh.EXECUTOR_ID}}])
    h.end_stream()


def test_a_malformed_line_in_the_build_status_stream_is_skipped(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("executor.push", hh.push_ok())
    hub.script("executor.queryProgress", malformed_then_succeeded)
    run = push(make_executor(), hub.url, **{"allow-anonymous": "true"})
    assert run.outputs["build-status"] == "succeeded", run.log


def test_a_user_name_outside_the_grammar_is_dropped_with_a_warning(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    hub.script("user.identity.whoami", hh.whoami("not a name!"))
    hub.script("executor.getPackage", hh.status(404))
    hub.script("executor.push", hh.push_ok())
    hub.script("executor.queryProgress", hh.progress("succeeded"))
    run = push(make_executor(), hub.url, token=TOKEN)
    assert run.outputs["build-status"] == "succeeded", run.log
    assert any("named the user outside its own grammar" in w for w in run.annotations("warning"))


def test_a_build_pip_failed_annotates_the_requirement_and_shows_the_own_dockerfile(
    users: dict[str, str], tmp_path: Path, make_executor: MakeExecutor
) -> None:
    from support.localhub_process import local_hub

    folder = make_executor(requirements="jina\nno-such-package==1.0\n")
    (folder / "Dockerfile").write_text(
        "FROM jinaai/jina:3\nCOPY . /workspace\nRUN pip install -r requirements.txt\n"
        'ENTRYPOINT ["jina", "executor"]\n'
    )
    extra = ["--fail-requirement", "no-such-package"]
    with local_hub(tmp_path / "hub", users=users, build_seconds=0.2, extra_args=extra) as hub:
        run = push(folder, hub.url, token=users["alice"], verbose="true")
    assert run.outputs["build-status"] == "failed"
    errors = run.annotations()
    (pip,) = [e for e in errors if f"file={folder.name}/requirements.txt,line=2" in e]
    assert "title=Jina Hub build" in pip and "pip could not install `no-such-package`" in pip
    (step,) = [e for e in errors if f"file={folder.name}/Dockerfile,line=3" in e]
    assert "This step failed on Jina Hub: `RUN pip install -r requirements.txt`" in step
    assert "[buildWorkspace] #7 [3/4] RUN pip install -r requirements.txt" in run.log


def test_a_path_outside_the_workspace_says_what_the_workspace_is(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    absolute = push(folder, hub.url, token=TOKEN, path="/home/runner/work/repo/repo/exec")
    (error,) = absolute.annotations()
    assert "give it relative to the workspace" in error
    outside = push(folder, hub.url, {"GITHUB_ACTIONS": ""}, token=TOKEN, path="../elsewhere")
    assert "outside Actions the workspace is the current folder" in outside.stdout + outside.stderr
    assert hub.requests == []


def test_small_things_seen_in_runs_say_what_happened_once(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    no_jtype = make_executor(config="py_modules: [executor.py]\nmetas:\n  name: X\n")
    run = push(no_jtype, hub.url, token=TOKEN)
    (error,) = run.annotations()
    assert f"file={no_jtype.name}/config.yml,line=1" in error  # a missing `jtype` has a line
    assert "config.yml: config.yml" not in error and "config.yml has no" not in error
    no_config = make_executor()
    (no_config / "config.yml").unlink()
    run = push(no_config, hub.url, token=TOKEN)
    assert run.outputs["build-status"] == "invalid"
    assert "build check passes" not in run.log  # not said before the folder fails
    wrong = push(no_config, hub.url, token=TOKEN, path="no-such-folder")
    (error,) = wrong.annotations()
    assert (
        "title=Invalid input" in error and "Input `path`: `no-such-folder` does not exist" in error
    )
    assert hub.requests == []


def test_a_missing_build_env_speaks_the_actions_words(
    hub: hh.HostileHub, make_executor: MakeExecutor
) -> None:
    folder = make_executor(requirements="git+https://${PRIVATE_TOKEN}@h/x.git\n")
    run = push(folder, hub.url, token=TOKEN, preflight="true")
    (error,) = run.annotations()
    assert "--build-env" not in error  # the CLI's flag, not an input of the action
    assert "`build-env`" in error
    quiet = push(make_executor(), hub.url, token=TOKEN, **{"dry-run": "true"})
    assert "empty output secret" not in quiet.log and "output matrix" not in quiet.log
    assert "stored as they are" not in quiet.log  # a few tiny files: not worth a word
