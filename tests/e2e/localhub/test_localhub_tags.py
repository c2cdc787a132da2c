"""Tags: `latest` by default, several per push, protected tags refused forever (also in a race)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest

from support.hubkit import ALICE, HubApi, PushResult, zip_folder


def _built(api: HubApi, result: PushResult) -> None:
    assert result.task_id is not None
    assert api.final_report(result.task_id, token=ALICE)["status"] == "succeeded"


def test_push_without_tags_is_tagged_latest(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token=ALICE)
    assert result.ok()["commit"]["tags"] == ["latest"]
    _built(api, result)
    data = api.package(folder.name).json()["data"]
    assert data["tags"] == ["latest"]
    assert data["commit"]["tags"] == ["latest"]


def test_push_carries_several_tags_and_no_implicit_latest(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token=ALICE, tags=["v1.0.0", "stable"])
    assert result.ok()["commit"]["tags"] == ["v1.0.0", "stable"]
    _built(api, result)
    assert sorted(api.package(folder.name).json()["data"]["tags"]) == ["stable", "v1.0.0"]
    assert api.package(folder.name, tag="latest").status_code == 404


def test_protected_tags_are_tags_of_the_push(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token=ALICE, protected=["v1"])
    assert result.ok()["commit"]["tags"] == ["v1"]
    _built(api, result)
    data = api.package(folder.name, tag="v1").json()["data"]
    assert data["tags"] == ["v1"]
    assert data["protectedTags"] == ["v1"]


def test_protected_tag_is_refused_on_every_later_push_that_carries_it(
    api: HubApi, folder: Path
) -> None:
    api.push(folder, token=ALICE, tags=["v1", "latest"], protected=["v1"]).ok()
    expected = (
        f"Tag `v1` of executor {folder.name} is protected and was already pushed; "
        "protected tags can never be pushed again."
    )
    as_tag = api.push(folder, token=ALICE, tags=["v1"])
    as_protected = api.push(folder, token=ALICE, protected=["v1"])
    for refused in (as_tag, as_protected):
        assert refused.complete is None
        assert refused.lines[-1]["type"] == "error"
        assert refused.readable == expected
        assert refused.status == 40901
    # Other tags still move; the refused pushes left no commit behind.
    assert api.push(folder, token=ALICE, tags=["latest"]).ok()["commit"]["tags"] == ["latest"]
    assert len(api.tasks(folder.name)) == 2


def test_refusal_names_every_protected_tag_it_hits(api: HubApi, folder: Path) -> None:
    api.push(folder, token=ALICE, protected=["v1", "v2"]).ok()
    result = api.push(folder, token=ALICE, tags=["v2", "v3", "v1"])
    assert "`v2`, `v1`" in result.readable


def test_unprotected_tag_can_be_pushed_again(api: HubApi, folder: Path) -> None:
    api.push(folder, token=ALICE, tags=["v1"]).ok()
    assert api.push(folder, token=ALICE, tags=["v1"]).complete is not None


def test_invalid_tag_is_refused(api: HubApi, folder: Path) -> None:
    result = api.push(folder, token=ALICE, tags=["ok", "-bad tag"])
    assert result.status == 40001
    assert "-bad tag" in result.readable


@pytest.mark.timeout(60)
def test_twenty_concurrent_pushes_of_one_protected_tag_exactly_one_wins(
    api: HubApi, folder: Path
) -> None:
    api.push(folder, token=ALICE).ok()
    archive = zip_folder(folder)
    start = Barrier(20)

    def push(_: int) -> PushResult:
        client = HubApi(api.url)
        try:
            start.wait()
            return client.push(
                archive, name=folder.name, token=ALICE, tags=["v1"], protected=["v1"]
            )
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(push, range(20)))

    winners = [r for r in results if r.complete is not None]
    losers = [r for r in results if r.complete is None]
    assert len(winners) == 1
    assert len(losers) == 19
    assert all(r.status == 40901 and "Tag `v1`" in r.readable for r in losers)
    assert api.package(folder.name).json()["data"]["protectedTags"] == ["v1"]
    assert len(api.tasks(folder.name)) == 2


def test_a_protected_tag_whose_build_fails_is_released_and_kept_once_built(
    api: HubApi, folder: Path
) -> None:
    good = (folder / "executor.py").read_text()
    (folder / "executor.py").write_text("GREETING = 'the class went missing'\n")
    broken = api.push(folder, token=ALICE, protected=["v1.0.0"])
    assert broken.task_id is not None
    assert api.final_report(broken.task_id, token=ALICE)["status"] == "failed"
    assert "v1.0.0" not in api.package(folder.name).json()["data"]["protectedTags"]

    (folder / "executor.py").write_text(good)  # the fix, released under the same version
    fixed = api.push(folder, token=ALICE, protected=["v1.0.0"])
    _built(api, fixed)
    assert "v1.0.0" in api.package(folder.name).json()["data"]["protectedTags"]

    again = api.push(folder, token=ALICE, protected=["v1.0.0"])
    assert again.status == 40901, again  # built once: kept forever
