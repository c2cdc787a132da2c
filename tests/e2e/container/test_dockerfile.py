"""Fast checks of the Dockerfile and .dockerignore, without a Docker engine."""

from __future__ import annotations

import json
import re
import tomllib

from container_smoke import REPO, hadolint, pinned_base

DOCKERFILE = (REPO / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def test_hadolint_passes() -> None:
    linted = hadolint()
    assert linted.returncode == 0, linted.stdout


def test_the_base_is_python_3_12_slim_pinned_by_digest_with_no_user_or_workdir() -> None:
    # One build argument, declared before every FROM, defaulting to the official image by digest;
    # every stage starts from it (only the offline container test passes another).
    assert INSTRUCTIONS[0].startswith("ARG BASE_IMAGE="), INSTRUCTIONS[0]
    default = INSTRUCTIONS[0].removeprefix("ARG BASE_IMAGE=")
    assert re.fullmatch(r"python:3\.12-slim@sha256:[0-9a-f]{64}", default), default
    assert default == pinned_base()
    froms = [i.split()[1] for i in INSTRUCTIONS if i.startswith("FROM")]
    assert froms and set(froms) == {"${BASE_IMAGE}"}, froms
    # Where the digest came from, and how it is refreshed, are said beside it.
    comments = DOCKERFILE.split("ARG BASE_IMAGE=")[0]
    assert "RDFLib/rdflib" in comments
    assert "Dependabot" in comments or "Renovate" in comments
    assert not [i for i in INSTRUCTIONS if i.split()[0] in {"USER", "WORKDIR"}]


def test_python_packages_come_from_the_locks_with_hashes() -> None:
    installs = [i for i in INSTRUCTIONS if i.startswith("RUN") and "pip install" in i]
    locked = [i for i in installs if "--require-hashes --requirement" in i]
    assert sorted(re.findall(r"--requirement (\S+)", " ".join(locked))) == [
        "/tmp/action.lock",
        "/tmp/build.lock",
    ]
    # The action's own packages: from the source, no dependencies, no build isolation (which
    # would fetch an unpinned build backend).
    (own,) = [i for i in installs if i not in locked]
    assert "--no-deps" in own and "--no-build-isolation" in own, own
    assert "COPY requirements/action.lock /tmp/action.lock" in INSTRUCTIONS


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
        "requirements/action.lock",
        "requirements/build.lock",
        "src/hub_push",  # the action's package and the rules it uses: not the local Hub
        "src/executor_rules",
    }
