"""Packaging: the image's lock files agree with pyproject.toml (offline), every dependency floor
really works (a venv with the lowest allowed versions runs a fast part of the suite), and the
release machinery (the workflow and the script that rewrites action.yml) is what it claims.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RELEASE_WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
LOCKS = {
    "action": ROOT / "requirements" / "action.lock",
    "build": ROOT / "requirements" / "build.lock",
}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock_script = _load("lock")
release_script = _load("release_action_yml")


# --- the lock files -----------------------------------------------------------------------


@dataclass
class Pin:
    version: str
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)  # every target Python's, together


def parse_lock(path: Path) -> dict[str, Pin]:
    """A pip-compile lock with scripts/lock.py's `# requires:` lines, by canonical name."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    in_via = False
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)\s*\\?$", raw):
            current = pins[canonicalize_name(match.group(1))] = Pin(match.group(2))
            in_via = False
        elif current is None or not raw.startswith("    "):
            current, in_via = None, False
        elif line.startswith("--hash=sha256:"):
            current.hashes.append(line.removeprefix("--hash=sha256:").rstrip(" \\"))
        elif line.startswith("# via"):
            in_via = True
            rest = line.removeprefix("# via").strip()
            if rest:
                current.via.append(rest)
        elif line.startswith("# requires"):
            in_via = False
            listed = line.split(":", 1)[1].strip()
            if listed != "-":
                current.requires += [r.strip() for r in re.split(r",\s*(?=[A-Za-z])", listed)]
        elif in_via and line.startswith("#"):
            current.via.append(line.removeprefix("#").strip())
    return pins


@pytest.fixture(scope="module")
def locks() -> dict[str, dict[str, Pin]]:
    return {name: parse_lock(path) for name, path in LOCKS.items()}


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_the_lock_header_records_the_pyproject_list_it_was_made_from(name: str) -> None:
    lists = lock_script.dependency_lists()
    recorded = lock_script.recorded_digest(LOCKS[name])
    assert recorded == lock_script.list_digest(lists[name]), (
        f"{LOCKS[name].relative_to(ROOT)} is out of step with pyproject.toml: "
        f"run {lock_script.COMMAND}"
    )
    text = LOCKS[name].read_text()
    assert "checked for CPython 3.11 and 3.12 on manylinux x86_64" in text
    assert lock_script.COMMAND in text  # the header names the command that makes it


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_every_requirement_is_pinned_at_a_version_that_satisfies_it(
    name: str, locks: dict[str, dict[str, Pin]]
) -> None:
    pins = locks[name]
    assert pins, f"{name}.lock pins nothing"
    wanted = [(Requirement(r), "pyproject.toml") for r in lock_script.dependency_lists()[name]]
    for pinned_name, pinned in pins.items():  # the transitive closure, as recorded
        wanted += [(Requirement(r), pinned_name) for r in pinned.requires]
    problems = []
    for requirement, by in wanted:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} (required by {by}) is not pinned")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{requirement} (required by {by}) but {pin.version} is pinned")
    assert not problems, problems


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_every_pin_is_hashed_and_needed(name: str, locks: dict[str, dict[str, Pin]]) -> None:
    pins = locks[name]
    for pinned_name, pin in pins.items():
        assert pin.hashes, f"{pinned_name} has no hash"
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in pin.hashes), pin.hashes
        assert pin.via, f"{pinned_name}: no `# via` (why is it pinned?)"
    # Every pin is reached from pyproject.toml through the recorded `# via` edges.
    reached = {"pyproject.toml"}
    while True:
        more = {n for n, pin in pins.items() if n not in reached and set(pin.via) & reached}
        if not more:
            break
        reached |= more
    assert set(pins) <= reached, sorted(set(pins) - reached)


def test_the_image_needs_no_build_backend_at_run_time(locks: dict[str, dict[str, Pin]]) -> None:
    assert {"setuptools", "wheel"} <= set(locks["build"])
    assert not {"setuptools", "wheel", "pip"} & set(locks["action"])


