"""Regenerate the image's lock files from pyproject.toml: `.venv/bin/python scripts/lock.py`.

- `requirements/action.lock`: `[project] dependencies` (no extras) and everything they need,
  each pinned `==` with the sha256 of EVERY file PyPI has for that version (pip-compile
  `--generate-hashes`), so any interpreter and platform picks a file whose hash is listed: the
  official image's CPython 3.12 and the container test's stand-in (Debian bookworm's 3.11).
- `requirements/build.lock`: `[build-system] requires` (setuptools, wheel), the same way: the
  image's build stage builds the action's wheel with exactly these.

The Dockerfile installs both with `pip install --require-hashes`. Each lock's header records a
sha256 of the list it was made from; tests/test_packaging.py checks, offline, that the header
matches pyproject.toml and that every requirement (direct, and those recorded under each pin as
`# requires:`) is pinned at a version satisfying it. After resolving, this script downloads the
wheels for CPython 3.11 and 3.12 on manylinux x86_64 with `--require-hashes` (so the lock is
complete for both) and records each pin's requirements from those wheels' metadata.

pip runs isolated from the machine's pip configuration (extra indexes, find-links, constraints):
the hashes are PyPI's. Needs pip-tools (the dev extra) and PyPI; run it on CPython 3.11 or 3.12.
`--check` only reports whether the headers are in step with pyproject.toml (exit 1 if not).
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
ACTION_LOCK = ROOT / "requirements" / "action.lock"
BUILD_LOCK = ROOT / "requirements" / "build.lock"
COMMAND = ".venv/bin/python scripts/lock.py"
TARGET_PYTHONS = ("3.11", "3.12")  # the stand-in's Debian bookworm 3.11, the official image's 3.12
# manylinux tags a glibc 2.36 (Debian bookworm) x86_64 system accepts, best first (as pip ranks).
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)] + [
    "manylinux2014_x86_64",
    "linux_x86_64",
]
HEADER_KEY = "# pyproject-sha256:"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def dependency_lists(pyproject: Path = PYPROJECT) -> dict[str, list[str]]:
    """The two lists the locks are made from, as pyproject.toml spells them."""
    data = tomllib.loads(pyproject.read_text())
    return {
        "action": list(data["project"]["dependencies"]),
        "build": list(data["build-system"]["requires"]),
    }


def list_digest(requirements: Sequence[str]) -> str:
    """sha256 of a requirement list, one item a line, in pyproject.toml's order."""
    return hashlib.sha256("".join(f"{r}\n" for r in requirements).encode()).hexdigest()


def recorded_digest(lock: Path) -> str | None:
    for line in lock.read_text().splitlines():
        if line.startswith(HEADER_KEY):
            return line.removeprefix(HEADER_KEY).strip()
    return None


def pins(lock_text: str) -> dict[str, str]:
    """Canonical name -> pinned version, from a lock's `name==version` lines."""
    found: dict[str, str] = {}
    for line in lock_text.splitlines():
        if match := PIN.match(line):
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def _pip_env() -> dict[str, str]:
    """pip without this machine's configuration files or PIP_* settings (but its CA bundle)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["CUSTOM_COMPILE_COMMAND"] = COMMAND  # pip-compile's header names this command
    if "PIP_CERT" in os.environ:
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    return env


def _run(argv: Sequence[str], cwd: Path | None = None, timeout: float = 600) -> None:
    print("$", " ".join(argv), file=sys.stderr, flush=True)
    subprocess.run(argv, check=True, env=_pip_env(), cwd=cwd, timeout=timeout)


def compile_lock(name: str, requirements: Sequence[str], output: Path, work: Path) -> None:
    source = work / f"{name}.in"
    source.write_text("".join(f"{r}\n" for r in requirements))
    _run(
        [
            sys.executable,
            "-m",
            "piptools",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--allow-unsafe",  # setuptools is what build.lock is for
            "--strip-extras",
            "--no-emit-index-url",
            "--no-emit-find-links",
            "--rebuild",
            "--output-file",
            str(output),
            source.name,  # relative: pip-compile's `# via -r NAME.in` then names no temp path
        ],
        cwd=work,
    )


def download(locks: Iterable[Path], python: str, dest: Path) -> None:
    """Every pinned wheel for CPython `python` on manylinux x86_64, hashes checked."""
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes"]
    argv += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for platform in PLATFORMS:
        argv += ["--platform", platform]
    for lock in locks:
        argv += ["--requirement", str(lock)]
    _run([*argv, "--dest", str(dest)])


def _requires(wheel: Path, python: str) -> tuple[str, list[str]]:
    """The wheel's project name and the requirements that apply on CPython `python`, Linux."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [  # the wheel's own, not one vendored deeper inside
            n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)
        ]
        message = email.parser.Parser().parsestr(archive.read(metadata).decode())
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()} | {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
    }
    applies: list[str] = []
    for text in message.get_all("Requires-Dist") or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({**env, "extra": ""}):
            requirement.marker = None
            requirement.extras = set()
            applies.append(str(requirement))
    return canonicalize_name(message["Name"]), sorted(set(applies), key=str.lower)


