"""The CLI's flags: one per setting, of the setting's kind, with today's spellings."""

from __future__ import annotations

from typing import Literal, get_args, get_origin

import pytest

from hub_push.cli import OPTIONS, parse_args
from hub_push.settings import Settings, input_name


def _words(kind: object) -> tuple[str, ...]:
    if get_origin(kind) is Literal:
        return tuple(str(word) for word in get_args(kind))
    return tuple(word for arg in get_args(kind) for word in _words(arg))


def test_every_setting_has_one_flag_of_its_kind() -> None:
    assert list(OPTIONS) == list(Settings.model_fields)
    for field, info in Settings.model_fields.items():
        kind, option = info.annotation, OPTIONS[field]
        if kind is bool:
            expected: object = "flag"
        elif get_origin(kind) in (list, dict):
            expected = "list"
        else:
            expected = _words(kind) or "text"
        assert option.kind == expected, field


BOOLEANS = [field for field, option in OPTIONS.items() if option.kind == "flag"]


@pytest.mark.parametrize("field", BOOLEANS)
def test_every_boolean_has_a_no_form(field: str) -> None:
    on = f"--{input_name(field)}"
    off = "--cache" if field == "no_cache" else f"--no-{input_name(field)}"
    assert parse_args([on]) == {field: True}
    assert parse_args([off]) == {field: False}
    assert parse_args([on, off]) == {field: False}  # the last one given wins
    assert Settings.model_validate(parse_args([off])).model_dump()[field] is False


def test_todays_spellings_are_kept() -> None:
    tags = ["-t", "a", "--tag", "b", "--protected-tag", "v1"]
    env = ["--build-env", "A=1", "--build-env", "B=2"]
    args = parse_args([*tags, "-f", "Dockerfile.gpu", *env, "--visibility", "private"])
    assert args == {
        "tags": ["a", "b"],
        "protected_tags": ["v1"],
        "dockerfile": "Dockerfile.gpu",
        "build_env": ["A=1", "B=2"],
        "visibility": "private",
    }
    assert parse_args(["discover", "--root", "executors"]) == {
        "mode": "discover",
        "root": "executors",
    }
    assert parse_args(["status", "--task-id", "a" * 24, "--no-replay"]) == {
        "mode": "status",
        "task_id": "a" * 24,
        "replay": False,
    }


def test_a_word_outside_a_choice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--mode", "publish"])
    assert "invalid choice: 'publish'" in capsys.readouterr().err
