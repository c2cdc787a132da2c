"""The Hub's build check (``executor_rules.judge``) against the labelled folders of ``cases.py``.

Every label is the verdict of Jina Hub's check (``jina-ai/executor-normalizer`` @ ``bd2828d``);
``cases.py`` says for each one whether the reference was run on that folder or read.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import executor_rules
from executor_rules import (
    EXECUTOR_EXISTS,
    EXECUTOR_NOT_FOUND,
    HUB_MESSAGES,
    OTHER,
    Accepted,
    Rejected,
    judge,
)
from support.rule_cases import BASIC, CASES, Accept, Case, Reject, build


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_hub_gives_the_labelled_verdict(case: Case, tmp_path: Path) -> None:
    folder = build(case, tmp_path)

    verdict = judge(folder, dockerfile=case.dockerfile, build_env=case.build_env)

    expect = case.expect
    if isinstance(expect, Accept):
        assert isinstance(verdict, Accepted), verdict
        assert (verdict.executor, verdict.module, verdict.line) == (
            expect.executor,
            expect.module,
            expect.line,
        )
        assert verdict.dockerfile == expect.dockerfile
        if expect.requirements is not None:
            assert verdict.requirements == expect.requirements
        assert verdict.placeholders == expect.placeholders
    else:
        assert isinstance(verdict, Rejected), verdict
        assert (verdict.code, verdict.file, verdict.line, verdict.quirk) == (
            expect.code,
            expect.file,
            expect.line,
            expect.quirk,
        ), verdict.message
        assert verdict.message
        assert "\n" not in verdict.message
        if verdict.quirk:
            assert "quirk of the Hub's check" in verdict.message
        if expect.code in HUB_MESSAGES:
            assert verdict.hub_message == HUB_MESSAGES[expect.code]


def test_the_table_covers_every_code_and_both_verdicts() -> None:
    codes = {case.expect.code for case in CASES if isinstance(case.expect, Reject)}
    assert codes == {4000, 4001, 4002, 4003, 5000}
    assert sum(isinstance(case.expect, Accept) for case in CASES) >= 10
    assert sum(isinstance(case.expect, Reject) and case.expect.quirk for case in CASES) >= 10
    assert len({case.id for case in CASES}) == len(CASES) >= 30


def _rejected(case_id: str, tmp_path: Path) -> Rejected:
    case = next(c for c in CASES if c.id == case_id)
    verdict = judge(build(case, tmp_path), dockerfile=case.dockerfile, build_env=case.build_env)
    assert isinstance(verdict, Rejected)
    return verdict


def test_messages_say_what_to_change(tmp_path: Path) -> None:
    typo = _rejected("jtype-typo", tmp_path / "typo")
    assert "Did you mean `MyExec`?" in typo.message
    elsewhere = _rejected("class-module-not-in-py-modules", tmp_path / "elsewhere")
    assert "executor.py" in elsewhere.message and "py_modules" in elsewhere.message
    case = _rejected("py-modules-wrong-case", tmp_path / "case")
    assert "`executor.py`" in case.message and "case-sensitive" in case.message
    whitespace = _rejected("quirk-requirements-whitespace-line", tmp_path / "blank")
    assert whitespace.hub_message == "string index out of range"
    assert "delete the spaces" in whitespace.message
    missing = _rejected("requirements-placeholder-without-build-env", tmp_path / "env")
    assert "--build-env TOKEN=YOUR_VALUE" in missing.message


def test_the_hubs_own_text_for_5000_is_its_error(tmp_path: Path) -> None:
    assert _rejected("jtype-missing", tmp_path / "a").hub_message == "'jtype'"
    both = _rejected("py-modules-at-root-and-in-metas", tmp_path / "b")
    assert both.hub_message.startswith("The parameter py_modules can only be appear in one of")
    bare = _rejected("quirk-init-keyword-only-without-default", tmp_path / "c")
    assert bare.hub_message.startswith("1 validation error for ExecutorModel\ninit -> kwargs")


def test_a_missing_folder_is_rejected(tmp_path: Path) -> None:
    verdict = judge(tmp_path / "nope")
    assert isinstance(verdict, Rejected)
    assert verdict.code == OTHER


def test_a_dockerfile_outside_the_folder_is_rejected(tmp_path: Path) -> None:
    folder = build(Case("x", BASIC, Accept("MyExec", "executor.py", 4)), tmp_path)
    verdict = judge(folder, dockerfile="../Dockerfile")
    assert isinstance(verdict, Rejected)
    assert verdict.code == OTHER


def test_the_check_never_imports_the_folders_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    files = {
        **BASIC,
        "executor.py": f"open({str(marker)!r}, 'w').close()\n" + BASIC["executor.py"],
    }
    folder = build(Case("x", files, Accept("MyExec", "executor.py", 5)), tmp_path / "f")
    verdict = judge(folder)
    assert isinstance(verdict, Accepted)
    assert not marker.exists()


def test_verdicts_are_frozen_and_the_api_is_small() -> None:
    rejected = Rejected(code=EXECUTOR_EXISTS, message="m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rejected.code = EXECUTOR_NOT_FOUND  # type: ignore[misc]
    assert not rejected.accepted
    assert Accepted("A", "a.py", 1, None, (), ()).accepted
    assert set(executor_rules.__all__) >= {"judge", "Accepted", "Rejected", "Verdict"}
