"""Shared fixtures: executor folders built in tmp_path, and a local Hub over real HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hub_push.dev.localhub_process import LocalHub

USERS = {"alice": "alice-token-0123456789", "bob": "bob-token-9876543210"}
_names = itertools.count(1)

EXECUTOR_PY = """\
from jina import Executor, requests


class {cls}(Executor):
    @requests
    def run(self, docs, **kwargs):
        return docs
"""

MakeExecutor = Callable[..., Path]


@pytest.fixture
def make_executor(tmp_path: Path) -> MakeExecutor:
    """Build an executor folder; every call gets a new, unique executor name."""

    def make(
        name: str | None = None,
        *,
        requirements: str = "",
        extra_files: dict[str, str] | None = None,
        config: str | None = None,
    ) -> Path:
        name = name or f"Exec{next(_names)}x{tmp_path.name[-6:].replace('_', '')}"
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.yml").write_text(
            config
            if config is not None
            else f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n"
        )
        (folder / "executor.py").write_text(EXECUTOR_PY.format(cls=name))
        if requirements:
            (folder / "requirements.txt").write_text(requirements)
        for relative, text in (extra_files or {}).items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return folder

    return make


@pytest.fixture(scope="session")
def users() -> dict[str, str]:
    """Who the local Hubs know: user name → login token."""
    return dict(USERS)


@pytest.fixture(scope="session")
def alice(users: dict[str, str]) -> str:
    """A login token the local Hubs accept."""
    return users["alice"]


@pytest.fixture(scope="session")
def shared_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """One local Hub for the tests that push uniquely named executors."""
    from hub_push.dev.localhub_process import local_hub

    with local_hub(tmp_path_factory.mktemp("hub"), users=USERS, build_seconds=0.2) as hub:
        yield hub


@pytest.fixture
def fresh_hub(tmp_path: Path) -> Iterator[LocalHub]:
    """A local Hub of this test's own, for tests that restart it or need its flags."""
    from hub_push.dev.localhub_process import local_hub

    with local_hub(tmp_path / "hub", users=USERS, build_seconds=0.2) as hub:
        yield hub
