"""Real event payloads, from `@octokit/webhooks-examples` (`github_events.json`, written by
`scripts/github_api_subset.py`): tests change what they need on a copy."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).with_name("github_events.json")


@cache
def _events() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EVENTS.read_text(encoding="utf-8"))["events"]
    return data


def example(event: str) -> dict[str, Any]:
    """A fresh copy of the example payload of `event` (`pull_request`, `push`,
    `workflow_run`, `merge_group`)."""
    return copy.deepcopy(_events()[event])


def pull_request(
    number: int = 7,
    *,
    head_sha: str = "a" * 40,
    head_repo: str | None = "o/r",
    base_repo: str = "o/r",
) -> dict[str, Any]:
    """octokit's `pull_request` example as pull request `number` of `base_repo`, from
    `head_repo` (None: a deleted fork), its head at `head_sha`."""
    payload = example("pull_request")
    payload["number"] = number
    pull = payload["pull_request"]
    pull["number"] = number
    pull["head"]["sha"] = head_sha
    if head_repo:
        pull["head"]["repo"]["full_name"] = head_repo
    else:
        pull["head"]["repo"] = None
    pull["base"]["repo"]["full_name"] = base_repo
    payload["repository"]["full_name"] = base_repo
    return payload
