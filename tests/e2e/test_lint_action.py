"""action.yml and the example workflows are linted like code (tools from the dev extra)."""

from __future__ import annotations

import re
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


OWN_WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("workflow", OWN_WORKFLOWS, ids=lambda p: p.name)
def test_the_repositorys_own_workflows_match_the_schema_and_pass_actionlint(workflow: Path) -> None:
    schema = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    lint = run(tool("actionlint"), "-no-color", str(workflow))
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_dependabot_matches_its_schema() -> None:
    config = ROOT / ".github" / "dependabot.yml"
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(config))
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_pins_every_third_party_action_by_full_sha() -> None:
    for workflow in OWN_WORKFLOWS:
        for line in workflow.read_text().splitlines():
            if "uses:" in line and "uses: ./" not in line:
                ref = line.split("uses:", 1)[1].split("#", 1)[0].strip()
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), (workflow.name, line)
                assert "# v" in line, (workflow.name, line)
