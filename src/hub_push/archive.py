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
import io
import os
import stat
import tempfile
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from hub_push.errors import ExecutorError
from hub_push.folder_files import Skipped, ignore_spec, location, walk
from hub_push.zip_records import CHUNK, DEFLATED, STORED, Entry, Md5, Writer

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

_AHEAD_BYTES = 16 * CHUNK  # small entries prepared ahead hold at most this many bytes
_AHEAD_SMALL = 4096  # ... and are at most this many (empty files hold no bytes, but memory)
_AHEAD_LARGE = 8  # large entries prepared ahead (an open file or a spool each)
_WORKERS = 2  # threads preparing them

#: `on_progress(bytes packed, bytes to pack)`, called as the archive is written.
Progress = Callable[[int, int], None]


@dataclass
class Archive:
    """The packed folder: a ZIP file on disk and what the Hub checks it by."""

    path: Path
    md5: str
    size: int
    #: The sha256 of the same bytes, when asked: what a workflow attests (`archive-sha256`).
    sha256: str = ""
    files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: The entries stored uncompressed (the others are deflated).
    stored: list[str] = field(default_factory=list)
    #: Each entry's bytes in the archive (stored: its size; deflated: compressed), by name.
    packed_sizes: dict[str, int] = field(default_factory=dict)


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


def _unreadable(folder: Path, name: str, exc: OSError) -> ExecutorError:
    return ExecutorError(
        f"cannot be read ({exc.strerror or exc}); fix its permissions, or list it "
        "in the executor's .gitignore",
        location(folder, name),
    )


def _prepare(folder: Path, name: str, path: Path, scratch: Path) -> Entry:
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
            return Entry(name, folder, executable, STORED, crc, size, size, data=io.BytesIO(head))
        if trial is None:
            crc, size = zlib.crc32(head), len(head)
            while chunk := reader.read(CHUNK):
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
            reader.seek(0)
            return Entry(
                name, folder, executable, STORED, crc, size, size,
                source=reader, identity=(status.st_size, status.st_mtime_ns),
            )  # fmt: skip
        if len(head) < TRIAL_BYTES:  # the whole file, deflated by the trial already
            reader.close()
            return Entry(
                name, folder, executable, DEFLATED, zlib.crc32(head), len(head), len(trial),
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
        return Entry(name, folder, executable, DEFLATED, crc, size, compressed_size, data=spool)
    except OSError as exc:
        reader.close()
        raise _unreadable(folder, name, exc) from None
    except BaseException:
        reader.close()
        raise


@dataclass
class _Pending:
    """An entry being prepared, and what it counts against the look-ahead budgets."""

    future: Future[Entry]
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

    def _prepared(self, pending: _Pending, _: Future[Entry]) -> None:
        """A small entry now holds its prepared bytes (often far fewer: deflated): recount."""
        if not pending.large and not pending.future.cancelled() and not pending.future.exception():
            with self._lock:
                if not pending.written:
                    held = pending.future.result().compressed_size
                    self._held += held - pending.held
                    pending.held = held
        self._fill()

    def __iter__(self) -> Iterator[Entry]:
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


def pack(
    folder: Path,
    destination: Path,
    *,
    on_progress: Progress | None = None,
    sha256: bool = False,
) -> Archive:
    """Write the folder's archive to `destination` and describe it (`sha256`: with the
    archive's sha256 too, from the same read)."""
    skipped: list[Skipped] = []
    sources = []
    for name, path in walk(folder, ignore_spec(folder), skipped):
        size = 0
        with suppress(OSError):  # an unreadable file is reported when it is opened
            size = path.stat().st_size
        sources.append((name, path, size))
    sources.sort(key=lambda source: not _known_stored(source[0]))  # stable: names stay sorted
    total = sum(size for _, _, size in sources)
    done = 0

    def advance(count: int) -> None:  # `on_progress` throttles its own lines
        nonlocal done
        done += count
        if on_progress is not None and count:
            on_progress(done, total)

    entries: list[Entry] = []
    md5 = Md5(sha256=sha256)
    preparer = _Preparer(folder, sources, destination.parent)
    try:
        with destination.open("wb", buffering=0) as out:
            writer = Writer(out, md5)
            for entry in preparer:
                try:
                    writer.entry(entry, advance)
                finally:
                    entry.close()
                entries.append(entry)
            writer.central_directory(entries)
        digest, sha = md5.hexdigest(), md5.sha256()
    finally:
        preparer.close()
        md5.close()
    return Archive(
        path=destination,
        md5=digest,
        sha256=sha,
        size=writer.offset,
        files=[entry.name for entry in entries],
        skipped=skipped,
        stored=[entry.name for entry in entries if entry.method == STORED],
        packed_sizes={entry.name: entry.compressed_size for entry in entries},
    )


@contextmanager
def packed(
    folder: Path, *, on_progress: Progress | None = None, sha256: bool = False
) -> Iterator[Archive]:
    """Pack into a temporary file (never into the workspace), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hub-push-") as scratch:
        yield pack(folder, Path(scratch) / "executor.zip", on_progress=on_progress, sha256=sha256)
