"""Careful access to an untrusted executor folder.

Paths are looked up name by name with exact case (as on the Hub's Linux file system, even on a
case-insensitive disk); a symbolic link is followed only when its target stays inside the
folder; only regular files are read, and only up to :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from executor_rules._verdict import OTHER, refuse

#: The largest file the check reads into memory.
MAX_FILE_BYTES = 4 * 1024 * 1024
#: The most Python files, and bytes, looked at when searching the folder for hints.
MAX_SCANNED_FILES = 300
MAX_SCANNED_BYTES = 16 * 1024 * 1024


def normalized(path: PurePosixPath) -> tuple[str, ...] | None:
    """The parts of a relative path with ``.`` and ``..`` applied; None if it leaves the root."""
    if path.is_absolute():
        return None
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return tuple(parts)


def shown(parts: tuple[str, ...]) -> str:
    """A folder-relative path as the user reads it."""
    return "/".join(parts) if parts else "."


class Folder:
    """One executor folder, read without trusting it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._listings: dict[Path, frozenset[str] | None] = {}

    def _names(self, directory: Path) -> frozenset[str] | None:
        if directory not in self._listings:
            try:
                self._listings[directory] = frozenset(p.name for p in directory.iterdir())
            except OSError:
                self._listings[directory] = None
        return self._listings[directory]

    def locate(self, parts: tuple[str, ...]) -> Path | None:
        """The real path of ``parts`` inside the folder, None if nothing is there.

        A symbolic link that leads out of the folder, or loops, is a refusal.
        """
        current = self.root
        for index, name in enumerate(parts):
            names = self._names(current)
            if names is None or name not in names:
                return None
            candidate = current / name
            if candidate.is_symlink():
                where = shown(parts[: index + 1])
                try:
                    target = Path(os.path.realpath(candidate, strict=True))
                except FileNotFoundError:
                    return None
                except (OSError, RuntimeError):
                    raise refuse(
                        OTHER,
                        f"{where} is a symbolic link that loops; replace it with the file itself.",
                        file=where,
                    ) from None
                if target != self.root and not target.is_relative_to(self.root):
                    raise refuse(
                        OTHER,
                        f"{where} is a symbolic link to a path outside the executor folder; "
                        "the check does not follow it: copy the file into the folder instead.",
                        file=where,
                    )
                current = target
            else:
                current = candidate
        return current

    def kind(self, parts: tuple[str, ...]) -> str | None:
        """``"file"``, ``"dir"``, ``"other"`` for what ``parts`` names, None if nothing."""
        real = self.locate(parts)
        if real is None:
            return None
        return _kind(real)

    def read(self, parts: tuple[str, ...]) -> bytes:
        """The bytes of a regular file in the folder (which must exist)."""
        where = shown(parts)
        real = self.locate(parts)
        if real is None:
            raise refuse(OTHER, f"{where} is missing.", file=where)
        try:
            info = real.stat()
        except OSError as exc:
            raise refuse(OTHER, f"{where} can't be read: {exc.strerror}.", file=where) from None
        if stat.S_ISDIR(info.st_mode):
            raise refuse(
                OTHER,
                f"{where} is a folder, but the Hub's check reads it as a file.",
                file=where,
                hub_message=f"[Errno 21] Is a directory: '{where}'",
            )
        if not stat.S_ISREG(info.st_mode):
            raise refuse(
                OTHER,
                f"{where} is not a regular file; replace it with a plain file.",
                file=where,
            )
        if info.st_size > MAX_FILE_BYTES:
            raise refuse(
                OTHER,
                f"{where} is {info.st_size} bytes, more than the {MAX_FILE_BYTES} bytes this "
                "check reads; an executor's source and configuration should be far smaller.",
                file=where,
            )
        try:
            with real.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise refuse(OTHER, f"{where} can't be read: {exc.strerror}.", file=where) from None
        if len(data) > MAX_FILE_BYTES:
            raise refuse(
                OTHER, f"{where} is more than {MAX_FILE_BYTES} bytes; the check stops.", file=where
            )
        return data

    def python_files(self) -> Iterator[tuple[str, ...]]:
        """Up to :data:`MAX_SCANNED_FILES` ``*.py`` files in the folder, for hints only.

        Symbolic links are not followed; hidden folders and caches are skipped.
        """
        count = size = 0
        for top, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
            base = Path(top).relative_to(self.root).parts
            for name in sorted(files):
                path = Path(top) / name
                if not name.endswith(".py") or path.is_symlink():
                    continue
                try:
                    size += path.stat().st_size
                except OSError:
                    continue
                count += 1
                if count > MAX_SCANNED_FILES or size > MAX_SCANNED_BYTES:
                    return
                yield (*base, name)


def _kind(real: Path) -> str:
    try:
        mode = real.stat().st_mode
    except OSError:
        return "other"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 text with universal newlines (as the Hub's check opens files); a refusal if not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise refuse(
            OTHER,
            f"{where} line {line} is not valid UTF-8 (byte 0x{data[exc.start]:02x}); the Hub "
            "reads it as UTF-8: save the file in UTF-8.",
            file=where,
            line=line,
            hub_message=str(exc),
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` (only ``\\n`` separates lines, as in a text-mode readlines)."""
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result
