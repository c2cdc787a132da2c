"""Packing an executor folder into the ZIP the Hub expects, on disk, the same bytes every time.

Like `jina hub push`: a ZIP of the folder's files, paths relative to the folder, filtered by
the folder's top-level `.gitignore` (else a bundled Python template), with `.git` and `.jina`
always left out. Unlike it: entries are in a fixed order and stamped with a fixed time and
mode (same files → same md5), files are streamed into a temporary file rather than memory, a
symlink is never followed out of the folder, and what does not compress is stored, not
deflated.

**Order.** First the entries stored for their name (weights, archives, media), then all the
others; each group in name order. So the md5 (one core) starts on the large files at once,
while the small files after them are deflated on the other core.

**Stored or deflated.** An entry is stored (ZIP method 0) when its name ends in a known
weight, archive or media extension (`STORED_SUFFIXES`), or when deflating its first 64 KiB
saves less than 10%; every other entry is deflated (at zlib's fastest level, `LEVEL`). Both
methods are ZIP's baseline; every reader (Python's `zipfile`, Info-ZIP, the Hub) takes them.

**One read of every byte, md5 included.** The archive is written front to back, never
patched: each entry's CRC-32 and sizes are known before its local header is written (a
stored file is read once for its CRC, then copied; a deflated one is compressed into a
spool first), so every byte written is final and feeds the md5 as it is written. The work
is shared by threads (hashing, compression and file I/O release the GIL): two prepare the
next entries (CRC, compression), the caller's thread writes, one keeps the md5. Small files
(shorter than `TRIAL_BYTES`) are read whole and closed at once, and prepared as far ahead as
`_AHEAD_BYTES` and `_AHEAD_SMALL` of them allow; large ones at most `_AHEAD_LARGE` ahead.
Memory stays at a few tens of MiB whatever the folder's size.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import queue
import stat
import struct
import tempfile
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO

import pathspec

from hub_push.errors import ExecutorError, SourceLocation

ALWAYS_IGNORED = (".git", ".jina")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
CHUNK = 1024 * 1024

#: Entries named so are stored: weights, arrays, archives and media, which deflate can't shrink.
STORED_SUFFIXES = frozenset(
    {
        # weights and arrays
        ".bin", ".pt", ".pth", ".onnx", ".safetensors", ".h5", ".hdf5", ".ckpt", ".npy",
        ".npz", ".pkl", ".pickle", ".joblib", ".pb", ".tflite", ".gguf", ".ggml", ".msgpack",
        ".params", ".model", ".faiss", ".index",
        # archives and compressed files
        ".zip", ".gz", ".tgz", ".xz", ".txz", ".bz2", ".tbz2", ".zst", ".7z", ".rar", ".lz4",
        ".br", ".jar", ".whl", ".egg",
        # media
        ".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic", ".mp3", ".mp4", ".m4a",
        ".ogg", ".opus", ".flac", ".webm", ".mkv", ".mov", ".avi", ".pdf", ".woff", ".woff2",
    }
)  # fmt: skip
#: Other entries are deflated unless deflating this many first bytes saves less than 10%.
TRIAL_BYTES = 64 * 1024
STORE_RATIO = 0.9
#: zlib's fastest level: about 3x faster than its default (6) on source and text, for about
#: 20% more compressed bytes, which an upload of a few MB/s or more sends in less time.
LEVEL = 1

_ZIP64_LIMIT = (1 << 31) - 1  # as `zipfile`: larger sizes and offsets take ZIP64 fields
_VERSION = 20  # "version needed to extract" of deflate and stored
_VERSION_ZIP64 = 45
_UNIX = 3
_DOS_DATE = (FIXED_TIME[0] - 1980) << 9 | FIXED_TIME[1] << 5 | FIXED_TIME[2]
_DOS_TIME = FIXED_TIME[3] << 11 | FIXED_TIME[4] << 5 | FIXED_TIME[5] // 2
_UTF8_NAME = 0x800
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_LOCATOR = struct.Struct("<4sLQL")
_AHEAD_BYTES = 16 * CHUNK  # small entries prepared ahead hold at most this many bytes
_AHEAD_SMALL = 4096  # ... and are at most this many (empty files hold no bytes, but memory)
_AHEAD_LARGE = 8  # large entries prepared ahead (an open file or a spool each)
_WORKERS = 2  # threads preparing them
_HASH_BACKLOG = 8  # written chunks waiting for the md5

#: `on_progress(bytes packed, bytes to pack)`, called as the archive is written.
Progress = Callable[[int, int], None]


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
    #: The entries stored uncompressed (the others are deflated).
    stored: list[str] = field(default_factory=list)
    #: Each entry's bytes in the archive (stored: its size; deflated: compressed), by name.
    packed_sizes: dict[str, int] = field(default_factory=dict)


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
                    _location(folder, shown),
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


def _location(folder: Path, name: str) -> SourceLocation:
    """A packed file as an annotation names it: relative to the workspace (the current
    directory, as on the runner) when it is inside it."""
    path = folder / name
    try:
        return SourceLocation(path.relative_to(Path.cwd().resolve()).as_posix())
    except ValueError:
        return SourceLocation(path.as_posix())


def _is_utf8(name: str) -> bool:
    """False for a file name the file system gave as bytes that are not UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _deflater() -> zlib._Compress:
    """Raw deflate (as in ZIP) at `LEVEL`."""
    return zlib.compressobj(LEVEL, zlib.DEFLATED, -15)


