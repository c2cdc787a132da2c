"""``requirements.txt`` as the Hub's check reads it, plus what it appends from pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass

from executor_rules._folder import Folder, decode_text, split_lines
from executor_rules._verdict import OTHER, refuse

REQUIREMENTS = "requirements.txt"
PYPROJECT = "pyproject.toml"

#: ``${NAME}`` placeholders, filled from the push's build-env (upper-case names only).
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
_POETRY_OPERATORS = re.compile(r"~=|==|!=|>=|<=")


@dataclass(frozen=True)
class Requirements:
    """The requirement lines the build installs, and where each came from."""

    #: (1-based line in the effective requirements.txt, stripped text), blanks and comments out.
    lines: tuple[tuple[int, str], ...]
    #: Lines 1..this come from requirements.txt itself; later ones from pyproject.toml.
    own_lines: int

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(text for _, text in self.lines)

    def placeholders(self) -> list[tuple[str, int]]:
        """``${NAME}`` placeholders with the line of their first use."""
        found: dict[str, int] = {}
        for number, text in self.lines:
            for match in PLACEHOLDER.finditer(text):
                found.setdefault(match.group(1), number)
        return list(found.items())


def _poetry_version(version: str) -> str:
    """The Hub's translation of a Poetry version constraint into a pip specifier."""
    version = _POETRY_OPERATORS.sub("", version)
    if version.startswith("^"):
        return "==" + version[1:]
    if version.startswith("~"):
        return ">=" + version[1:] + ",<" + re.sub(r"[^\d.]", "", version[1:]) + ".999"
    if version.startswith("*") or not version:
        return ""
    return "==" + version


def pyproject_lines(data: bytes) -> list[str]:
    """What the Hub appends to requirements.txt: PEP 621 dependencies, else Poetry's.

    Any problem makes the Hub append nothing (it logs and goes on).
    """
    try:
        project = tomllib.loads(data.decode("utf-8"))
        listed = project.get("project", {}).get("dependencies")
        if listed is not None:
            if not isinstance(listed, str | list | dict):
                raise refuse(
                    OTHER,
                    f"{PYPROJECT}: `project.dependencies` must be a list of requirements; the "
                    "Hub's check fails on it.",
                    file=PYPROJECT,
                    hub_message=f"'{type(listed).__name__}' object is not iterable",
                )
            return [str(item) for item in listed]
        poetry = project.get("tool", {}).get("poetry", {}).get("dependencies")
        if poetry is None:
            return []
        return [
            f"{package}{_poetry_version(version)}"
            for package, version in poetry.items()
            if package != "python"
        ]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError, TypeError):
        return []


def appended(folder: Folder) -> list[str] | None:
    """What the Hub appends to requirements.txt first thing; None without pyproject.toml."""
    kind = folder.kind((PYPROJECT,))
    if kind is None:
        return None
    if folder.kind((REQUIREMENTS,)) == "dir":
        raise refuse(
            OTHER,
            f"{REQUIREMENTS} is a folder; the Hub appends the pyproject.toml dependencies "
            "to it and fails: remove or rename the folder.",
            file=REQUIREMENTS,
            hub_message=f"[Errno 21] Is a directory: '{REQUIREMENTS}'",
        )
    return pyproject_lines(folder.read((PYPROJECT,))) if kind == "file" else []


def read(folder: Folder, extra: list[str] | None) -> Requirements | None:
    """The effective requirements, or None without requirements.txt and pyproject.toml.

    ``extra`` is what :func:`appended` returned. A refusal where the Hub's requirement
    parser crashes: on a line holding only whitespace (a quirk), or on text that is not UTF-8.
    """
    own_kind = folder.kind((REQUIREMENTS,))
    if own_kind is None and extra is None:
        return None
    appended = extra or []
    text = decode_text(folder.read((REQUIREMENTS,)), REQUIREMENTS) if own_kind else ""
    own = split_lines(text)
    lines = own + [f"{item}\n" for item in appended]
    if own and not own[-1].endswith("\n") and appended:
        lines = [*own[:-1], own[-1] + lines[len(own)], *lines[len(own) + 1 :]]
    kept: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line == "\n":
            continue
        stripped = line.strip()
        if not stripped:
            own_line = number <= len(own)
            raise refuse(
                OTHER,
                f"{REQUIREMENTS} line {number} holds only whitespace, and the Hub's "
                "requirements parser crashes on such a line (a quirk of the Hub's check): "
                + (
                    "delete the spaces or the line."
                    if own_line
                    else "remove the blank dependency from pyproject.toml."
                ),
                file=REQUIREMENTS if own_line else PYPROJECT,
                line=number if own_line else None,
                quirk=True,
                hub_message="string index out of range",
            )
        if not stripped.startswith("#"):
            kept.append((number, stripped))
    return Requirements(lines=tuple(kept), own_lines=len(own))


def missing_build_env(requirements: Requirements, build_env: Collection[str]) -> None:
    """Refuse placeholders that the push's build-env does not supply."""
    missing = [(name, line) for name, line in requirements.placeholders() if name not in build_env]
    if not missing:
        return
    names = ", ".join(f"${{{name}}}" for name, _ in missing)
    flags = " ".join(f"--build-env {name}=YOUR_VALUE" for name, _ in missing)
    first = missing[0][1]
    in_own = first <= requirements.own_lines
    raise refuse(
        OTHER,
        f"{REQUIREMENTS} uses {names}, which the push does not supply as build-env: pass "
        + ("it" if len(missing) == 1 else "them")
        + f" as build-env ({flags}) or remove the placeholder.",
        file=REQUIREMENTS if in_own else PYPROJECT,
        line=first if in_own else None,
        hub_message=(
            "requirements.txt sets environment variables as follows:"
            f"`{','.join(name for name, _ in missing)}` should use `{flags}` to add it."
        ),
    )
