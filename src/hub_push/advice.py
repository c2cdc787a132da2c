"""The action's advice about mistakes Jina Hub's docs warn about: not the Hub's rules (those
are `executor_rules`, shared with the local Hub, which must not refuse what the real Hub
accepts), but what a user almost never means.

- `requirements.txt` placeholders the Hub does not fill: `$TOKEN` without braces, and
  `${token}` in lower case (the Hub fills `${UPPER_CASE}` only, from `build-env`).
- Git LFS pointers where the files should be: a checkout without `lfs: true` leaves small
  text files that start with the LFS header; the Hub builds them, and the executor breaks when
  it runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from executor_rules import PLACEHOLDER

#: How an LFS pointer starts; a pointer is a small file (well under 1 KiB).
LFS_HEADER = b"version https://git-lfs.github.com/spec/v1"
LFS_POINTER_MAX = 1024
_DOLLAR = re.compile(r"\$(?:\{([^}\s]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Placeholder:
    """A `$…` in requirements.txt the Hub will not fill, and how to write it."""

    line: int
    written: str
    fix: str


def placeholder_mistakes(requirements: Path) -> list[Placeholder]:
    """`$NAME` and `${lower}` on requirements.txt's non-comment lines."""
    try:
        text = requirements.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("#"):
            continue
        for match in _DOLLAR.finditer(line):
            braced, bare = match.group(1), match.group(2)
            name = braced if braced is not None else bare
            if PLACEHOLDER.fullmatch(match.group(0)):
                continue  # `${NAME}`: filled from build-env
            fix = re.sub(r"[^A-Z0-9_]", "_", (name or "NAME").upper())
            found.append(Placeholder(number, match.group(0), "${" + fix + "}"))
    return found


def lfs_pointers(folder: Path, names: list[str]) -> list[str]:
    """The packed files (by archive name) that are Git LFS pointers, not content."""
    found = []
    for name in names:
        path = folder / name
        try:
            if path.stat().st_size >= LFS_POINTER_MAX:
                continue
            with path.open("rb") as handle:
                head = handle.read(len(LFS_HEADER))
        except OSError:
            continue
        if head == LFS_HEADER:
            found.append(name)
    return found
