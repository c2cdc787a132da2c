"""The interface can't drift: action.yml, the README tables, the settings model and the outputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import yaml

from hub_push.outcome import Outcome, Status
from hub_push.outputs import OUTPUT_NAMES, outputs
from hub_push.settings import Settings, input_name
from hub_push.summary import HEADINGS
from support.runner import action_inputs

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
README = (ROOT / "README.md").read_text()


def readme_table(heading: str) -> dict[str, list[str]]:
    """First column (a `code` name) → the other cells, for the table under `## heading`."""
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\| `([a-z0-9-]+)` \|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_every_input_is_in_the_readme_with_the_same_default() -> None:
    table = readme_table("Inputs")
    assert list(table) == list(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        documented = table[name][0].strip("`")
        assert documented == str(spec.get("default", "")), name
        assert spec.get("description"), f"{name} has no description in action.yml"


def test_every_input_is_a_setting_with_the_same_default() -> None:
    fields = {input_name(f): info for f, info in Settings.model_fields.items()}
    assert set(fields) == set(ACTION["inputs"])
    defaults = action_inputs()
    empty = Settings.model_validate({})  # no environment needed: every field has a default
    for name, default in defaults.items():
        if not default:
            continue  # empty means "unset": the model's own default applies
        field = name.replace("-", "_")
        from_action = Settings.model_validate({field: default})
        assert getattr(from_action, field) == getattr(empty, field), name


def test_every_output_is_in_the_readme_and_always_set() -> None:
    assert list(ACTION["outputs"]) == list(OUTPUT_NAMES)
    assert list(readme_table("Outputs")) == list(OUTPUT_NAMES)
    assert list(outputs(Outcome())) == list(OUTPUT_NAMES)


def test_every_build_status_is_documented_and_has_a_heading() -> None:
    statuses = list(get_args(Status))
    assert list(readme_table("Build statuses")) == statuses
    assert list(HEADINGS) == statuses
    for status in statuses:
        assert f"`{status}`" in ACTION["outputs"]["build-status"]["description"], status
    green = [s for s in statuses if Outcome(status=s).ok]
    assert green == statuses[:5]  # the README says: the first five leave the step green


def test_action_runs_the_dockerfile() -> None:
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile"}
