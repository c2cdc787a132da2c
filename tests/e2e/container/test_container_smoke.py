"""The action's image, built from the unchanged Dockerfile and run as the runner runs it.

One slow run (about 2 to 4 minutes): see container_smoke.py for the steps. It fails, never
skips, when the Docker engine or the local registry can't start.
"""

from __future__ import annotations

import json
import re

import pytest
from container_smoke import EXECUTOR_DIR, RELEASE_VERSION, Report, RunResult

# The run is bounded inside (Limits.total, 840 s); this only backs that up.
pytestmark = [pytest.mark.container, pytest.mark.timeout(960)]

CHECKED_OUTPUTS = ("task-id", "build-status", "executor-name", "tags", "uses")


@pytest.fixture
def report(smoke_report: Report) -> Report:
    return smoke_report


def _assert_pushed(run: RunResult | None, tags: set[str], secret: str) -> RunResult:
    assert run is not None
    assert run.exit_code == 0, f"{run.how} failed:\n{run.log[-4000:]}"
    outputs = run.outputs
    assert outputs.get("build-status") == "succeeded", outputs
    assert outputs.get("task-id"), outputs
    assert outputs.get("executor-name") == "HelloExecutor", outputs
    assert tags <= set(outputs.get("tags", "").split(",")), outputs
    assert outputs.get("uses", "").endswith("HelloExecutor:smoke"), outputs
    # The step summary: written, and about this push.
    assert outputs["task-id"] in run.summary, run.summary
    assert "succeeded" in run.summary, run.summary
    assert EXECUTOR_DIR in run.summary, run.summary
    # The build secret: never in outputs or summary; in the log only to be masked.
    assert secret not in json.dumps(outputs)
    assert secret not in run.summary
    leaked = [
        line
        for line in run.log.splitlines()
        if secret in line and not line.startswith("::add-mask::")
    ]
    assert not leaked, leaked
    assert "::error" not in run.log, run.log[-4000:]
    return run


def test_dockerfile_is_hadolint_clean(report: Report) -> None:
    assert report.hadolint == "clean"


def test_build_context_holds_only_what_the_image_needs(report: Report) -> None:
    files = set(report.context_files)
    assert {"pyproject.toml", "README.md", "src/hub_push/__main__.py"} <= files
    assert {"requirements/action.lock", "requirements/build.lock"} <= files
    assert not [f for f in files if f.startswith("requirements/") and not f.endswith(".lock")]
    action = {"hub_push", "executor_rules"}
    assert not [f for f in files if f.startswith("src/") and f.split("/")[1] not in action]
    kept_out = ("tests", "examples", ".git", ".venv", ".github", ".ci", "scripts")
    assert not [f for f in files if f.split("/")[0] in kept_out]
    assert not [f for f in files if "__pycache__" in f or ".egg-info" in f]


def test_the_image_holds_only_the_action(report: Report) -> None:
    installed = report.image["installed"]
    assert "hub_push" in installed["top_level"], installed
    # Neither the local Hub nor any test helper of ours is importable in the image.
    assert not {"localhub", "support", "conftest"} & set(installed["top_level"])
    assert "hub-push" not in installed["owners"].get("tests", [])  # actions-toolkit ships one
    # The hub-push distribution installed the action, the rules, its metadata and script only.
    rules, package, metadata = installed["hub_push_files"]
    assert (rules, package) == ("executor_rules", "hub_push")
    assert re.fullmatch(r"hub_push-[\d.]+\.dist-info", metadata)
    assert installed["hub_push_scripts"] == ["hub-push"], installed
    # No dev tool or server-only dependency came along.
    dev_only = {"pytest", "python-multipart", "ruff", "mypy", "jina-hubble-sdk", "pip-tools"}
    assert not dev_only & {d.lower() for d in installed["distributions"]}, installed
    # Nor the build stage's backend: its setuptools and wheel never reach the image's layers.
    assert "wheel" not in {d.lower() for d in installed["distributions"]}, installed


def test_dependencies_are_one_layer_before_the_source(report: Report) -> None:
    layers = report.image["layers"]  # newest first
    deps = [i for i, layer in enumerate(layers) if "--require-hashes --requirement" in layer]
    # The action's packages: the build stage's /install, copied as one layer.
    source = [i for i, layer in enumerate(layers) if "COPY dir:" in layer and "/usr/local" in layer]
    assert len(deps) == 1 and "/tmp/action.lock" in layers[deps[0]], layers
    assert source and source[0] < deps[0], layers  # the source comes later (nearer the top)
    # The image adds the dependencies and the package, nothing more (stand-in base excluded).
    assert report.image["added_by_dockerfile_bytes"] < 120 * 1024 * 1024, report.image


