"""Release pipelines through the entrypoint: tags from the git ref, idempotent reruns against
the local Hub, monorepo tag prefixes, and `mode: discover` over a git repository with history.

(The tag rules themselves, ref by ref, are table-tested in tests/test_ref_tags.py; discovery's
git cases in tests/test_discover.py.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support import hostile_hub as hh
from support.executors import make_executor_folder
from support.git import git
from support.runner import ActionRun, run_action

MakeExecutor = Callable[..., Path]
pytestmark = pytest.mark.timeout(120)


def push_on(ref: str, hub_url: str, folder: Path, **inputs: str) -> ActionRun:
    return run_action(
        # a first publish without a login is meant where a test passes no credential
        {
            "path": folder.name,
            "hub-url": hub_url,
            "timeout": "60s",
            "allow-anonymous": "true",
            **inputs,
        },
        workspace=folder.parent,
        env={"GITHUB_REF": ref},
        timeout=100,
    )


def result(run: ActionRun) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(run.outputs["result"])
    return parsed


def test_a_release_tag_gives_the_version_tags_and_protects_the_version(
    shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    run = push_on(
        "refs/tags/v1.2.3",
        shared_hub.url,
        folder,
        token=alice,
        tags="auto",
        **{"protect-version": "true"},
    )
    assert run.returncode == 0, run.log
    assert set(run.outputs["tags"].split(",")) == {"1.2.3", "1.2", "1", "latest"}
    assert result(run)["protected_tags"] == ["1.2.3"]
    assert run.outputs["uses"].endswith(f"{folder.name}:1.2.3")
    # The Inputs table shows `auto` as given; what it became is a remark.
    assert "| tags | auto |" in run.summary
    assert "`tags: auto` on refs/tags/v1.2.3: 1.2.3, 1.2, 1, latest (protected: 1.2.3)." in (
        run.summary
    )


def test_a_branch_and_a_pull_request_get_their_own_tag(
    shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    branch = push_on("refs/heads/feat/new-model", shared_hub.url, folder, token=alice, tags="auto")
    assert branch.returncode == 0, branch.log
    assert branch.outputs["tags"] == "feat-new-model"
    pull = push_on("refs/pull/42/merge", shared_hub.url, folder, token=alice, tags="auto,extra")
    assert pull.returncode == 0, pull.log
    assert pull.outputs["tags"].split(",") == ["pr-42", "extra"]


def test_rerunning_a_finished_release_is_skipped_and_other_content_is_refused(
    shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    release = {"token": alice, "tags": "auto", "protect-version": "true", "if-exists": "skip"}
    first = push_on("refs/tags/v2.0.0", shared_hub.url, folder, **release)
    assert first.returncode == 0, first.log
    assert first.outputs["build-status"] == "succeeded"

    again = push_on("refs/tags/v2.0.0", shared_hub.url, folder, **release)
    assert again.returncode == 0, again.log
    assert again.outputs["build-status"] == "skipped"
    assert again.outputs["task-id"] == ""  # nothing was uploaded
    assert again.outputs["executor-id"] == first.outputs["executor-id"]
    assert "Already on the Hub with this archive: `2.0.0`." in again.summary
    assert "Upload" not in again.log

    (folder / "executor.py").write_text((folder / "executor.py").read_text() + "\n# changed\n")
    changed = push_on("refs/tags/v2.0.0", shared_hub.url, folder, **release)
    assert changed.returncode == 1
    assert changed.outputs["build-status"] == "refused"
    (error,) = changed.annotations()
    assert "Tag `2.0.0`" in error and "other content" in error

    by_default = push_on(
        "refs/tags/v2.0.0",
        shared_hub.url,
        folder,
        token=alice,
        tags="auto",
        **{"protect-version": "true"},
    )
    assert by_default.returncode == 1  # `if-exists: fail`, the default: a rerun is refused
    assert by_default.outputs["build-status"] == "refused"


def test_a_tag_for_another_executor_is_a_clean_skip_with_no_request(
    make_executor: MakeExecutor,
) -> None:
    folder = make_executor()
    with hh.hostile_hub() as hub:
        run = push_on(
            "refs/tags/other-executor/v1.0.0",
            hub.url,
            folder,
            tags="auto",
            **{"tag-prefix": "my-executor/"},
        )
        assert hub.requests == []
    assert run.returncode == 0, run.log
    assert run.outputs["build-status"] == "skipped"
    assert "Not for this executor" in run.summary


def test_a_monorepo_tag_releases_its_executor_with_the_prefix_stripped(
    shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    run = push_on(
        "refs/tags/my-executor/v3.1.0",
        shared_hub.url,
        folder,
        token=alice,
        tags="auto",
        **{"tag-prefix": "my-executor/"},
    )
    assert run.returncode == 0, run.log
    assert set(run.outputs["tags"].split(",")) == {"3.1.0", "3.1", "3", "latest"}


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"tags": "auto"}, "Input `tags`"),  # no GITHUB_REF at all
        ({"tags": "v1", "tag-prefix": "x/"}, "Input `tag-prefix`"),
        ({"tags": "v1", "protect-version": "true"}, "Input `protect-version`"),
        ({"if-exists": "maybe"}, "Input `if-exists`"),
        ({"mode": "publish"}, "Input `mode`"),
    ],
)
def test_release_inputs_are_checked(
    inputs: dict[str, str], named: str, make_executor: MakeExecutor
) -> None:
    with hh.hostile_hub() as hub:
        run = push_on("", hub.url, make_executor(), **inputs)
        assert hub.requests == []
    assert run.returncode == 1
    (error,) = run.annotations()
    assert named in error


def test_discover_writes_a_matrix_of_the_changed_executors(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "executors").mkdir(parents=True)
    for name in ("Alpha", "Beta", "Gamma"):
        make_executor_folder(repo / "executors", name, cls=name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "three executors")
    before = git(repo, "rev-parse", "HEAD")
    (repo / "executors" / "Beta" / "executor.py").write_text("# changed\n", encoding="utf-8")
    git(repo, "commit", "-qam", "change Beta")

    every = run_action({"mode": "discover", "root": "executors"}, workspace=repo)
    assert every.returncode == 0, every.log
    assert every.outputs["build-status"] == "discovered"
    paths = [e["path"] for e in json.loads(every.outputs["matrix"])["include"]]
    assert paths == ["executors/Alpha", "executors/Beta", "executors/Gamma"]

    changed = run_action(
        {"mode": "discover", "root": "executors", "changed-since": before}, workspace=repo
    )
    assert changed.returncode == 0, changed.log
    matrix = json.loads(changed.outputs["matrix"])
    assert matrix == {
        "include": [
            {
                "path": "executors/Beta",
                "name": "Beta",
                "variant": "default",
                "dockerfile": "",
                "tag-suffix": "",
            }
        ]
    }
    assert "executors/Beta (Beta)" in changed.summary
