"""The preflight and the dry run give Jina Hub's verdict on every labelled executor folder.

The folders and their labels are the build-check table (`tests/rules/cases.py`): each was
judged by the Hub's own check (`jina-ai/executor-normalizer`). Here every one goes through the
entrypoint as the runner runs it, as a dry run: nothing is uploaded, and a folder the Hub would
reject fails with `preflight-failed`, one annotation on the file and line, and the Hub's code.
The local Hub's build is held to the same table in tests/localhub/test_localhub_build_check.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.executors import unique_name
from support.rule_cases import CASES, Accept, Case, build
from support.runner import ActionRun, run_action

#: Folders the Hub would take but that `jina hub push` (and so the action) refuses before any
#: upload: the status, and why.
CLIENT_REFUSES = {
    "named-dockerfile-missing-is-generated": (
        "invalid",
        "the official client refuses a push naming a Dockerfile that does not exist",
    ),
    "named-dockerfile-in-missing-folder": (
        "invalid",
        "the official client refuses a push naming a Dockerfile that does not exist",
    ),
}


def dry_run(case: Case, base: Path, **inputs: str) -> tuple[Path, ActionRun]:
    folder = build(case, base)
    run = run_action(
        {
            "path": folder.name,
            "name": unique_name("Case"),  # most folders have no metas.name
            "dry-run": "true",
            "dockerfile": case.dockerfile or "",
            "build-env": "\n".join(f"{name}=value" for name in case.build_env),
            **inputs,
        },
        workspace=base,
        timeout=60,
    )
    return folder, run


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_dry_run_gives_the_hubs_verdict(case: Case, tmp_path: Path) -> None:
    folder, run = dry_run(case, tmp_path)
    status = run.outputs["build-status"]
    assert run.outputs["task-id"] == ""  # nothing was uploaded, whatever the verdict
    if case.id in CLIENT_REFUSES:
        assert status == CLIENT_REFUSES[case.id][0], run.log
        return
    if isinstance(case.expect, Accept):
        assert (run.returncode, status) == (0, "dry-run"), run.log
        found = f"class {case.expect.executor} in {case.expect.module}:{case.expect.line}"
        assert found in run.log
        return
    assert (run.returncode, status) == (1, "preflight-failed"), run.log
    (error,) = run.annotations()
    assert f"code {case.expect.code})" in error
    assert "`preflight: false`" in error  # the message names the input that skips the check
    if case.expect.file:
        assert f"file={folder.name}/{case.expect.file}" in error
    if case.expect.line:
        assert re.search(rf"line={case.expect.line}\b", error), error
    if case.expect.quirk:
        assert "a quirk of Jina Hub's build check" in error
    assert "Packing" not in run.log  # stopped before packing


@pytest.mark.timeout(60)
def test_preflight_false_skips_the_check_and_says_so(tmp_path: Path) -> None:
    (case,) = [c for c in CASES if c.id == "config-without-py-modules"]
    _, run = dry_run(case, tmp_path, preflight="false")
    assert (run.returncode, run.outputs["build-status"]) == (0, "dry-run"), run.log
    assert "build check skipped (`preflight: false`)" in run.log


def test_the_table_covers_every_code_and_both_verdicts() -> None:
    codes = {c.expect.code for c in CASES if not isinstance(c.expect, Accept)}
    assert codes == {4000, 4001, 4002, 4003, 5000}
    assert len([c for c in CASES if isinstance(c.expect, Accept)]) >= 10
    assert len(CASES) >= 30