def test_the_base_is_the_build_argument(report: Report) -> None:
    # `docker build --build-arg BASE_IMAGE=<stand-in>`: the image sits on the stand-in.
    assert report.image["standin_base_bytes"] > 0
    assert report.image["size_bytes"] > report.image["standin_base_bytes"]


def test_a_source_change_reuses_the_cached_dependency_layer(report: Report) -> None:
    assert "Using cache" in report.rebuild_dependency_step, report.rebuild_dependency_step


def test_act_runs_the_action_from_the_checkout(report: Report) -> None:
    run = _assert_pushed(report.act, {"smoke", "smoke-act", "smoke-act-once"}, report.secret)
    # The later step saw what the action wrote.
    for name in CHECKED_OUTPUTS:
        assert run.outputs[name] == run.action_outputs[name], name
    # The multi-line `tags` input: the `#` comment line dropped.
    assert "# a comment line: dropped" not in run.outputs["tags"]
    # `keep-archive`: a later step read the kept archive at `archive-path`, the very bytes.
    assert run.outputs["kept-sha256"] == run.action_outputs["archive-sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", run.outputs["kept-sha256"])


def test_act_on_a_release_tag_derives_the_version_tags(report: Report) -> None:
    run = report.act_tag
    assert run is not None
    assert run.exit_code == 0, f"{run.how} failed:\n{run.log[-4000:]}"
    assert run.outputs.get("build-status") == "succeeded", run.outputs
    assert set(run.outputs.get("tags", "").split(",")) == {"1.2.3", "1.2", "1", "latest"}
    assert run.outputs.get("uses", "").endswith("HelloExecutor:1.2.3"), run.outputs


def test_docker_run_with_the_runners_contract_and_a_nonsense_path(report: Report) -> None:
    _assert_pushed(
        report.docker_run, {"smoke", "smoke-docker-run", "smoke-docker-run-once"}, report.secret
    )
    # The one thing the action writes into the workspace: its result file, for `mode: report`.
    assert report.workspace_changes == [
        ".hub-push",
        ".hub-push/results",
        ".hub-push/results/HelloExecutor.json",
    ], "the action wrote into the workspace"
    assert report.docker_run.outputs["result-file"] == ".hub-push/results/HelloExecutor.json"


def test_the_release_pushes_every_tag_and_points_a_copy_of_action_yml_at_it(report: Report) -> None:
    release = report.release
    major, minor, _ = RELEASE_VERSION.split(".")
    pushed = release["pushed_tags"]
    assert pushed[:3] == [RELEASE_VERSION, f"{major}.{minor}", major]
    assert re.fullmatch(r"[0-9a-f]{40}", pushed[3]), pushed  # the commit SHA
    assert release["registry_tags"] == sorted(pushed), release
    assert release["image"] == f"{release['registry']}/hub-push:{RELEASE_VERSION}"
    assert release["action_yml_image"] == [f"image: docker://{release['image']}"], release
    # Nothing to build in the released copy: no Dockerfile, no sources.
    files = release["released_files"]
    assert "action.yml" in files and "examples/workflows/smoke.yml" in files
    assert not [f for f in files if f == "Dockerfile" or f.startswith(("src/", "requirements/"))]


def test_act_builds_from_the_dockerfile_on_a_cold_cache(report: Report) -> None:
    # Nothing built from the Dockerfile was left: only act's job image and the stand-in base.
    left = {name for name in report.release["left_before_cold_build"] if "<none>" not in name}
    assert left == {"hub-push-smoke/bookworm:rootfs", "hub-push-smoke/python:3.12-slim"}, left
    run = _assert_pushed(report.cold_build, {"smoke", "smoke-act", "smoke-act-once"}, report.secret)
    assert "docker build -t act-dockeraction:latest" in run.log, run.log[:3000]
    assert run.timings["job_start_to_first_line"] > 0, run.timings


def test_act_pulls_the_released_image_and_builds_nothing(report: Report) -> None:
    left = {name for name in report.release["left_before_cold_pull"] if "<none>" not in name}
    assert left == {"hub-push-smoke/bookworm:rootfs"}, left
    run = _assert_pushed(report.cold_pull, {"smoke", "smoke-act", "smoke-act-once"}, report.secret)
    image = report.release["image"]
    assert f"docker pull image={image}" in run.log, run.log[:3000]
    assert "docker build" not in run.log, run.log[:3000]
    assert run.timings["job_start_to_first_line"] > 0, run.timings
    for name in CHECKED_OUTPUTS:
        assert run.outputs[name] == run.action_outputs[name], name
