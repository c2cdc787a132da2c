"""Packing an executor folder into the ZIP the Hub expects, on disk, the same bytes every time.

Like `jina hub push`: a ZIP (deflate) of the folder's files, paths relative to the folder,
filtered by the folder's top-level `.gitignore` (else a bundled Python template), with
`.git` and `.jina` always left out. Unlike it: entries are sorted and stamped with a fixed
time and mode (same files → same md5), files are streamed into a temporary file rather
than memory, and a symlink is never followed out of the folder.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pathspec

from hub_push.errors import ExecutorError, SourceLocation

ALWAYS_IGNORED = (".git", ".jina")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Skipped:
    """A path left out of the archive on purpose, and why (shown to the user)."""

    path: str
    reason: str


@dataclass
class Archive:
    """The packed folder: a ZIP file on disk and what the Hub checks it by."""

    path: Path
    md5: str
    size: int
    files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def ignore_spec(folder: Path) -> pathspec.GitIgnoreSpec:
    """The ignore rules: the folder's `.gitignore` (else a bundled template), `.git`, `.jina`."""
    gitignore = folder / ".gitignore"
    if gitignore.is_file():
        text = gitignore.read_text(encoding="utf-8", errors="replace")
    else:
        text = resources.files("hub_push").joinpath("resources/Python.gitignore").read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return pathspec.GitIgnoreSpec.from_lines([*lines, *ALWAYS_IGNORED])


def _walk(
    folder: Path, spec: pathspec.GitIgnoreSpec, skipped: list[Skipped]
) -> Iterator[tuple[str, Path]]:
    """(archive name, real file) for every file to pack, in sorted order."""
    root = folder.resolve()

    def visit(directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            relative = prefix + entry.name
            if not _is_utf8(relative):
                shown = relative.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise ExecutorError(
                    "has a name that is not UTF-8, which the Hub cannot unpack; rename it or "
                    "list it in the executor's .gitignore",
                    SourceLocation((folder / shown).as_posix()),
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


def _is_utf8(name: str) -> bool:
    """False for a file name the file system gave as bytes that are not UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pack(folder: Path, destination: Path) -> Archive:
    """Write the folder's archive to `destination` and describe it."""
    skipped: list[Skipped] = []
    files: list[str] = []
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in _walk(folder, ignore_spec(folder), skipped):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the mode below is read
            executable = source.stat().st_mode & stat.S_IXUSR
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            try:  # opened before the entry, so a failure leaves no half-written member
                reader = source.open("rb")
            except OSError as exc:
                raise ExecutorError(
                    f"cannot be read ({exc.strerror or exc}); fix its permissions, or list it "
                    "in the executor's .gitignore",
                    SourceLocation((folder / name).as_posix()),
                ) from None
            with reader, archive.open(info, "w") as writer:
                while chunk := reader.read(CHUNK):
                    writer.write(chunk)
            files.append(name)
    return Archive(
        path=destination,
        md5=_md5(destination),
        size=destination.stat().st_size,
        files=files,
        skipped=skipped,
    )


@contextmanager
def packed(folder: Path) -> Iterator[Archive]:
    """Pack into a temporary file (never into the workspace), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hub-push-") as scratch:
        yield pack(folder, Path(scratch) / "executor.zip")
