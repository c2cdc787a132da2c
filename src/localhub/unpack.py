"""Reading an uploaded ZIP archive safely.

An archive is untrusted input: entries with absolute paths, ``..`` components or symbolic
links are refused rather than skipped, and so are archives that would unpack to more than
``max_bytes`` (the server's ``--max-unpacked-bytes``, :data:`MAX_UNPACKED_BYTES` by default)
or :data:`MAX_ENTRIES` entries. Entries are read once, in pieces of :data:`CHUNK` bytes, with
``zipfile`` (which checks each entry's CRC-32, as Python's ``zipfile`` does on the Hub's side).
The same read can feed the archive's MD5 (``unpack(…, md5=…)``): a piece is hashed on a
thread of its own when the reads reach it in order, as they do through a ZIP's entries, and
only what they skip (the central directory) is read again at the end.

Only what the build check reads is written out: an entry larger than the most it reads
(:data:`executor_rules.MAX_FILE_BYTES`: weights, data) is read through for its CRC-32 and
left as a sparse file of its size, so a 1 GiB executor is not copied to disk a second time.
"""

from __future__ import annotations

import hashlib
import queue
import shutil
import stat
import threading
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, cast

import executor_rules

if TYPE_CHECKING:
    from hashlib import _Hash

#: Default limit of what one archive may unpack to (8 GiB); ``--max-unpacked-bytes`` sets it.
MAX_UNPACKED_BYTES = 8 * 1024 * 1024 * 1024
#: Piece size when unpacking.
CHUNK = 1024 * 1024
MAX_ENTRIES = 20_000
#: Larger entries are verified but not written: the build check reads no file this large.
KEEP_AT_MOST = executor_rules.MAX_FILE_BYTES
#: Pieces read but not hashed yet (memory: at most this many pieces).
_HASH_BACKLOG = 8
#: What reading a damaged archive raises: zipfile's own errors, and zlib's and the stream's
#: for damaged deflate data.
_DAMAGE = (zipfile.BadZipFile, OSError, RuntimeError, zlib.error, EOFError)
_MAX_REQUIREMENTS_BYTES = 1024 * 1024


class UnsafeArchiveError(Exception):
    """The archive can't be unpacked safely or at all; the message says why."""


class _HashedReads:
    """A file read through (by ``zipfile``), its MD5 taken from the same reads.

    A read that reaches the hashed prefix's end extends it; the pieces go to a thread of its
    own (at most 8 waiting), so hashing overlaps the unpacking. Reads elsewhere (the central
    directory at the end, read first) are not hashed; ``finish`` reads and hashes what is left
    after the prefix. The pieces are ``bytes``: immutable, safe to hash later.
    """

    def __init__(self, file: IO[bytes], md5: _Hash) -> None:
        self._file = file
        self._hashed = 0
        self._md5 = md5
        self._pieces: queue.Queue[bytes | memoryview | None] = queue.Queue(_HASH_BACKLOG)
        self._thread = threading.Thread(target=self._run, name="localhub-md5", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._pieces.get()) is not None:
            self._md5.update(piece)

    def read(self, size: int = -1) -> bytes:
        start = self._file.tell()
        data = self._file.read(size)
        if start <= self._hashed < start + len(data):
            self._pieces.put(memoryview(data)[self._hashed - start :])
            self._hashed = start + len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def seekable(self) -> bool:
        return True

    def finish(self) -> None:
        """Hash the rest of the file (what the reads skipped), and wait for the hash."""
        self._file.seek(self._hashed)
        while chunk := self._file.read(CHUNK):
            self._pieces.put(chunk)
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._pieces.put(None)
            self._thread.join()


def damaged_message(actual: str, md5sum: str) -> str:
    """What a push or build says of an upload that is not what its ``md5sum`` says."""
    return (
        f"The archive arrived damaged: its md5 is {actual}, but the push says {md5sum}. Push again."
    )


def md5_of_file(path: Path) -> str:
    """The MD5 of a whole file (hex), read in pieces of :data:`CHUNK` bytes."""
    digest = hashlib.md5()  # noqa: S324 - the protocol's checksum, not security
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def open_zip(path: Path | IO[bytes]) -> zipfile.ZipFile:
    """Open an uploaded archive, or raise :class:`UnsafeArchiveError` if it isn't a ZIP."""
    try:
        return zipfile.ZipFile(path)
    except _DAMAGE as exc:
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
        except _DAMAGE as exc:
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


def unpack(
    path: Path, target: Path, *, max_bytes: int = MAX_UNPACKED_BYTES, md5: _Hash | None = None
) -> tuple[int, int]:
    """Unpack the archive into ``target``; return (number of files, unpacked bytes).

    With ``md5``, the archive's bytes are fed into it from the same reads (complete once
    ``unpack`` returns; partial if it raises).
    """
    if md5 is None:
        return _unpack(path, target, max_bytes)
    with path.open("rb") as file:
        reads = _HashedReads(file, md5)
        try:
            unpacked = _unpack(cast("IO[bytes]", reads), target, max_bytes)
            reads.finish()
        finally:
            reads.close()
    return unpacked


def _unpack(path: Path | IO[bytes], target: Path, max_bytes: int) -> tuple[int, int]:
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
                    if info.file_size > KEEP_AT_MOST:  # read through: zipfile checks the CRC
                        while source.read(CHUNK):
                            pass
                        sink.truncate(info.file_size)  # there, at its size, with no bytes
                    else:
                        shutil.copyfileobj(source, sink, CHUNK)
            except _DAMAGE as exc:
                raise UnsafeArchiveError(
                    f"The archive entry `{info.filename}` can't be unpacked: {exc}"
                ) from None
            files += 1
    return files, total