def _deflated(data: bytes) -> bytes:
    deflater = _deflater()
    return deflater.compress(data) + deflater.flush()


def stores(name: str, head: bytes) -> bool:
    """Whether the entry `name`, whose first bytes are `head`, is stored rather than deflated.

    Stored: a known weight/archive/media extension, or deflating the first `TRIAL_BYTES`
    (`head`) saves less than 10% (an empty file too: deflate can only make it larger).
    """
    return _trial(name, head[:TRIAL_BYTES]) is None


def _suffix(name: str) -> str:
    """`PurePosixPath(name).suffix`, without building a path for every file packed."""
    base = name.rpartition("/")[2]
    dot = base.rfind(".")
    return base[dot:] if 0 < dot < len(base) - 1 else ""


def _known_stored(name: str) -> bool:
    """Stored for its name alone: a known weight, archive or media extension."""
    return _suffix(name).lower() in STORED_SUFFIXES


def _trial(name: str, head: bytes) -> bytes | None:
    """None when the entry is stored, else `head` deflated (the whole entry when it is short)."""
    if _known_stored(name):
        return None
    trial = _deflated(head)
    return None if len(trial) > STORE_RATIO * len(head) else trial


@dataclass
class _Entry:
    """One file, ready to be written: method, CRC-32 and sizes known, data at hand."""

    name: str
    #: The executor folder: where the entry's file is, for an error (`location`).
    folder: Path
    executable: bool
    method: int
    crc: int
    size: int
    compressed_size: int
    #: A large stored file: the open source, rewound, with its identity (size, mtime) when its
    #: CRC was taken; it is copied from there.
    source: IO[bytes] | None = None
    identity: tuple[int, int] = (0, 0)
    #: Otherwise the bytes to write, at hand: deflated (in memory, or spilled to a file when
    #: large), or a small stored file read whole.
    data: IO[bytes] | None = None
    offset: int = 0

    @property
    def location(self) -> SourceLocation:
        return _location(self.folder, self.name)

    def close(self) -> None:
        for stream in (self.source, self.data):
            if stream is not None:
                stream.close()


def _unreadable(folder: Path, name: str, exc: OSError) -> ExecutorError:
    return ExecutorError(
        f"cannot be read ({exc.strerror or exc}); fix its permissions, or list it "
        "in the executor's .gitignore",
        _location(folder, name),
    )


