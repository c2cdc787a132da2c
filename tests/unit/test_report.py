"""Outputs, the summary and the runner's file-command format, without a Hub."""

from __future__ import annotations

import json

import pytest

from hub_push.errors import BuildFailedError, InputErrors
from hub_push.hints import hint_for
from hub_push.hub.models import ExecutorResult
from hub_push.outcome import Outcome
from hub_push.outputs import outputs, why_empty
from hub_push.settings import Settings
from hub_push.summary import render
from support.runner import parse_file_command


def published() -> Outcome:
    outcome = Outcome(status="succeeded", task_id="t-1", archive_md5="abc", archive_size=2048)
    outcome.protected_tags = ("v1",)
    outcome.record_executor(
        ExecutorResult(
            id="ab12cd34", name="Hello", visibility="public", owner="alice", tags=("v1", "latest")
        )
    )
    return outcome


def test_outputs_of_a_login_push() -> None:
    values = outputs(published())
    assert values["uses"] == "jinaai+docker://alice/Hello:v1"
    assert values["url"] == "https://cloud.jina.ai/executor/ab12cd34/"
    assert values["tags"] == "v1,latest"
    result = json.loads(values["result"])
    assert result["build_status"] == "succeeded"
    assert result["tags"] == ["v1", "latest"]
    assert "secret" not in result


def test_a_first_publish_without_login_uses_the_legacy_form_without_the_secret() -> None:
    outcome = Outcome(status="succeeded")
    outcome.record_executor(
        ExecutorResult(
            id="ab12cd34",
            name="Hello",
            visibility="private",
            secret="s3cret-value",
            tags=("latest",),
        )
    )
    values = outputs(outcome)
    assert values["uses"] == "jinahub+docker://Hello/latest"
    assert values["secret"] == "s3cret-value"
    assert "s3cret-value" not in values["result"]
    assert "s3cret-value" not in render(outcome, None)


def test_every_empty_output_has_a_reason() -> None:
    outcome = Outcome(status="invalid", error="bad input")
    values, reasons = outputs(outcome), why_empty(outcome)
    assert {n for n, v in values.items() if not v} == set(reasons)
    assert reasons["task-id"] == "nothing was uploaded (see the error above)"
    dry = why_empty(Outcome(status="dry-run", archive_md5="x"))
    assert dry["task-id"] == "this was a dry run: nothing was uploaded"


def test_summary_has_heading_table_and_inputs_with_secret_names_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INPUT_BUILD-ENV", "PRIVATE_TOKEN=build-value-xyz")
    settings = Settings(token="login-token-abc", tags=["v1", "latest"])
    text = render(published(), settings.describe())
    assert text.startswith("## ✅ Published <code>Hello</code> to Jina Hub\n")
    assert "| Task ID | <code>t-1</code> |" in text
    assert "| Usage | <code>jinaai+docker://alice/Hello:v1</code> |" in text
    assert "| Protected tags | <code>v1</code> |" in text
    assert "md5 <code>abc</code>, 2.0 KiB" in text
    assert "| build-env | PRIVATE_TOKEN (values hidden) |" in text
    assert "| token | set (hidden) |" in text
    assert "build-value-xyz" not in text
    assert "login-token-abc" not in text


def test_summary_escapes_what_comes_from_outside_and_shows_error_and_log() -> None:
    outcome = Outcome(
        status="failed", error="<script>alert(1)</script> | pipe", error_kind=BuildFailedError
    )
    outcome.executor_name = "<img src=x>"
    outcome.log = tuple(f"line {i} <tag>" for i in range(40))
    text = render(outcome, None)
    assert "<script>" not in text
    assert "<img src=x>" not in text
    assert "&lt;script&gt;" in text
    assert "Build log (last 30 of 40 lines)" in text
    assert "line 9 &lt;tag&gt;" not in text.split("Build log")[1].split("line 10")[0]
    assert "<details open><summary><b>Error</b></summary>" in text
    assert "<b>What to do:</b> Read the build log below" in text


def test_hints_come_from_the_hubble_code_first_then_the_kind_of_error() -> None:
    assert hint_for(BuildFailedError).startswith("Read the build log")
    assert "protected tag" in hint_for(BuildFailedError, 40901)
    assert hint_for(InputErrors).startswith("Fix the inputs")
    assert hint_for(None) == ""


def test_file_command_parsing_follows_the_runner() -> None:
    text = "a=1\nmulti<<EOF_1\nx\ny=z\nEOF_1\nempty<<D\nD\n"
    assert parse_file_command(text) == {"a": "1", "multi": "x\ny=z", "empty": ""}
    with pytest.raises(ValueError, match="never closes"):
        parse_file_command("x<<D\nvalue\n")
