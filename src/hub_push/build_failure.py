"""Read a failed build's log for the causes Jina Hub's raw text hides, and point at the line to
fix (Jina's own tracker calls the Hub's build errors "not user-friendly", jina-ai/serve#3011).

- pip's `No matching distribution found for X` / `Could not find a version that satisfies the
  requirement X` → the line of X in requirements.txt;
- a failing Dockerfile step (`#N [k/m] RUN …`, then `ERROR: process "/bin/sh -c …" did not
  complete successfully`) → that line of the executor's Dockerfile;
- `ModuleNotFoundError: No module named 'X'` → requirements.txt, or the `py_modules` entry
  when X is the executor's own module.

Pure: log lines and the folder's files in, causes out (the flow annotates them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from executor_rules import CONFIG, REQUIREMENTS

_PIP = re.compile(
    r"(?:No matching distribution found for|Could not find a version that satisfies the "
    r"requirement) ([A-Za-z0-9][A-Za-z0-9._-]*)"
)
_STEP_FAILED = re.compile(r'ERROR: process "/bin/sh -c (.+?)" did not complete successfully')
_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([A-Za-z0-9_.]+)'")


@dataclass(frozen=True)
class Cause:
    """Where a failed build's log points: a file of the folder, a line, what to do."""

    file: str
    line: int | None
    message: str


def causes(log: Sequence[str], folder: Path, dockerfile: str = "") -> list[Cause]:
    """The causes found in `log` (each once), for the executor `folder`."""
    found: dict[tuple[str, int | None], Cause] = {}

    def add(cause: Cause) -> None:
        found.setdefault((cause.file, cause.line), cause)

    for entry in log:
        if match := _PIP.search(entry):
            name = match.group(1)
            add(
                Cause(
                    REQUIREMENTS,
                    _line_of(folder / REQUIREMENTS, partial(_names, name=name)),
                    f"pip could not install `{name}` on Jina Hub: check its name and version "
                    "(and an index URL it needs).",
                )
            )
        elif match := _STEP_FAILED.search(entry):
            command = match.group(1)
            file = dockerfile or "Dockerfile"
            line = _line_of(folder / file, partial(_runs, command=command))
            if line is not None:
                add(Cause(file, line, f"This step failed on Jina Hub: `RUN {command}`."))
        elif match := _NO_MODULE.search(entry):
            add(_missing_module(match.group(1), folder))
    return list(found.values())


def _names(text: str, name: str) -> bool:
    """Whether a requirements line installs `name` (pip's normalized names)."""
    line = text.split("#", 1)[0].strip()
    head = re.split(r"[\s=<>!~;\[@]", line, maxsplit=1)[0]
    return _normal(head) == _normal(name)


def _runs(text: str, command: str) -> bool:
    """Whether a Dockerfile line is the `RUN` of `command`."""
    return "RUN" in text and command in text


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _missing_module(module: str, folder: Path) -> Cause:
    top = module.split(".", 1)[0]
    if (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file():
        line = _line_of(folder / CONFIG, partial(_has, "py_modules"))
        return Cause(
            CONFIG,
            line,
            f"`{module}` is the executor's own module but the build can't import it: list it "
            "in `py_modules` (or import it relative to the executor's package).",
        )
    return Cause(
        REQUIREMENTS,
        None,
        f"The executor imports `{module}`, which the build did not install: add its package "
        "to requirements.txt.",
    )


def _has(word: str, text: str) -> bool:
    return word in text


def _line_of(path: Path, wanted: Callable[[str], bool]) -> int | None:
    """The first line (1-based) of `path` for which `wanted(text)` holds."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if wanted(line):
            return number
    return None