def test_the_lock_parser_reads_what_lock_py_writes(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text(
        "#\nalpha==1.0 \\\n    --hash=sha256:"
        + "a" * 64
        + " \\\n    --hash=sha256:"
        + "b" * 64
        + "\n"
        "    # via\n    #   pyproject.toml\n    #   beta\n"
        "    # requires: beta<3,>=2, gamma\n"
        "beta==2.5 \\\n    --hash=sha256:" + "c" * 64 + "\n    # via alpha\n    # requires: -\n"
    )
    pins = parse_lock(lock)
    assert pins["alpha"] == Pin("1.0", ["a" * 64, "b" * 64], ["pyproject.toml", "beta"],
                                ["beta<3,>=2", "gamma"])  # fmt: skip
    assert pins["beta"] == Pin("2.5", ["c" * 64], ["alpha"], [])


# --- the dependency floors ----------------------------------------------------------------

FLOOR_SUITE = [
    "tests/unit/test_settings.py",
    "tests/unit/test_cli.py",
    "tests/unit/test_report.py",
    "tests/unit/test_archive.py",
    "tests/unit/test_executor.py",
    "tests/unit/test_hub_client.py",  # httpx
    "tests/e2e/test_discover.py",  # dulwich
    "tests/unit/test_pull_request.py",  # PyGithub, PyNaCl
    "tests/e2e/test_action_e2e.py",  # the entrypoint against a local Hub: httpx, actions-toolkit
]
FLOOR_BUDGET = 230.0  # seconds for the whole test, every step included


def floors() -> list[str]:
    """`name==lowest` for every runtime dependency (and the local Hub's, for its tests)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = []
    for text in [*project["dependencies"], *project["optional-dependencies"]["localhub"]]:
        requirement = Requirement(text)
        lowest = [s.version for s in requirement.specifier if s.operator == ">="]
        assert len(lowest) == 1, f"{text}: every dependency needs one `>=` floor"
        pinned.append(f"{requirement.name}=={lowest[0]}")
    return pinned


def test_every_floor_names_a_lower_bound() -> None:
    assert "pydantic-settings==2.7" in floors()  # NoDecode arrived in 2.7


@pytest.mark.timeout(FLOOR_BUDGET + 10)
def test_the_lowest_allowed_versions_work(tmp_path: Path) -> None:
    """A venv with every dependency at its floor runs a fast part of the suite (PyPI needed)."""
    deadline = time.monotonic() + FLOOR_BUDGET

    def run(*argv: str | Path, cwd: Path = tmp_path) -> str:
        left = deadline - time.monotonic()
        assert left > 0, "out of time"
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        env.pop("PYTHONPATH", None)
        done = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=left,
            check=False,
        )
        assert done.returncode == 0, f"$ {' '.join(map(str, argv))}\n{done.stdout}{done.stderr}"
        return done.stdout

    venv = tmp_path / "floors"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    pytest_spec = [r for r in _dev_extra() if canonicalize_name(Requirement(r).name) in _RUNNER]
    run(python, "-m", "pip", "install", "--quiet", "--only-binary=:all:", *floors(), *pytest_spec)
    # The project itself from a copy (building in the checkout would leave build/ behind).
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", source)
    installed = run(python, "-m", "pip", "list", "--format=freeze")
    for pinned in floors():
        name, version = pinned.split("==")
        found = _installed_version(installed, name)
        assert found is not None and Version(found) == Version(version), (pinned, installed)
    # The suite, with the floors' interpreter, importing the installed copy (not src/).
    out = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *FLOOR_SUITE, cwd=ROOT)
    assert re.search(r"\d+ passed", out), out


#: What the suite itself needs beside the floors: the runner, and the GitHub double's validator.
_RUNNER = {"pytest", "pytest-timeout", "openapi-schema-validator"}


def _dev_extra() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["optional-dependencies"]["dev"])


def _installed_version(freeze: str, name: str) -> str | None:
    for line in freeze.splitlines():
        found, _, version = line.partition("==")
        if canonicalize_name(found) == canonicalize_name(name):
            return version
    return None


# --- the release ----------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is missing: run `make setup` (it comes with the dev extra)"
    return str(found)


def test_the_release_workflow_passes_actionlint_and_the_schema() -> None:
    for argv in (
        [_tool("actionlint"), "-no-color", str(RELEASE_WORKFLOW)],
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
         str(RELEASE_WORKFLOW)],
    ):  # fmt: skip
        done = subprocess.run(
            argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def _uses_lines() -> Iterator[str]:
    for line in RELEASE_WORKFLOW.read_text().splitlines():
        if re.match(r"^\s*(-\s+)?uses:", line):
            yield line.strip().removeprefix("- ")


def test_every_third_party_action_is_pinned_by_full_sha_with_its_version() -> None:
    uses = list(_uses_lines())
    assert uses
    for line in uses:
        assert re.fullmatch(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*", line), line


def test_the_release_workflow_does_what_docs_releasing_md_says() -> None:
    workflow = yaml.safe_load(RELEASE_WORKFLOW.read_text())
    on = workflow.get("on", workflow.get(True))  # PyYAML reads a bare `on` as True
    assert on == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert jobs["release"]["needs"] == "test"
    assert jobs["release"]["permissions"] == {"contents": "write", "packages": "write"}
    script = "\n".join(step.get("run", "") for step in jobs["release"]["steps"])
    assert '"$VERSION" "$MINOR" "$MAJOR" "$GITHUB_SHA"' in script  # X.Y.Z, X.Y, X, the SHA
    assert 'scripts/release_action_yml.py "$IMAGE:$VERSION"' in script
    assert 'git push --force origin "refs/tags/$TAG" "refs/tags/v$MAJOR"' in script
    assert "ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/hub-push" in script
    # Both jobs start from the tagged commit, so a re-run does too.
    for job in jobs.values():
        assert job["steps"][0]["with"]["ref"] == "${{ github.sha }}"
    docs = (ROOT / "docs" / "releasing.md").read_text()
    assert "release.yml" in docs and "release_action_yml.py" in docs


def test_main_builds_from_source() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}


def test_the_release_rewrite_changes_only_the_image_line() -> None:
    before = (ROOT / "action.yml").read_text()
    after = release_script.rewrite(before, "ghcr.io/org/hub-push:1.2.3")
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed == [("  image: Dockerfile", "  image: docker://ghcr.io/org/hub-push:1.2.3")]
    assert yaml.safe_load(after)["runs"]["image"] == "docker://ghcr.io/org/hub-push:1.2.3"
    with pytest.raises(release_script.ReleaseError, match="one `image: Dockerfile`"):
        release_script.rewrite(after, "ghcr.io/org/hub-push:1.2.4")  # released already


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("runs:\n  using: docker\n  image: 'Dockerfile'  # built\n",
         "runs:\n  using: docker\n  image: docker://127.0.0.1:5000/hub-push:1.2.3  # built\n"),
        ("runs:\r\n  using: docker\r\n  image: Dockerfile\r\n",
         "runs:\r\n  using: docker\r\n  image: docker://127.0.0.1:5000/hub-push:1.2.3\r\n"),
    ],
)  # fmt: skip
def test_the_release_rewrite_keeps_quotes_comments_and_line_endings(
    text: str, expected: str
) -> None:
    assert release_script.rewrite(text, "127.0.0.1:5000/hub-push:1.2.3") == expected


@pytest.mark.parametrize(
    ("text", "image"),
    [
        ("runs:\n  using: docker\n  image: Dockerfile\n", "ghcr.io/Org/hub-push:1"),  # upper case
        ("runs:\n  using: docker\n  image: Dockerfile\n", "ghcr.io/org/hub-push"),  # no tag
        ("runs:\n  using: docker\n  image: docker://x:1\n", "ghcr.io/org/hub-push:1"),
        ("inputs:\n  image: Dockerfile\nruns:\n  using: node20\n", "ghcr.io/org/hub-push:1"),
    ],
)
def test_the_release_rewrite_refuses_what_it_cannot_release(text: str, image: str) -> None:
    with pytest.raises(release_script.ReleaseError):
        release_script.rewrite(text, image)


def test_the_release_script_edits_the_file_it_is_given(tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    shutil.copy2(ROOT / "action.yml", action)
    argv = [sys.executable, ROOT / "scripts" / "release_action_yml.py"]
    done = subprocess.run(
        [*map(str, argv), "--file", str(action), "ghcr.io/org/hub-push:2.0.0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "image: docker://ghcr.io/org/hub-push:2.0.0" in action.read_text()
    again = subprocess.run(
        [*map(str, argv), "--file", str(action), "ghcr.io/org/hub-push:2.0.0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 1 and "image: Dockerfile" in again.stderr
