"""The fast tests: no subprocess (a test that needs one belongs in tests/e2e); servers in
process on loopback are fine. The whole folder runs in well under a minute."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest


class SubprocessForbidden(AssertionError):
    """A unit test started a process."""


@pytest.fixture(autouse=True)
def _no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **_kwargs: Any) -> None:
        raise SubprocessForbidden(f"tests/unit may not start a process: {args[:1]!r}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr("os.fork", refuse)
    monkeypatch.setattr("os.posix_spawn", refuse)
    monkeypatch.setattr("os.system", refuse)
