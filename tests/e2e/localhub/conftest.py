"""Fixtures for the local Hub's tests: a server per module, its client, executor folders.

The helpers themselves (ZIPs, the raw HTTP client) live in ``hubkit.py`` beside this file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hubkit import USERS, HubApi, make_executor_folder
from support.localhub_process import LocalHub, local_hub


# fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """One local Hub per test module (tests push uniquely named executors)."""
    with local_hub(tmp_path_factory.mktemp("hub"), users=USERS, build_seconds=0.2) as server:
        yield server


@pytest.fixture
def api(hub: LocalHub) -> Iterator[HubApi]:
    """A raw HTTP client of the module's local Hub."""
    client = HubApi(hub.url)
    yield client
    client.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A valid executor folder with a unique name (its name is the folder's name)."""
    return make_executor_folder(tmp_path)


@pytest.fixture
def sdk_bin() -> Path:
    """The official client's `jina-hub` (from .venv-sdk, or $HUB_PUSH_SDK_VENV)."""
    repo = Path(__file__).resolve().parents[3]
    venv = Path(os.environ.get("HUB_PUSH_SDK_VENV") or repo / ".venv-sdk")
    binary = venv / "bin" / "jina-hub"
    if not binary.exists():
        pytest.fail(
            f"the official client is missing ({binary}): run `make sdk-venv` "
            "(or set HUB_PUSH_SDK_VENV to a venv with jina-hubble-sdk==0.39.0)"
        )
    return binary