def _prepare(folder: Path, name: str, path: Path, scratch: Path) -> _Entry:
    """Read the file once: its method, CRC-32 and sizes (and its deflated bytes)."""
    try:
        reader = path.open("rb")
    except OSError as exc:
        raise _unreadable(folder, name, exc) from None
    try:
        status = os.fstat(reader.fileno())
        head = reader.read(TRIAL_BYTES)
        executable = bool(status.st_mode & stat.S_IXUSR)
        trial = _trial(name, head)
        if trial is None and len(head) < TRIAL_BYTES:  # a small stored file, read whole
            reader.close()
            crc, size = zlib.crc32(head), len(head)
            return _Entry(name, folder, executable, _STORED, crc, size, size, data=io.BytesIO(head))
        if trial is None:
            crc, size = zlib.crc32(head), len(head)
            while chunk := reader.read(CHUNK):
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
            reader.seek(0)
            return _Entry(
                name, folder, executable, _STORED, crc, size, size,
                source=reader, identity=(status.st_size, status.st_mtime_ns),
            )  # fmt: skip
        if len(head) < TRIAL_BYTES:  # the whole file, deflated by the trial already
            reader.close()
            return _Entry(
                name, folder, executable, _DEFLATED, zlib.crc32(head), len(head), len(trial),
                data=io.BytesIO(trial),
            )  # fmt: skip
        spool = tempfile.SpooledTemporaryFile(max_size=CHUNK, dir=str(scratch))  # noqa: SIM115
        try:
            deflater = _deflater()
            crc, size, chunk = 0, 0, head
            while chunk:
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                spool.write(deflater.compress(chunk))
                chunk = reader.read(CHUNK)
            spool.write(deflater.flush())
            compressed_size = spool.tell()
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        reader.close()
        return _Entry(name, folder, executable, _DEFLATED, crc, size, compressed_size, data=spool)
    except OSError as exc:
        reader.close()
        raise _unreadable(folder, name, exc) from None
    except BaseException:
        reader.close()
        raise


_STORED = 0
_DEFLATED = 8


@dataclass
class _Pending:
    """An entry being prepared, and what it counts against the look-ahead budgets."""

    future: Future[_Entry]
    large: bool
    held: int  # bytes it holds once prepared (small entries: raw size until it is)
    written: bool = False


class _Preparer:
    """Prepares the entries in archive order on `_WORKERS` threads, as far ahead of the writer
    as its budgets allow: small entries (shorter than `TRIAL_BYTES`, held whole in memory once
    prepared) until they hold `_AHEAD_BYTES` or number `_AHEAD_SMALL`, and at most
    `_AHEAD_LARGE` large ones (an open file or a spool each). Every prepared entry refills
    the window, so small files are deflated while the writer (and the md5) is busy with a
    large one before them.
    """

    def __init__(self, folder: Path, files: list[tuple[str, Path, int]], scratch: Path) -> None:
        self._pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="hub-push-pack")
        self._folder, self._files, self._scratch = folder, files, scratch
        self._next = 0
        self._window: deque[_Pending] = deque()
        self._held = 0
        self._small = 0
        self._large = 0
        self._closed = False
        self._filling = False
        # Reentrant: a done-callback runs at once in the submitting thread if the job is done.
        self._lock = threading.RLock()

    def _fill(self) -> None:
        with self._lock:
            if self._filling:  # a done-callback run at once, inside the loop below: it goes on
                return
            self._filling = True
            try:
                self._fill_window()
            finally:
                self._filling = False

    def _fill_window(self) -> None:
        """Submit the next entries while the budgets allow (called with the lock held)."""
        while not self._closed and self._next < len(self._files):
            name, path, size = self._files[self._next]
            large = size >= TRIAL_BYTES  # `_prepare` reads whole only what is shorter
            if large:
                full = self._large >= _AHEAD_LARGE
            else:
                full = self._held + size > _AHEAD_BYTES or self._small >= _AHEAD_SMALL
            if full and self._window:
                return
            self._next += 1
            future = self._pool.submit(_prepare, self._folder, name, path, self._scratch)
            pending = _Pending(future, large, 0 if large else size)
            self._window.append(pending)
            if large:
                self._large += 1
            else:
                self._small += 1
                self._held += pending.held
            future.add_done_callback(functools.partial(self._prepared, pending))

    def _prepared(self, pending: _Pending, _: Future[_Entry]) -> None:
        """A small entry now holds its prepared bytes (often far fewer: deflated): recount."""
        if not pending.large and not pending.future.cancelled() and not pending.future.exception():
            with self._lock:
                if not pending.written:
                    held = pending.future.result().compressed_size
                    self._held += held - pending.held
                    pending.held = held
        self._fill()

    def __iter__(self) -> Iterator[_Entry]:
        self._fill()
        while True:
            with self._lock:
                if not self._window:
                    return
                pending = self._window[0]
            entry = pending.future.result()  # raises what preparing it raised
            with self._lock:
                self._window.popleft()
                pending.written = True
                if pending.large:
                    self._large -= 1
                else:
                    self._small -= 1
                    self._held -= pending.held
            self._fill()
            yield entry

    def close(self) -> None:
        """Stop preparing and close what was prepared but not written."""
        with self._lock:
            self._closed = True
            window = list(self._window)
            self._window.clear()
        for pending in window:
            pending.future.cancel()
        self._pool.shutdown(wait=True)
        for pending in window:
            future = pending.future
            if not future.cancelled() and future.exception() is None:
                future.result().close()


