"""Reading an uploaded ZIP archive safely.

An archive is untrusted input: entries with absolute paths, ``..`` components or symbolic
links are refused rather than skipped, and so are archives that would unpack to more than
``max_bytes`` (the server's ``--max-unpacked-bytes``, :data:`MAX_UNPACKED_BYTES` by default)
or :data:`MAX_ENTRIES` entries. Entries are read once, in pieces of :data:`CHUNK` bytes, with
``zipfile`` (which checks each entry's CRC-32, as Python's ``zipfile`` does on the Hub's side).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

#: Default limit of what one archive may unpack to (8 GiB); ``--max-unpacked-bytes`` sets it.
MAX_UNPACKED_BYTES = 8 * 1024 * 1024 * 1024
#: Piece size when unpacking.
CHUNK = 1024 * 1024
MAX_ENTRIES = 20_000
_MAX_REQUIREMENTS_BYTES = 1024 * 1024


class UnsafeArchiveError(Exception):
    """The archive can't be unpacked safely or at all; the message says why."""


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open an uploaded archive, or raise :class:`UnsafeArchiveError` if it isn't a ZIP."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchiveError(f"The uploaded file is not a valid ZIP archive ({exc}).") from None


def read_requirements(path: Path) -> list[str] | None:
    """The lines of the archive's top-level ``requirements.txt``, or None if it has none."""
    with open_zip(path) as archive:
        try:
            info = archive.getinfo("requirements.txt")
        except KeyError:
            return None
        if info.file_size > _MAX_REQUIREMENTS_BYTES:
            raise UnsafeArchiveError("requirements.txt is larger than 1 MiB.")
        try:
            data = archive.read(info)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise UnsafeArchiveError(
                f"requirements.txt can't be read from the archive: {exc}"
            ) from None
    return data.decode("utf-8", "replace").splitlines()


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path of an entry, or :class:`UnsafeArchiveError` if it could escape."""
    if not name or "\x00" in name:
        raise UnsafeArchiveError(f"The archive has an entry with an invalid name: {name!r}.")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(
            f"The archive entry `{name}` has an absolute path; entries must be relative."
        )
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        raise UnsafeArchiveError(
            f"The archive entry `{name}` points outside the executor folder (`..`)."
        )
    return PurePosixPath(*[part for part in parts if part not in ("", ".")])


def unpack(path: Path, target: Path, *, max_bytes: int = MAX_UNPACKED_BYTES) -> tuple[int, int]:
    """Unpack the archive into ``target``; return (number of files, unpacked bytes)."""
    with open_zip(path) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise UnsafeArchiveError(f"The archive has more than {MAX_ENTRIES} entries.")
        total = 0
        checked: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        for info in infos:
            relative = safe_member_path(info.filename)
            if _is_symlink(info):
                raise UnsafeArchiveError(
                    f"The archive entry `{info.filename}` is a symbolic link; "
                    "the Hub accepts only regular files."
                )
            total += info.file_size
            if total > max_bytes:
                raise UnsafeArchiveError(
                    f"The archive unpacks to more than {max_bytes} bytes, the most this Hub "
                    "accepts (its --max-unpacked-bytes)."
                )
            checked.append((info, relative))
        files = 0
        target.mkdir(parents=True, exist_ok=True)
        for info, relative in checked:
            if not relative.parts:
                continue
            destination = target.joinpath(*relative.parts)
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, CHUNK)
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                raise UnsafeArchiveError(
                    f"The archive entry `{info.filename}` can't be unpacked: {exc}"
                ) from None
            files += 1
    return files, total
