"""Shared fixtures: executor folders built in tmp_path, and a local Hub over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.executors import make_executor_folder, unique_name
from support.hubkit import USERS

if TYPE_CHECKING:
    from support.localhub_process import LocalHub

MakeExecutor = Callable[..., Path]


@pytest.fixture
def make_executor(tmp_path: Path) -> MakeExecutor:
    """Build an executor folder in tmp_path (`support.executors.make_executor_folder`):
    a new, unique name on every call, and by default a class of the same name."""

    def make(name: str | None = None, **options: Any) -> Path:
        name = name or unique_name()
        options.setdefault("cls", name)
        return make_executor_folder(tmp_path, name, **options)

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
    from support.localhub_process import local_hub

    with local_hub(tmp_path_factory.mktemp("hub"), users=USERS, build_seconds=0.2) as hub:
        yield hub


@pytest.fixture
def fresh_hub(tmp_path: Path) -> Iterator[LocalHub]:
    """A local Hub of this test's own, for tests that restart it or need its flags."""
    from support.localhub_process import local_hub

    with local_hub(tmp_path / "hub", users=USERS, build_seconds=0.2) as hub:
        yield hub


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Every request to the GitHub double in this session, checked against GitHub's API
    description and limits, and every answer of the double against its response schema."""
    from support.github_api import CHECKED

    if not CHECKED:
        return
    broken = [(request, problems) for request, problems, meant in CHECKED if problems and not meant]
    meant = sum(1 for _, problems, on_purpose in CHECKED if problems and on_purpose)
    terminalreporter.write_line(
        f"GitHub double: {len(CHECKED)} exchanges checked against @octokit/openapi 23.0.2 "
        f"and GitHub's limits: {len(broken)} violations ({meant} bad requests sent on purpose "
        "by the double's own tests)"
    )
    for request, problems in broken[:20]:
        terminalreporter.write_line(f"  {request}: {'; '.join(problems)[:300]}")
