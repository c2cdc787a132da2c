"""Variants and monorepos through the entrypoint: discover gives a row per Dockerfile variant,
each row pushes with its own Dockerfile and tag suffix, each run leaves a result file, and
`mode: report` makes one summary, one comment and one status of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support.executors import make_executor_folder
from support.github_api import FakeGitHub, github_api
from support.github_events import pull_request
from support.runner import ActionRun, run_action

pytestmark = pytest.mark.timeout(180)
GPU = 'FROM jinaai/jina:3-py38-perf\nCOPY . /workspace\nENTRYPOINT ["jina", "executor"]\n'


def workspace_with_variants(tmp_path: Path) -> Path:
    workspace = tmp_path / "repo"
    folder = make_executor_folder(workspace / "executors", "Encoder", cls="Encoder")
    (folder / "Dockerfile").write_text(GPU.replace("-perf", ""))
    (folder / "Dockerfile.gpu").write_text(GPU)
    return workspace


def runner_env(workspace: Path, api: FakeGitHub | None = None, **more: str) -> dict[str, str]:
    env = {"GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1", **more}
    if api is not None:
        payload = pull_request()
        event = workspace.parent / "event.json"
        event.write_text(json.dumps(payload))
        env.update(
            GITHUB_API_URL=api.api_url,
            GITHUB_EVENT_NAME="pull_request",
            GITHUB_EVENT_PATH=str(event),
            GITHUB_SHA="b" * 40,
        )
    return env


def matrix_rows(workspace: Path) -> tuple[str, list[dict[str, str]]]:
    found = run_action({"mode": "discover", "root": "executors"}, workspace=workspace)
    assert found.outputs["build-status"] == "discovered", found.log
    return found.outputs["matrix"], json.loads(found.outputs["matrix"])["include"]


def push_row(
    workspace: Path, row: dict[str, str], hub_url: str, token: str, env: dict[str, str], **more: str
) -> ActionRun:
    return run_action(
        {
            "path": row["path"],
            "dockerfile": row["dockerfile"],
            "tag-suffix": row["tag-suffix"],
            "tags": "auto",
            "hub-url": hub_url,
            "token": token,
            "verbose": "true",
            "timeout": "90s",
            **more,
        },
        workspace=workspace,
        env=env,
        timeout=150,
    )


def test_discover_gives_a_row_per_variant_and_each_pushes_its_own_tags(
    tmp_path: Path, shared_hub: Any, alice: str
) -> None:
    workspace = workspace_with_variants(tmp_path)
    matrix, rows = matrix_rows(workspace)
    assert [(r["variant"], r["dockerfile"], r["tag-suffix"]) for r in rows] == [
        ("default", "", ""),
        ("gpu", "Dockerfile.gpu", "-gpu"),
    ]
    env = runner_env(workspace, GITHUB_REF="refs/tags/v1.2.3")
    runs = [push_row(workspace, row, shared_hub.url, alice, env) for row in rows]
    for run in runs:
        assert run.outputs["build-status"] == "succeeded", run.log
    assert set(runs[0].outputs["tags"].split(",")) == {"1.2.3", "1.2", "1", "latest"}
    assert set(runs[1].outputs["tags"].split(",")) == {
        "1.2.3-gpu",
        "1.2-gpu",
        "1-gpu",
        "latest-gpu",
    }
    assert "Dockerfile: Dockerfile.gpu" in runs[1].log  # the Hub built the GPU row from it
    assert "Dockerfile: Dockerfile.gpu" not in runs[0].log
    assert [run.outputs["result-file"] for run in runs] == [
        ".hub-push/results/Encoder.json",
        ".hub-push/results/Encoder-gpu.json",
    ]
    # One report for both: a summary with both rows, one comment, one combined status.
    with github_api() as api:
        report = run_action(
            {
                "mode": "report",
                "results": ".hub-push/results",
                "matrix": matrix,
                "github-token": "ghs_report-0123456789",
                "comment": "true",
                "status-check": "true",
            },
            workspace=workspace,
            env=runner_env(workspace, api),
        )
        assert report.returncode == 0, report.log
        assert report.outputs["build-status"] == "succeeded"
        result = json.loads(report.outputs["result"])
        assert [(r["executor"], r["variant"]) for r in result["rows"]] == [
            ("Encoder", "default"),
            ("Encoder", "gpu"),
        ]
        assert report.summary.count("| <code>Encoder</code> |") == 2
        (comment,) = api.comments.values()
        assert comment["body"].startswith("<!-- hub-push:report -->")
        assert {s["context"] for s in api.statuses} == {"hub-push"}
    # A matrix row that left no result file fails the report.
    missing = json.loads(matrix)
    missing["include"].append({**rows[0], "name": "Gone", "path": "executors/Gone"})
    failed = run_action(
        {"mode": "report", "results": ".hub-push/results", "matrix": json.dumps(missing)},
        workspace=workspace,
        env=runner_env(workspace),
    )
    assert failed.returncode == 1
    assert failed.outputs["build-status"] == "error"
    assert "no result file" in failed.summary


def test_result_files_of_another_run_are_refused(tmp_path: Path) -> None:
    workspace = tmp_path / "repo"
    results = workspace / "results"
    results.mkdir(parents=True)
    record = {"repository": "o/r", "run_id": "1", "executor": "X", "build_status": "succeeded"}
    (results / "X.json").write_text(json.dumps(record))
    run = run_action(
        {"mode": "report", "results": "results"}, workspace=workspace, env=runner_env(workspace)
    )
    assert run.returncode == 1
    assert run.outputs["build-status"] == "invalid"
    (error,) = run.annotations()
    assert "the result of another repository or run" in error


def test_on_a_pull_request_the_variants_each_get_a_status_and_a_comment(
    tmp_path: Path, shared_hub: Any, alice: str
) -> None:
    workspace = workspace_with_variants(tmp_path)
    _, rows = matrix_rows(workspace)
    with github_api() as api:
        env = runner_env(workspace, api, GITHUB_REF="refs/pull/7/merge")
        reports = {"github-token": "ghs_variants-0123456789", "status-check": "true"}
        for row in rows:
            run = push_row(workspace, row, shared_hub.url, alice, env, comment="true", **reports)
            assert run.outputs["build-status"] == "succeeded", run.log
        contexts = [s["context"] for s in api.statuses]
        assert set(contexts) == {"hub-push/Encoder", "hub-push/Encoder-gpu"}
        heads = sorted(c["body"].splitlines()[0] for c in api.comments.values())
        assert heads == ["<!-- hub-push:Encoder -->", "<!-- hub-push:Encoder-gpu -->"]
