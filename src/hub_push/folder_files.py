"""Which files of an executor folder are packed, and under which names.

Like `jina hub push`: the folder's top-level `.gitignore` (else a bundled Python template),
with `.git` and `.jina` always left out. Unlike it, a symlink is never followed out of the
folder (it is left out, with the reason), and the walk is in name order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pathspec

from hub_push.errors import ExecutorError, SourceLocation

#: Never packed: git's folder, Jina's, and the archives `keep-archive` keeps in the workspace.
ALWAYS_IGNORED = (".git", ".jina", ".hub-push")


@dataclass(frozen=True)
class Skipped:
    """A path left out of the archive on purpose, and why (shown to the user)."""

    path: str
    reason: str


def ignore_spec(folder: Path) -> pathspec.GitIgnoreSpec:
    """The ignore rules: the folder's `.gitignore` (else a bundled template), `.git`, `.jina`."""
    gitignore = folder / ".gitignore"
    if gitignore.is_file():
        text = gitignore.read_text(encoding="utf-8", errors="replace")
    else:
        text = resources.files("hub_push").joinpath("resources/Python.gitignore").read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return pathspec.GitIgnoreSpec.from_lines([*lines, *ALWAYS_IGNORED])


def walk(
    folder: Path, spec: pathspec.GitIgnoreSpec, skipped: list[Skipped]
) -> Iterator[tuple[str, Path]]:
    """(archive name, real file) for every file to pack, in sorted order."""
    root = folder.resolve()

    def visit(directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            relative = prefix + entry.name
            if not is_utf8(relative):
                shown = relative.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise ExecutorError(
                    "has a name that is not UTF-8, which the Hub cannot unpack; rename it or "
                    "list it in the executor's .gitignore",
                    location(folder, shown),
                )
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:  # a link in a loop: not a folder; left out below
                is_dir = False
            if spec.match_file(relative + "/" if is_dir else relative):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):  # a broken link, or a loop of links
                    skipped.append(Skipped(relative, "a broken symlink or a symlink loop"))
                    continue
                if not target.is_relative_to(root):
                    skipped.append(Skipped(relative, "a symlink to outside the executor folder"))
                    continue
                if is_dir:
                    skipped.append(Skipped(relative, "a symlink to a folder"))
                    continue
                if not target.is_file():
                    skipped.append(Skipped(relative, "a broken symlink"))
                    continue
                yield relative, target
            elif is_dir:
                yield from visit(path, relative + "/")
            elif entry.is_file(follow_symlinks=False):
                yield relative, path
            else:
                skipped.append(Skipped(relative, "not a regular file"))

    yield from visit(root, "")


def location(folder: Path, name: str) -> SourceLocation:
    """A packed file as an annotation names it: relative to the workspace (the current
    directory, as on the runner) when it is inside it."""
    return SourceLocation.of(folder, name, Path.cwd())


def is_utf8(name: str) -> bool:
    """False for a file name the file system gave as bytes that are not UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
