"""action.yml and the example workflows are linted like code (tools from the dev extra)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is missing: run `make setup` (it comes with the dev extra)"
    return str(found)


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_action_yml_matches_the_actions_metadata_schema() -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_example_workflow_matches_the_workflow_schema(workflow: Path) -> None:
    done = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_example_workflows_pass_actionlint() -> None:
    assert WORKFLOWS, "no example workflows"
    done = run(tool("actionlint"), "-no-color", *(str(w) for w in WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr
