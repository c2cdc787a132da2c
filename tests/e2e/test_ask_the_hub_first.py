"""Ask the Hub first: refusals before the upload, `skip-unchanged`, a dry run that says what a
push would do on the Hub, a build verified against the archive, and attestable bytes. The
hostile Hub stands as a gateway in front of a real local Hub to count what reaches it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import hostile_hub as hh
from support.github_api import github_api
from support.github_events import pull_request
from support.runner import ActionRun, push_folder

MakeExecutor = Callable[..., Path]
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def gateway(shared_hub: Any) -> Iterator[hh.HostileHub]:
    with hh.hostile_hub(upstream=shared_hub.url) as server:
        yield server


def push(folder: Path, hub_url: str, env: dict[str, str] | None = None, **inputs: str) -> ActionRun:
    return push_folder(folder, hub_url, env, limit="60s", **inputs)


def test_an_unchanged_push_with_skip_unchanged_uploads_nothing(
    gateway: hh.HostileHub, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor(files={"Dockerfile.gpu": 'FROM jinaai/jina:3\nENTRYPOINT ["jina"]\n'})
    first = push(folder, gateway.url, token=alice, tags="v1, latest")
    assert first.outputs["build-status"] == "succeeded", first.log
    again = push(folder, gateway.url, token=alice, tags="v1, latest", **{"skip-unchanged": "true"})
    assert again.returncode == 0, again.log
    assert again.outputs["build-status"] == "skipped"
    assert len(gateway.seen("executor.push")) == 1  # the second run uploaded nothing
    assert "Every tag of this push already holds this archive" in again.summary
    assert again.outputs["executor-id"] == first.outputs["executor-id"]
    assert again.outputs["tags"] == first.outputs["tags"]  # in the same order as the push
    # Another Dockerfile is another image: pushed whatever the tags hold.
    other = push(
        folder,
        gateway.url,
        token=alice,
        tags="v1, latest",
        dockerfile="Dockerfile.gpu",
        preflight="false",
        **{"skip-unchanged": "true"},
    )
    assert other.outputs["build-status"] == "succeeded", other.log
    assert len(gateway.seen("executor.push")) == 2
    # A changed file is other content: pushed.
    (folder / "README.md").write_text("changed\n")
    changed = push(
        folder, gateway.url, token=alice, tags="v1, latest", **{"skip-unchanged": "true"}
    )
    assert changed.outputs["build-status"] == "succeeded", changed.log
    assert len(gateway.seen("executor.push")) == 3


def test_a_protected_tag_already_taken_is_refused_before_the_upload(
    gateway: hh.HostileHub, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    released = push(folder, gateway.url, token=alice, **{"protected-tags": "v1.0.0"})
    assert released.outputs["build-status"] == "succeeded", released.log
    (folder / "README.md").write_text("a fix\n")
    again = push(folder, gateway.url, token=alice, **{"protected-tags": "v1.0.0"})
    assert again.outputs["build-status"] == "refused"
    assert len(gateway.seen("executor.push")) == 1  # 0 bytes uploaded the second time
    (error,) = again.annotations()
    assert "Tag `v1.0.0`" in error and "refused before the upload" in error
    assert "What to do: A protected tag can be pushed only once" in error


def test_if_exists_skip_on_the_same_archive_is_skipped(
    gateway: hh.HostileHub, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    inputs = {"protected-tags": "v2.0.0", "if-exists": "skip"}
    assert push(folder, gateway.url, token=alice, **inputs).outputs["build-status"] == "succeeded"
    again = push(folder, gateway.url, token=alice, **inputs)
    assert again.outputs["build-status"] == "skipped", again.log
    assert len(gateway.seen("executor.push")) == 1


def test_a_name_another_account_owns_is_refused_before_the_upload(
    gateway: hh.HostileHub, users: dict[str, str], make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    assert push(folder, gateway.url, token=users["alice"]).outputs["build-status"] == "succeeded"
    theirs = push(folder, gateway.url, token=users["bob"])
    assert theirs.outputs["build-status"] == "refused"
    assert len(gateway.seen("executor.push")) == 1
    (error,) = theirs.annotations()
    assert "owned by another account (`alice`), not by `bob`" in error


def test_a_dry_run_says_what_the_push_would_do_in_the_summary_and_the_comment(
    gateway: hh.HostileHub, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    first = push(folder, gateway.url, token=alice, tags="latest", **{"protected-tags": "v1"})
    assert first.outputs["build-status"] == "succeeded", first.log
    payload = pull_request()
    event = folder.parent / "event.json"
    event.write_text(json.dumps(payload))
    with github_api() as api:
        env = {
            "GITHUB_API_URL": api.api_url,
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_SHA": "b" * 40,
            "GITHUB_EVENT_PATH": str(event),
        }
        dry = push(
            folder,
            gateway.url,
            env,
            token=alice,
            tags="latest",
            comment="true",
            **{"protected-tags": "v1", "dry-run": "true", "github-token": "ghs_dry-run-012345"},
        )
        (comment,) = api.comments.values()
    assert dry.outputs["build-status"] == "dry-run", dry.log
    assert len(gateway.seen("executor.push")) == 1
    for text in (dry.summary, comment["body"]):
        assert "`latest`: already holds this archive" in text
        assert "The push would be refused: Tag `v1`" in text


def test_a_dry_run_against_a_hub_that_does_not_answer_is_a_warning(
    alice: str, make_executor: MakeExecutor
) -> None:
    dry = push(
        make_executor(), "http://127.0.0.1:9", token=alice, timeout="6s", **{"dry-run": "true"}
    )
    assert dry.returncode == 0, dry.log
    assert dry.outputs["build-status"] == "dry-run"
    (warning,) = [w for w in dry.annotations("warning") if "could not be asked" in w]
    assert "the dry run goes on without it" in warning


def test_the_kept_archive_is_the_attested_bytes_the_hub_received(
    shared_hub: Any, alice: str, make_executor: MakeExecutor
) -> None:
    folder = make_executor()
    run = push(folder, shared_hub.url, token=alice, **{"keep-archive": "true"})
    assert run.outputs["build-status"] == "succeeded", run.log
    kept = folder.parent / run.outputs["archive-path"]
    data = kept.read_bytes()
    assert run.outputs["archive-sha256"] == hashlib.sha256(data).hexdigest()
    assert run.outputs["archive-md5"] == hashlib.md5(data).hexdigest()  # noqa: S324
    received = list(shared_hub.data_dir.rglob(f"{run.outputs['archive-md5']}-*.zip"))
    assert received and received[0].read_bytes() == data  # byte-identical to the upload
    assert f"Verified: the Hub serves this archive (md5 {run.outputs['archive-md5']})" in (
        run.summary
    )
    # kept archives are never packed again
    again = push(folder, shared_hub.url, token=alice, **{"keep-archive": "true"})
    assert again.outputs["archive-md5"] == run.outputs["archive-md5"]