class _Md5:
    """The md5 of the written bytes, kept by a thread as they are written."""

    def __init__(self) -> None:
        self._digest = hashlib.md5(usedforsecurity=False)
        self._queue: queue.Queue[bytes | None] = queue.Queue(_HASH_BACKLOG)
        self._thread = threading.Thread(target=self._run, name="hub-push-md5", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


class _Writer:
    """Writes ZIP records front to back; every byte written also goes to the md5."""

    def __init__(self, out: IO[bytes], md5: _Md5) -> None:
        self._out = out
        self._md5 = md5
        self._small = bytearray()  # headers and small entries, written in CHUNK-sized pieces
        self.offset = 0

    def write(self, data: bytes) -> None:
        if len(data) < CHUNK // 4:
            self._small += data
            if len(self._small) >= CHUNK:
                self.flush()
            return
        self.flush()
        self._emit(data)

    def flush(self) -> None:
        if self._small:
            self._emit(bytes(self._small))
            self._small.clear()

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._md5.update(data)
        self.offset += len(data)

    def entry(self, entry: _Entry, on_bytes: Callable[[int], None]) -> None:
        entry.offset = self.offset + len(self._small)
        self.write(_local_header(entry))
        if entry.source is not None:
            copied = 0
            while chunk := entry.source.read(CHUNK):
                copied += len(chunk)
                if copied > entry.size:
                    break
                self.write(chunk)
                on_bytes(len(chunk))
            now = os.fstat(entry.source.fileno())
            if copied != entry.size or (now.st_size, now.st_mtime_ns) != entry.identity:
                raise ExecutorError(
                    "changed while it was being packed; push again once it is written",
                    entry.location,
                )
        elif entry.data is not None:
            while chunk := entry.data.read(CHUNK):
                self.write(chunk)
            on_bytes(entry.size)

    def central_directory(self, entries: list[_Entry]) -> None:
        start = self.offset + len(self._small)
        for entry in entries:
            self.write(_central_header(entry))
        end = self.offset + len(self._small)
        count, size = len(entries), end - start
        if count > 0xFFFF or start > _ZIP64_LIMIT or size > _ZIP64_LIMIT:
            self.write(_END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
            self.write(_END64_LOCATOR.pack(b"PK\x06\x07", 0, end, 1))
            count, size, start = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(start, 0xFFFFFFFF)
        self.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, start, 0))
        self.flush()


