"""The local Hub's build gives Jina Hub's verdict on every labelled executor folder.

The folders and labels are the build-check table (`tests/rules/cases.py`, each judged by the
Hub's own check). Each is packed by the action's packer, pushed over HTTP with the official
client's fields, and built; the task ends `succeeded`, or `failed` with the Hub's code. The
action's preflight and dry run are held to the same table in tests/test_preflight.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub_push.archive import pack
from support.hubkit import ALICE, USERS, HubApi, unique_name
from support.localhub_process import local_hub
from support.rule_cases import CASES, Accept, Case, build

#: Cases that can't travel as they are: a ZIP holds no symbolic links, so what the Hub would
#: receive is another folder (the action leaves such links out, with a warning).
NOT_UPLOADABLE = {c.id for c in CASES if c.links or c.outside}
#: The local Hub refuses these at push time, as Jina Hub does, before any build.
REFUSED_AT_PUSH = {"requirements-placeholder-without-build-env": 40001}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubApi]:
    data = tmp_path_factory.mktemp("checkhub")
    with local_hub(data, users=USERS, build_seconds=0.05) as hub:
        client = HubApi(hub.url)
        yield client
        client.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "case", [c for c in CASES if c.id not in NOT_UPLOADABLE], ids=lambda c: c.id
)
def test_the_local_hubs_build_gives_the_hubs_verdict(
    case: Case, api: HubApi, tmp_path: Path
) -> None:
    folder = build(case, tmp_path / "case")
    archive = pack(folder, tmp_path / "executor.zip")
    result = api.push(
        archive.path.read_bytes(),
        name=unique_name("Case"),
        token=ALICE,
        dockerfile=case.dockerfile,
        build_env={name: "value" for name in case.build_env} or None,
    )
    if case.id in REFUSED_AT_PUSH:
        assert result.status == REFUSED_AT_PUSH[case.id], result
        return
    result.ok()
    assert result.task_id is not None
    report = api.final_report(result.task_id)
    if isinstance(case.expect, Accept):
        assert report["status"] == "succeeded", report
        return
    assert report["status"] == "failed", report
    assert report["error"]["code"] == case.expect.code, report


def test_every_case_but_the_links_is_pushed() -> None:
    assert len(CASES) - len(NOT_UPLOADABLE) >= 30
    links = {"symlink-inside-the-folder", "symlink-out-of-the-folder", "symlink-loop"}
    assert links == NOT_UPLOADABLE
