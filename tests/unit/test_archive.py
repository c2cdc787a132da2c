"""Packing: the Hub's ignore rules, deterministic bytes, no symlink out of the folder, what
is stored or deflated, and the ZIP format (the standard library's, byte for byte)."""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZIP_STORED

import pytest

from hub_push import archive as archive_module
from hub_push import zip_records
from hub_push.archive import LEVEL, TRIAL_BYTES, pack, stores
from hub_push.errors import ExecutorError, SourceLocation
from hub_push.zip_records import CHUNK, FIXED_TIME

MakeExecutor = Callable[..., Path]


def names(archive_path: Path) -> list[str]:
    with zipfile.ZipFile(archive_path) as archive:
        return archive.namelist()


def test_same_files_give_the_same_md5_whatever_the_mtimes(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(requirements="numpy\n", files={"sub/b.txt": "b", "a.txt": "a"})
    first = pack(folder, tmp_path / "1.zip")
    for path in folder.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    second = pack(folder, tmp_path / "2.zip")
    assert first.md5 == second.md5
    assert first.md5 == hashlib.md5((tmp_path / "1.zip").read_bytes()).hexdigest()  # noqa: S324
    assert first.size == (tmp_path / "1.zip").stat().st_size
    assert names(first.path) == sorted(names(first.path))


def test_entries_stored_for_their_name_come_first_then_the_rest_each_in_name_order(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    """Weights first: their md5 keeps one core busy while the small files after them are
    deflated on the other. The order is still fixed by the names alone (same files, same
    bytes)."""
    folder = make_executor(files={"b.txt": "b", "z/notes.md": "n"})
    for name in ("w/b.safetensors", "a.bin", "data.dat"):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(os.urandom(100_000))
    written = names(pack(folder, tmp_path / "a.zip").path)
    assert written[:2] == ["a.bin", "w/b.safetensors"]
    assert written[2:] == sorted(written[2:])
    assert "data.dat" in written[2:]  # stored by its content, not its name: in name order


def test_thousands_of_small_files_are_prepared_ahead_without_holding_files_open(
    make_executor: MakeExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small files are read whole (stored or deflated) and closed at once, and a file of
    exactly `TRIAL_BYTES` counts as large: however far ahead of the writer entries are
    prepared, the open files stay few (counted after every entry prepared)."""
    folder = make_executor()
    (folder / "weights.bin").write_bytes(os.urandom(4 * CHUNK))
    for number in range(1500):
        (folder / f"img{number:04d}.png").write_bytes(os.urandom(2000))  # stored: small
        (folder / f"doc{number:04d}.txt").write_text(f"line {number}\n" * 200)  # deflated
    for number in range(300):
        (folder / f"tile{number:03d}.png").write_bytes(os.urandom(TRIAL_BYTES))  # large
    fds = Path("/proc/self/fd")
    most = 0
    real_prepare = archive_module._prepare

    def counting(*args: Any) -> Any:
        nonlocal most
        entry = real_prepare(*args)
        most = max(most, len(list(fds.iterdir())))
        return entry

    monkeypatch.setattr(archive_module, "_prepare", counting)
    before = len(list(fds.iterdir()))
    archive = pack(folder, tmp_path / "a.zip")
    assert len(archive.files) == 3303
    assert most - before < 32, most - before
    with zipfile.ZipFile(archive.path) as zf:
        assert zf.testzip() is None
        assert zf.read("img0007.png") == (folder / "img0007.png").read_bytes()


def test_empty_files_count_against_the_look_ahead_too(
    make_executor: MakeExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Empty files hold no bytes, but each prepared entry holds memory: at most
    `_AHEAD_SMALL` small entries are waiting for the writer at any time."""
    monkeypatch.setattr(archive_module, "_AHEAD_SMALL", 50)
    folder = make_executor()
    for number in range(2000):
        (folder / f"empty{number:04d}.txt").touch()
    most = 0
    real_fill = archive_module._Preparer._fill_window

    def watching(self: Any) -> None:
        nonlocal most
        real_fill(self)
        most = max(most, len(self._window))

    monkeypatch.setattr(archive_module._Preparer, "_fill_window", watching)
    archive = pack(folder, tmp_path / "a.zip")
    assert len(archive.files) == 2002
    assert 0 < most <= 50


def test_default_rules_drop_caches_and_git_but_keep_hidden_files(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(
        files={
            "__pycache__/x.pyc": "",
            ".git/HEAD": "",
            ".jina/secret.key": "",
            ".venv/lib.py": "",
            ".hidden": "kept",
            "tests/test_x.py": "",
        }
    )
    packed = names(pack(folder, tmp_path / "a.zip").path)
    assert ".hidden" in packed and "tests/test_x.py" in packed and "config.yml" in packed
    assert not [n for n in packed if n.startswith(("__pycache__", ".git/", ".jina", ".venv"))]


def test_a_gitignore_replaces_the_template_but_git_and_jina_stay_out(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(
        files={
            ".gitignore": "# mine\n*.log\n",
            "x.log": "",
            "__pycache__/kept.pyc": "",
            ".git/config": "",
            ".jina/k": "",
        }
    )
    packed = names(pack(folder, tmp_path / "a.zip").path)
    assert "x.log" not in packed
    assert "__pycache__/kept.pyc" in packed  # like `jina hub push`: the template no longer applies
    assert ".gitignore" in packed
    assert not [n for n in packed if n.startswith((".git/", ".jina"))]


def test_symlinks_never_leave_the_folder(make_executor: MakeExecutor, tmp_path: Path) -> None:
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("do not upload")
    folder = make_executor(files={"real.txt": "inside"})
    (folder / "leak.txt").symlink_to(outside)
    (folder / "alias.txt").symlink_to(folder / "real.txt")
    (folder / "loop").symlink_to(folder)
    archive = pack(folder, tmp_path / "a.zip")
    packed = names(archive.path)
    assert "leak.txt" not in packed
    assert "alias.txt" in packed
    assert "loop" not in " ".join(packed)
    assert {s.path for s in archive.skipped} == {"leak.txt", "loop"}
    with zipfile.ZipFile(archive.path) as zf:
        assert zf.read("alias.txt") == b"inside"


def test_entries_have_a_fixed_time_and_unix_modes(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(files={"run.sh": "#!/bin/sh\n", "model.onnx": "x"})
    (folder / "run.sh").chmod(0o755)
    with zipfile.ZipFile(pack(folder, tmp_path / "a.zip").path) as zf:
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.create_system == 3
            assert info.flag_bits & 0x08 == 0  # no data descriptors: sizes in the headers
        assert zf.getinfo("run.sh").external_attr >> 16 & 0o777 == 0o755
        assert zf.getinfo("config.yml").external_attr >> 16 & 0o777 == 0o644
        assert zf.getinfo("model.onnx").external_attr >> 16 & 0o777 == 0o644


def test_text_is_deflated_and_what_does_not_compress_is_stored(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    text = "def f(x):\n    return x + 1\n\n" * 4000  # > TRIAL_BYTES, compresses well
    folder = make_executor(files={"big.py": text, "empty.txt": "", "small.yml": "a: 1\n"})
    (folder / "weights.safetensors").write_bytes(bytes(200_000))  # compressible, but weights
    (folder / "blob.dat").write_bytes(os.urandom(200_000))  # unknown name, incompressible
    (folder / "half.dat").write_bytes(os.urandom(40_000) + bytes(40_000))  # trial says deflate
    archive = pack(folder, tmp_path / "a.zip")
    with zipfile.ZipFile(archive.path) as zf:
        method = {info.filename: info.compress_type for info in zf.infolist()}
        assert zf.testzip() is None
        assert zf.read("big.py") == text.encode()
    assert method["big.py"] == method["executor.py"] == method["config.yml"] == ZIP_DEFLATED
    assert method["half.dat"] == ZIP_DEFLATED
    assert method["weights.safetensors"] == method["blob.dat"] == ZIP_STORED
    # Deflate would make them larger: an empty file and a 5-byte one are stored too.
    assert method["empty.txt"] == method["small.yml"] == ZIP_STORED
    assert sorted(archive.stored) == sorted(n for n, m in method.items() if m == ZIP_STORED)


@pytest.mark.parametrize(
    ("name", "head", "stored"),
    [
        ("model.PT", b"a" * 1000, True),  # by extension, case-insensitive
        ("x/archive.tar.gz", b"a" * 1000, True),
        ("notes.md", b"a" * 1000, False),
        ("noise", os.urandom(TRIAL_BYTES), True),
        ("noise-then-zeros", os.urandom(TRIAL_BYTES) + bytes(10 * TRIAL_BYTES), True),
        ("zeros-then-noise", bytes(TRIAL_BYTES) + os.urandom(10 * TRIAL_BYTES), False),
    ],
)
def test_the_store_rule_reads_the_name_and_the_first_block(
    name: str, head: bytes, stored: bool
) -> None:
    assert stores(name, head) is stored


def _same_with_zipfile(folder: Path, reference: Path, infos: list[zipfile.ZipInfo]) -> bytes:
    """The archive the standard library writes for these entries, in this order."""
    with zipfile.ZipFile(reference, "w") as zf:
        for info in infos:
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = info.compress_type
            entry._compresslevel = LEVEL  # type: ignore[attr-defined]  # as `pack` deflates
            entry.create_system = 3
            entry.external_attr = info.external_attr
            with (folder / info.filename).open("rb") as source, zf.open(entry, "w") as sink:
                while chunk := source.read(CHUNK):
                    sink.write(chunk)
    return reference.read_bytes()


def test_the_archive_is_byte_for_byte_what_zipfile_writes(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    """Written front to back, never patched, yet the same bytes as `zipfile` (which patches
    each local header after the data): the format is the standard library's."""
    folder = make_executor(files={"caf\u00e9/n\u00f6tes.md": "\u00e9t\u00e9\n" * 5000})
    (folder / "weights.bin").write_bytes(os.urandom(2 * CHUNK + 333))  # several chunks
    (folder / "big.txt").write_text("line\n" * 600_000)  # deflated, spilled past CHUNK
    (folder / "run.sh").write_text("#!/bin/sh\necho hi\n" * 10)
    (folder / "run.sh").chmod(0o755)
    archive = pack(folder, tmp_path / "a.zip")
    written = archive.path.read_bytes()
    with zipfile.ZipFile(archive.path) as zf:
        infos = zf.infolist()
        assert zf.getinfo("caf\u00e9/n\u00f6tes.md").flag_bits & 0x800  # UTF-8 name
    assert written == _same_with_zipfile(folder, tmp_path / "ref.zip", infos)
    assert archive.md5 == hashlib.md5(written).hexdigest()  # noqa: S324
    assert archive.size == len(written)


def test_zip64_fields_past_the_limit_read_back(
    make_executor: MakeExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sizes and offsets past ZIP64's threshold (lowered here) take ZIP64 fields and the
    ZIP64 end records, and readers still find every byte."""
    monkeypatch.setattr(zip_records, "_ZIP64_LIMIT", 1000)
    folder = make_executor(files={"notes.txt": "n" * 5000})
    (folder / "w.bin").write_bytes(os.urandom(3000))
    archive = pack(folder, tmp_path / "a.zip")
    with zipfile.ZipFile(archive.path) as zf:
        assert zf.testzip() is None
        assert zf.read("w.bin") == (folder / "w.bin").read_bytes()
        assert zf.getinfo("w.bin").extract_version == 45
    assert archive.md5 == hashlib.md5(archive.path.read_bytes()).hexdigest()  # noqa: S324


def test_progress_counts_the_bytes_packed(make_executor: MakeExecutor, tmp_path: Path) -> None:
    folder = make_executor()
    (folder / "w.bin").write_bytes(os.urandom(3 * CHUNK))
    seen: list[tuple[int, int]] = []
    pack(folder, tmp_path / "a.zip", on_progress=lambda done, total: seen.append((done, total)))
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    assert len(seen) >= 3  # a big file reports as it goes


def test_a_file_that_changes_while_packed_is_an_error(
    make_executor: MakeExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored file is read twice (its CRC, then its bytes): if it grew in between, the
    archive would be corrupt, so packing stops with an error naming the file."""
    folder = make_executor()
    (folder / "w.bin").write_bytes(os.urandom(100_000))
    prepare = archive_module._prepare

    def prepare_then_grow(*args: Any) -> Any:
        entry = prepare(*args)
        if entry.name == "w.bin":
            with (folder / "w.bin").open("ab") as grow:
                grow.write(b"more")
        return entry

    monkeypatch.setattr(archive_module, "_prepare", prepare_then_grow)
    with pytest.raises(ExecutorError, match="changed while it was being packed") as caught:
        pack(folder, tmp_path / "a.zip")
    assert caught.value.location == SourceLocation(f"{folder.as_posix()}/w.bin")
    assert not _packing_threads()


def _packing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hub-push-")]


def test_an_unreadable_file_is_an_executor_error_naming_it(
    make_executor: MakeExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_executor(files={"locked.bin": "x"})
    real_open = Path.open

    def refuse_locked(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "locked.bin":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse_locked)
    with pytest.raises(ExecutorError) as caught:
        pack(folder, tmp_path / "a.zip")
    assert caught.value.location == SourceLocation(f"{folder.as_posix()}/locked.bin")
    assert "Permission denied" in str(caught.value)
    assert not _packing_threads()  # the helper threads end with the error


def test_a_symlink_loop_is_left_out_not_a_crash(tmp_path: Path) -> None:
    folder = tmp_path / "exec"
    folder.mkdir()
    (folder / "config.yml").write_text("jtype: X\n")
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    archive = pack(folder, tmp_path / "out.zip")
    assert archive.files == ["config.yml"]
    assert {s.path for s in archive.skipped} == {"a", "b"}


def test_a_file_name_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "exec"
    folder.mkdir()
    (folder / "config.yml").write_text("jtype: X\n")
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    with pytest.raises(ExecutorError, match="not UTF-8") as caught:
        pack(folder, tmp_path / "out.zip")
    assert caught.value.location is not None
    assert caught.value.location.file.endswith("caf\ufffd.txt")


def test_the_sha256_is_of_the_very_bytes_written(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor(files={"a.txt": "text " * 1000})
    (folder / "w.bin").write_bytes(os.urandom(3 * CHUNK))
    archive = pack(folder, tmp_path / "a.zip", sha256=True)
    written = archive.path.read_bytes()
    assert archive.sha256 == hashlib.sha256(written).hexdigest()
    assert pack(folder, tmp_path / "b.zip").sha256 == ""  # only when asked
    assert archive.md5 == hashlib.md5(written).hexdigest()  # noqa: S324
