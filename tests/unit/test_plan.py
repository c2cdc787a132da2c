"""The plan: the run decided from the inputs as given, the GitHub context and the folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub_push.errors import InputError, InputErrors
from hub_push.github_context import GitHubContext
from hub_push.plan import locate, make_plan
from hub_push.settings import load_settings

MakeExecutor = Callable[..., Path]


def test_a_fork_pull_request_is_planned_as_a_dry_run_and_the_inputs_stay_as_given() -> None:
    settings = load_settings({"token": "t0ken-123"})
    fork = GitHubContext(event_name="pull_request", is_fork=True)
    plan = make_plan(settings, fork)
    assert plan.dry_run and not settings.dry_run
    assert "comes from a fork" in plan.dry_run_reason
    assert plan.remarks == (
        f"Run as a dry run (the `dry-run` input is false): {plan.dry_run_reason}.",
    )


def test_tags_auto_becomes_the_tags_of_the_ref() -> None:
    settings = load_settings({"tags": ["auto"], "protect_version": True})
    plan = make_plan(settings, GitHubContext(ref="refs/tags/v1.2.3"))
    assert plan.tags == ("1.2.3", "1.2", "1", "latest")
    assert plan.protected_tags == ("1.2.3",)
    assert settings.tags == ["auto"]  # never rewritten
    request = plan.push_request("0" * 32)
    assert (request.tags, request.protected_tags) == (plan.tags, plan.protected_tags)


def test_a_tag_of_another_executor_is_a_skip_with_its_reason() -> None:
    settings = load_settings({"tags": ["auto"], "tag_prefix": "other/"})
    plan = make_plan(settings, GitHubContext(ref="refs/tags/mine/v1.0.0"))
    assert plan.skip.startswith("Not for this executor:")
    reported = load_settings({"tags": ["auto"], "tag_prefix": "other/", "status_check": True})
    assert make_plan(reported, GitHubContext(ref="refs/tags/mine/v1.0.0")).github is not None


def test_a_ref_without_tags_is_an_input_error() -> None:
    with pytest.raises(InputError):
        make_plan(load_settings({"tags": ["auto"]}), GitHubContext(ref="refs/weird/x"))


def test_the_executor_is_named_from_the_folder_and_the_name_input_wins(
    make_executor: MakeExecutor,
) -> None:
    folder = make_executor("FromConfig")
    target = locate(folder.name, folder.parent)
    settings = load_settings({"path": folder.name})
    plan = make_plan(settings, GitHubContext(workspace=folder.parent), target)
    assert (plan.executor_name, plan.push_name) == ("FromConfig", "FromConfig")
    named = make_plan(
        load_settings({"path": folder.name, "name": "Other"}), GitHubContext(), target
    )
    assert named.push_request("0" * 32).id == "Other"


def test_a_folder_that_is_not_there_is_planned_as_its_error(tmp_path: Path) -> None:
    target = locate("missing", tmp_path)
    assert target.folder is None
    assert "does not exist" in str(target.problem)
    plan = make_plan(load_settings({"path": "missing"}), GitHubContext(), target)
    assert plan.executor_name == "missing"


def test_tag_suffix_goes_on_every_tag_latest_and_protected_ones_too() -> None:
    settings = load_settings({"tags": ["auto"], "protect_version": True, "tag_suffix": "-gpu"})
    plan = make_plan(settings, GitHubContext(ref="refs/tags/v1.2.3"))
    assert plan.tags == ("1.2.3-gpu", "1.2-gpu", "1-gpu", "latest-gpu")
    assert plan.protected_tags == ("1.2.3-gpu",)
    nothing = make_plan(load_settings({"tag_suffix": "-gpu"}), GitHubContext())
    assert nothing.tags == ("latest-gpu",)  # sent explicitly, not left to the Hub's default


def test_a_branch_tag_is_cut_to_make_room_for_the_suffix() -> None:
    branch = "feature/" + "x" * 200
    plan = make_plan(
        load_settings({"tags": ["auto"], "tag_suffix": "-gpu"}),
        GitHubContext(ref=f"refs/heads/{branch}"),
    )
    (tag,) = plan.tags
    assert len(tag) == 128 and tag.endswith("-gpu") and tag.startswith("feature-xxx")


def test_a_suffix_that_makes_an_invalid_tag_is_an_input_error() -> None:
    with pytest.raises(InputError, match="Input `tag-suffix`: makes the tag"):
        make_plan(load_settings({"tags": ["v" * 127], "tag_suffix": "-gpu"}), GitHubContext())
    with pytest.raises(InputErrors, match="Input `tag-suffix`: may hold only"):
        load_settings({"tag_suffix": "-gpu!"})
