"""Fast checks of the Dockerfile and .dockerignore, without a Docker engine."""

from __future__ import annotations

import json
import re
import tomllib

from container_smoke import REPO, hadolint

DOCKERFILE = (REPO / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def test_hadolint_passes() -> None:
    linted = hadolint()
    assert linted.returncode == 0, linted.stdout


def test_the_image_is_python_3_12_slim_with_no_user_or_workdir() -> None:
    assert [i for i in INSTRUCTIONS if i.startswith("FROM")][-1] == "FROM python:3.12-slim"
    assert not [i for i in INSTRUCTIONS if i.split()[0] in {"USER", "WORKDIR"}]


def test_python_writes_no_bytecode_buffers_nothing_and_pip_keeps_no_cache() -> None:
    env = " ".join(i for i in INSTRUCTIONS if i.startswith("ENV"))
    for setting in ("PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "PIP_NO_CACHE_DIR=1"):
        assert setting in env
    for run in (i for i in INSTRUCTIONS if i.startswith("RUN") and "pip install" in i):
        assert "--no-cache-dir" in run


def test_the_entrypoint_is_exec_form_by_absolute_path() -> None:
    (entrypoint,) = [i for i in INSTRUCTIONS if i.startswith("ENTRYPOINT")]
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT")) == [
        "/usr/local/bin/python",
        "-m",
        "hub_push",
    ]


def test_the_image_gets_no_extras() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert "localhub" in extras
    assert "[" not in " ".join(i for i in INSTRUCTIONS if "pip install" in i)


def test_dockerignore_lets_in_only_what_the_dockerfile_copies() -> None:
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "exclude everything first"
    assert {r.removeprefix("!").rstrip("/") for r in rules if r.startswith("!")} == {
        "pyproject.toml",
        "README.md",
        "src/hub_push",  # the action's package and the rules it uses: not the local Hub
        "src/executor_rules",
    }