def annotate(lock: Path, requires: dict[str, dict[str, list[str]]], digest: str) -> None:
    """Add the header line with the list's digest and, at the end of each pin's entry (after
    its hashes and `# via` lines), what that pin requires on each target Python."""
    out: list[str] = []
    pending: list[str] = []
    for i, line in enumerate(lock.read_text().splitlines()):
        if i == 0:
            out += [
                f"{HEADER_KEY} {digest}",
                "#   (sha256 of the pyproject.toml list this lock was made from, one item a line)",
                f"# checked for CPython {' and '.join(TARGET_PYTHONS)} on manylinux x86_64",
            ]
        if not line.startswith("    "):
            out += pending
            pending = []
        out.append(re.sub(r"-r (action|build)\.in\b", "pyproject.toml", line))
        if match := PIN.match(line):
            per_python = requires.get(canonicalize_name(match.group(1)), {})
            if len({json.dumps(v) for v in per_python.values()}) == 1:
                listed = next(iter(per_python.values()))
                pending = [f"    # requires: {', '.join(listed) or '-'}"]
            else:
                pending = [
                    f"    # requires ({python}): {', '.join(listed) or '-'}"
                    for python, listed in per_python.items()
                ]
    lock.write_text("\n".join([*out, *pending]) + "\n")


def generate() -> None:
    if f"{sys.version_info.major}.{sys.version_info.minor}" not in TARGET_PYTHONS:
        raise SystemExit(f"run this with CPython {' or '.join(TARGET_PYTHONS)}")
    lists = dependency_lists()
    outputs = {"action": ACTION_LOCK, "build": BUILD_LOCK}
    ACTION_LOCK.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hub-push-lock-") as scratch:
        work = Path(scratch)
        for name, requirements in lists.items():
            compile_lock(name, requirements, outputs[name], work)
        requires: dict[str, dict[str, list[str]]] = {}
        for python in TARGET_PYTHONS:
            dest = work / f"wheels-{python}"
            download(outputs.values(), python, dest)
            for wheel in sorted(dest.glob("*.whl")):
                name, listed = _requires(wheel, python)
                requires.setdefault(name, {})[python] = listed
    for name, requirements in lists.items():
        annotate(outputs[name], requires, list_digest(requirements))
        print(f"wrote {outputs[name].relative_to(ROOT)}", file=sys.stderr)


def check() -> int:
    lists = dependency_lists()
    stale = [
        lock.name
        for name, lock in (("action", ACTION_LOCK), ("build", BUILD_LOCK))
        if not lock.is_file() or recorded_digest(lock) != list_digest(lists[name])
    ]
    if stale:
        print(f"out of step with pyproject.toml: {', '.join(stale)}; run {COMMAND}")
        return 1
    print("the locks are in step with pyproject.toml")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the headers")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    generate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
