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