def _encoded_name(name: str) -> tuple[bytes, int]:
    """The name's bytes and flag bits, as `zipfile` writes them (UTF-8 flagged when not ASCII)."""
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8_NAME


def _local_zip64(entry: _Entry) -> bool:
    return entry.size > _ZIP64_LIMIT or entry.compressed_size > _ZIP64_LIMIT


def _local_header(entry: _Entry) -> bytes:
    name, flags = _encoded_name(entry.name)
    size, compressed_size, extra, version = entry.size, entry.compressed_size, b"", _VERSION
    if _local_zip64(entry):
        extra = struct.pack("<HHQQ", 1, 16, size, compressed_size)
        size = compressed_size = 0xFFFFFFFF
        version = _VERSION_ZIP64
    return (
        _LOCAL.pack(
            b"PK\x03\x04", version, 0, flags, entry.method, _DOS_TIME, _DOS_DATE, entry.crc,
            compressed_size, size, len(name), len(extra),
        )
        + name
        + extra
    )  # fmt: skip


def _central_header(entry: _Entry) -> bytes:
    name, flags = _encoded_name(entry.name)
    size, compressed_size, offset = entry.size, entry.compressed_size, entry.offset
    fields: list[int] = []
    if size > _ZIP64_LIMIT or compressed_size > _ZIP64_LIMIT:
        fields += [size, compressed_size]
        size = compressed_size = 0xFFFFFFFF
    if offset > _ZIP64_LIMIT:
        fields.append(offset)
        offset = 0xFFFFFFFF
    extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
    version = _VERSION_ZIP64 if fields or _local_zip64(entry) else _VERSION
    mode = stat.S_IFREG | (0o755 if entry.executable else 0o644)
    return (
        _CENTRAL.pack(
            b"PK\x01\x02", version, _UNIX, version, 0, flags, entry.method, _DOS_TIME,
            _DOS_DATE, entry.crc, compressed_size, size, len(name), len(extra), 0, 0, 0,
            mode << 16, offset,
        )
        + name
        + extra
    )  # fmt: skip


def pack(folder: Path, destination: Path, *, on_progress: Progress | None = None) -> Archive:
    """Write the folder's archive to `destination` and describe it."""
    skipped: list[Skipped] = []
    sources = []
    for name, path in _walk(folder, ignore_spec(folder), skipped):
        size = 0
        with suppress(OSError):  # an unreadable file is reported when it is opened
            size = path.stat().st_size
        sources.append((name, path, size))
    sources.sort(key=lambda source: not _known_stored(source[0]))  # stable: names stay sorted
    total = sum(size for _, _, size in sources)
    done = reported = 0
    step = max(CHUNK, total // 100)

    def advance(count: int) -> None:
        nonlocal done, reported
        done += count
        if on_progress is not None and done - reported >= step:
            reported = done
            on_progress(done, total)

    entries: list[_Entry] = []
    md5 = _Md5()
    preparer = _Preparer(folder, sources, destination.parent)
    try:
        with destination.open("wb", buffering=0) as out:
            writer = _Writer(out, md5)
            for entry in preparer:
                try:
                    writer.entry(entry, advance)
                finally:
                    entry.close()
                entries.append(entry)
            writer.central_directory(entries)
        digest = md5.hexdigest()
        if on_progress is not None and reported != done:
            on_progress(done, total)
    finally:
        preparer.close()
        md5.close()
    return Archive(
        path=destination,
        md5=digest,
        size=writer.offset,
        files=[entry.name for entry in entries],
        skipped=skipped,
        stored=[entry.name for entry in entries if entry.method == _STORED],
        packed_sizes={entry.name: entry.compressed_size for entry in entries},
    )


@contextmanager
def packed(folder: Path, *, on_progress: Progress | None = None) -> Iterator[Archive]:
    """Pack into a temporary file (never into the workspace), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hub-push-") as scratch:
        yield pack(folder, Path(scratch) / "executor.zip", on_progress=on_progress)
