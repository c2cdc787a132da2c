"""Each rule of the grammar is written once, in `hub_push/grammar.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_push import grammar

SRC = Path(__file__).resolve().parents[2] / "src" / "hub_push"


@pytest.mark.parametrize(
    "pattern",
    [
        "[A-Za-z0-9_][A-Za-z0-9_.-]",  # a Hub tag
        "[A-Za-z0-9][A-Za-z0-9_-]{0,63}",  # the `name` input
        "(?!GITHUB_)",  # save-secret-as
        "[A-Z0-9_]+",  # a build-env name
        "[0-9a-f]{24}",  # a task id
    ],
)
def test_a_rule_is_written_once_in_the_grammar(pattern: str) -> None:
    found = [
        path.relative_to(SRC).as_posix()
        for path in sorted(SRC.rglob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if pattern in line
    ]
    assert found and set(found) == {"grammar.py"}, found


def test_a_tag_is_checked_by_the_one_rule() -> None:
    assert grammar.TAG.matches("v1.2.3-gpu")
    assert not grammar.TAG.matches("-v1")
    assert not grammar.TAG.matches("x" * 129)
    with pytest.raises(ValueError, match="is not a valid tag"):
        grammar.parse_tags("ok, bad!")
