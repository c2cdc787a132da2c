"""Interop: the official client (jina-hubble-sdk 0.39.0) pushes to and reads from the local Hub.

It runs as a subprocess from its own venv (.venv-sdk, made by `make sdk-venv`; the variable
HUB_PUSH_SDK_VENV points elsewhere), exactly as Part B §9 of the protocol notes shows.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor_rules import HUB_MESSAGES
from support.hubkit import ALICE, USERS, HubApi, make_executor_folder, unique_name
from support.localhub_process import LocalHub, local_hub
from support.rule_cases import CASES, Accept, build
from support.runner import run_action

pytestmark = [pytest.mark.sdk, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def sdk_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    with local_hub(tmp_path_factory.mktemp("sdkhub"), users=USERS, build_seconds=0.3) as hub:
        yield hub


def run_sdk(
    sdk_bin: Path, hub: LocalHub, home: Path, *args: str, token: str | None = ALICE
) -> subprocess.CompletedProcess[str]:
    """`jina-hub ARGS` against the local Hub, with no TTY and a scratch HOME."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "JINA_HUBBLE_REGISTRY": hub.url,
        "SHOW_HUBBLE_HINT": "NEVER",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "COLUMNS": "250",
        "TERM": "dumb",
    }
    if token is not None:
        env["JINA_AUTH_TOKEN"] = token
    return subprocess.run(
        [str(sdk_bin), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def test_official_client_pushes_and_reads_the_build_status(
    sdk_bin: Path, sdk_hub: LocalHub, tmp_path: Path
) -> None:
    folder = make_executor_folder(tmp_path, requirements="numpy==${NUMPY_VERSION}\n")
    name = folder.name
    home = tmp_path / "home"
    push = run_sdk(
        sdk_bin,
        sdk_hub,
        home,
        "push",
        str(folder),
        "-t",
        "v1",
        "-t",
        "latest",
        "--protected-tag",
        "v1",
        "--build-env",
        "NUMPY_VERSION=1.26.4",
        "--verbose",
    )
    out = _output(push)
    assert push.returncode == 0, out
    assert "Published" in out
    assert f"jinaai+docker://alice/{name}:v1" in out
    assert f"jinaai://alice/{name}:v1" in out

    by_path = run_sdk(sdk_bin, sdk_hub, home, "status", str(folder), "--verbose", "--replay")
    out = _output(by_path)
    assert by_path.returncode == 0, out
    match = re.search(r"Found task_id: ([0-9a-f]{24}) for " + re.escape(name), out)
    assert match, out
    task_id = match.group(1)
    for expected in (
        "Found Executor HelloExecutor in executor.py",
        "requirements.txt: 1 placeholder(s) filled from build-env: NUMPY_VERSION",
        "Successfully built",
        "(succeeded)",
        f"jinaai+docker://alice/{name}:v1",
    ):
        assert expected in out, out

    by_id = run_sdk(sdk_bin, sdk_hub, home, "status", "--id", task_id, "--verbose", "--replay")
    out = _output(by_id)
    assert by_id.returncode == 0, out
    assert "Cloud building ... extractZip" in out
    assert "Found Executor HelloExecutor in executor.py" in out
    assert "(succeeded)" in out
    assert "1.26.4" not in out


def test_official_client_is_refused_a_protected_tag_pushed_before(
    sdk_bin: Path, sdk_hub: LocalHub, tmp_path: Path
) -> None:
    folder = make_executor_folder(tmp_path)
    home = tmp_path / "home"
    first = run_sdk(sdk_bin, sdk_hub, home, "push", str(folder), "--protected-tag", "v1")
    assert first.returncode == 0, _output(first)

    again = run_sdk(sdk_bin, sdk_hub, home, "push", str(folder), "-t", "v1", "-t", "latest")
    out = _output(again)
    assert again.returncode == 1, out
    assert f"Tag `v1` of executor {folder.name} is protected and was already pushed" in out


def test_official_client_with_a_bad_token_gets_the_auth_error(
    sdk_bin: Path, sdk_hub: LocalHub, tmp_path: Path
) -> None:
    folder = make_executor_folder(tmp_path)
    push = run_sdk(sdk_bin, sdk_hub, tmp_path / "home", "push", str(folder), token="bad-token")
    out = _output(push)
    assert push.returncode == 1, out
    assert "Jina auth token is not provided or has expired" in out
    assert "AuthenticationRequiredError" in out


def test_official_client_reports_a_failed_build(
    sdk_bin: Path, sdk_hub: LocalHub, tmp_path: Path
) -> None:
    folder = make_executor_folder(tmp_path, executor_py="GREETING = 'no class here'\n")
    home = tmp_path / "home"
    push = run_sdk(sdk_bin, sdk_hub, home, "push", str(folder))
    assert push.returncode == 0, _output(push)
    status = run_sdk(sdk_bin, sdk_hub, home, "status", str(folder), "--replay")
    out = _output(status)
    assert status.returncode == 1, out
    assert "We can not discover any Executor in your bundle" in out


#: Labelled folders (tests/rules/cases.py) the official client pushes: both verdicts, every code.
SDK_CASES = (
    "basic",
    "reexport-from-init-relative",
    "base-class-not-named-executor",
    "config-without-py-modules",
    "class-defined-twice-in-two-files",
    "init-without-self",
    "dockerfile-without-entrypoint",
    "quirk-requirements-whitespace-line",
)


@pytest.mark.parametrize("case_id", SDK_CASES)
def test_official_client_gets_the_actions_verdict(
    case_id: str, sdk_bin: Path, sdk_hub: LocalHub, tmp_path: Path
) -> None:
    (case,) = [c for c in CASES if c.id == case_id]
    folder = build(case, tmp_path / "case")
    name = unique_name("Sdk")
    (folder / "manifest.yml").write_text(f"name: {name}\n")  # the client needs a name
    action = run_action(
        {"path": folder.name, "dry-run": "true", "dockerfile": case.dockerfile or ""},
        workspace=folder.parent,
    )
    home = tmp_path / "home"
    extra = ["-f", case.dockerfile] if case.dockerfile else []
    push = run_sdk(sdk_bin, sdk_hub, home, "push", str(folder), *extra)
    assert push.returncode == 0, _output(push)  # uploaded: the build decides
    status = run_sdk(sdk_bin, sdk_hub, home, "status", str(folder), "--replay")
    out = _output(status)
    if isinstance(case.expect, Accept):
        assert action.outputs["build-status"] == "dry-run", action.log
        assert status.returncode == 0 and "(succeeded)" in out, out
    else:
        assert action.outputs["build-status"] == "preflight-failed", action.log
        assert f"code {case.expect.code})" in action.annotations()[0]
        assert status.returncode == 1, out
        hub_text = HUB_MESSAGES.get(case.expect.code, "").split(".")[0]
        assert hub_text in " ".join(out.split()), out


def test_official_client_updates_with_force_update_and_secret(
    sdk_bin: Path, sdk_hub: LocalHub, tmp_path: Path
) -> None:
    folder = make_executor_folder(tmp_path)
    api = HubApi(sdk_hub.url)
    first = api.push(folder, private=True).ok()
    api.close()
    home = tmp_path / "home"
    args = ["push", str(folder), "--force-update", folder.name, "--secret", first["secret"]]
    update = run_sdk(sdk_bin, sdk_hub, home, *args, "-t", "v2")
    out = _output(update)
    assert update.returncode == 0, out
    assert f"jinahub+docker://{folder.name}/v2" in out
    assert "private" in out

    wrong = run_sdk(
        sdk_bin,
        sdk_hub,
        home,
        "push",
        str(folder),
        "--force-update",
        folder.name,
        "--secret",
        "0" * 32,
    )
    out = _output(wrong)
    assert wrong.returncode == 1, out
    assert f"The secret does not match executor {folder.name}." in out


def test_official_client_pushes_a_private_executor(
    sdk_bin: Path, sdk_hub: LocalHub, tmp_path: Path
) -> None:
    folder = make_executor_folder(tmp_path)
    push = run_sdk(sdk_bin, sdk_hub, tmp_path / "home", "push", str(folder), "--private")
    out = _output(push)
    assert push.returncode == 0, out
    assert "private" in out
    assert f"jinaai+docker://alice/{folder.name}:latest" in out


def test_the_official_clients_unpacking_takes_hub_push_archives(
    sdk_bin: Path, tmp_path: Path
) -> None:
    """hub-push's archive (weights first and stored, text deflated, ZIP64-free) unpacked by
    the official client's own `unpack_package` (zipfile `extractall`), file for file."""
    from hub_push.archive import pack

    folder = make_executor_folder(tmp_path)
    (folder / "weights").mkdir()
    (folder / "weights" / "model.safetensors").write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    (folder / "data.dat").write_bytes(os.urandom(200_000))  # stored by the trial
    (folder / "vocab.txt").write_text("token\n" * 100_000)  # deflated
    archive = pack(folder, tmp_path / "executor.zip")
    assert {"weights/model.safetensors", "data.dat"} <= set(archive.stored)
    target = tmp_path / "unpacked"
    script = (
        "import sys; from pathlib import Path; "
        "from hubble.executor.helper import unpack_package; "
        "unpack_package(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    python = sdk_bin.parent / "python"
    result = subprocess.run(
        [str(python), "-c", script, str(archive.path), str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in archive.files:
        assert (target / name).read_bytes() == (folder / name).read_bytes(), name
