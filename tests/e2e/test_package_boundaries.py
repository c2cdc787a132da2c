"""The rooms stay apart: the action's package and the local Hub's never import each other.

Read from the source with `ast` (every import statement, at any depth), not by importing.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def imported_modules(package: str) -> dict[str, set[str]]:
    """Module file → the top-level names of everything it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((SRC / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[path.relative_to(SRC).as_posix()] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("hub_push", {"localhub", "support", "tests"}),
        ("localhub", {"hub_push", "support", "tests"}),
        ("executor_rules", {"hub_push", "localhub", "support", "tests"}),
    ],
)
def test_a_package_never_imports_the_other_side(package: str, forbidden: set[str]) -> None:
    modules = imported_modules(package)
    assert len(modules) > 5  # the walk really read the package
    crossing = {module: names & forbidden for module, names in modules.items() if names & forbidden}
    assert crossing == {}


def imports_of_a_run(*args: str, cwd: Path) -> set[str]:
    """Every module `python -m hub_push ARGS` imported (from `-X importtime`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hub_push", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def test_help_imports_none_of_the_runs_dependencies(tmp_path: Path) -> None:
    modules = imports_of_a_run("--help", cwd=tmp_path)
    assert "hub_push.cli" in modules
    assert not {m.split(".")[0] for m in modules} & {
        "httpx",
        "pydantic",
        "pydantic_settings",
        "github",
        "yaml",
        "requests",
    }


def test_a_dry_run_imports_no_network_client(make_executor: Callable[..., Path]) -> None:
    folder = make_executor()
    modules = imports_of_a_run("--dry-run", "--path", folder.name, cwd=folder.parent)
    assert "hub_push.flow" in modules and "pydantic_settings" in modules
    assert not {m.split(".")[0] for m in modules} & {"httpx", "github", "requests"}
