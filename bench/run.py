"""Benchmark: hub-push against the official client, pushing big executors to a local Hub.

    .venv/bin/python bench/run.py            # 100 MiB, 500 MiB, 1 GiB; 3 runs each (~5 min)
    .venv/bin/python bench/run.py --quick    # 16 MiB and 64 MiB, 1 run (~30 s)

For each size it generates an executor folder in /tmp (a few thousand small text files, and
incompressible weight shards and data; fixed seeds, so the same bytes every time), starts the
local Hub on 127.0.0.1, and pushes the folder, alternating which goes first:

- **hub-push**: the action's entrypoint (`python -m hub_push`, inputs as `INPUT_*` the way
  the runner sets them), which packs, uploads and follows the build to its end;
- **official**: `jina-hub push FOLDER && jina-hub status FOLDER` (jina-hubble-sdk 0.39.0,
  from `.venv-sdk`), which also ends when the build does.

It reports the median wall time and peak RSS (`ru_maxrss` of the process and its children,
read by a small wrapper process) of each, their ratio, hub-push's phases (read from its log
as it is written), and the physical reference for the same archive bytes: a warm read, an
MD5, and a send over a loopback socket to a sink. It also times a bare upload into the
local Hub (a raw socket `sendfile` of the archive to `executor.push`, until the answer
starts; 5 times after a warm-up, the median). Results go to `bench/results/` (`results.md`,
`results.json`, and `results.png` when matplotlib is installed).
Everything it generates lives in one temporary folder, removed at the end (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

from hub_push.archive import pack  # noqa: E402
from support.localhub_process import LocalHub, local_hub  # noqa: E402
from support.runner import action_inputs, input_variable, parse_file_command  # noqa: E402

MIB = 1024 * 1024
USER, TOKEN = "bench", "bench-token-0123456789"
RESULTS = REPO / "bench" / "results"
SDK_BIN = Path(os.environ.get("HUB_PUSH_SDK_VENV") or REPO / ".venv-sdk") / "bin" / "jina-hub"
RUN_TIMEOUT = 300.0
#: Timed bare uploads per size (each is a second or so; their median is reported).
PROBES = 5
#: hub-push's log groups that start each phase (read from its stdout as it is written).
PHASES = {
    "packing": "::group::Packing",
    "packed": "::group::Login",  # the next group: packing has ended
    "upload": "::group::Upload",
    "build": "::group::Build",
}

WORDS = [
    "array", "batch", "config", "docs", "document", "embed", "encoder", "executor", "flow",
    "index", "input", "layer", "matrix", "model", "numpy", "output", "parameter", "request",
    "response", "score", "search", "shape", "tensor", "token", "vector",
]  # fmt: skip
EXECUTOR_PY = """\
from jina import Executor, requests


class {cls}(Executor):
    @requests
    def encode(self, docs, **kwargs):
        return docs
"""


# -- the executor folders ---------------------------------------------------------------------
def make_folder(root: Path, size_mib: int, seed: int) -> Path:
    """An executor of about `size_mib` MiB: code and text (~2%), weights and data (the rest)."""
    name = f"Bench{size_mib}M"
    folder = root / name
    folder.mkdir(parents=True)
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    (folder / "config.yml").write_text(
        f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n"
    )
    (folder / "executor.py").write_text(EXECUTOR_PY.format(cls=name))
    (folder / "requirements.txt").write_text("numpy\n")
    total = size_mib * MIB
    written = 0
    for number in range(min(4000, max(100, size_mib * 2))):  # many small text files
        lines = []
        for line in range(rng.randint(10, 400)):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))
            lines.append(f"# {words}\nvalue_{line} = {rng.randint(0, 10**6)!r}  # {words}\n")
        kind = ("py", "json", "txt", "md")[number % 4]
        path = folder / "src" / f"pkg{number % 25}" / f"module{number}.{kind}"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(lines)
        path.write_text(text)
        written += len(text)
    pool = rng.randbytes(16 * MIB)  # slices of it at random offsets: nothing to deflate

    def noise(path: Path, size: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            left = size
            while left:
                piece = min(MIB, left)
                start = rng.randrange(len(pool) - piece)
                out.write(pool[start : start + piece])
                left -= piece

    data = max(MIB, (total - written) // 20)  # an unknown extension: stored by the trial
    noise(folder / "data" / "index.dat", data)
    left = total - written - data
    shards = max(1, -(-left // (256 * MIB)))
    for shard in range(shards):
        size = left // shards + (left % shards if shard == shards - 1 else 0)
        noise(folder / "weights" / f"model-{shard + 1:05d}-of-{shards:05d}.safetensors", size)
    return folder


# -- measuring a process ----------------------------------------------------------------------
@dataclass
class Run:
    """One push by one client: wall time, peak RSS, and (hub-push) when each phase began."""

    client: str
    size_mib: int
    wall: float
    peak_rss_mib: float
    ok: bool
    marks: dict[str, float] = field(default_factory=dict)


#: Runs a command and reports its wall time and peak RSS. A small process of its own: a
#: child's `ru_maxrss` also counts the memory of the process that forked it (until `exec`),
#: so the bench (which holds buffers of its own) must not be the parent it forks from.
WRAPPER = """\
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[2:]).returncode
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write(f"{wall} {peak} {code}")
sys.exit(code)
"""


def _timed(
    command: Sequence[str], env: dict[str, str], cwd: Path, log: IO[bytes]
) -> tuple[float, float, int, dict[str, float]]:
    """Run a command: (wall seconds, peak RSS MiB, exit code, first time each phase showed)."""
    marks: dict[str, float] = {}
    report = Path(tempfile.mkstemp(prefix="bench-", suffix=".rss")[1])
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, str(report), *command], cwd=cwd, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
    )  # fmt: skip

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            now = time.perf_counter() - start
            line = raw.decode("utf-8", "replace")
            for phase, prefix in PHASES.items():
                if line.startswith(prefix) and phase not in marks:
                    marks[phase] = now
            log.write(raw)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process.wait(RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    outer = time.perf_counter() - start
    reader.join(10)
    try:
        wall_text, peak_kib, code = report.read_text().split()
        wall, code_number = float(wall_text), int(code)
    except (OSError, ValueError):
        return outer, float("nan"), process.returncode or 1, marks
    finally:
        report.unlink(missing_ok=True)
    start_up = outer - wall  # the wrapper's own start, left out of the marks too
    marks = {phase: at - start_up for phase, at in marks.items()}
    return wall, int(peak_kib) / 1024, code_number, marks


def run_hub_push(folder: Path, hub: LocalHub, scratch: Path) -> Run:
    files = scratch / "runner"
    shutil.rmtree(files, ignore_errors=True)
    (files / "home").mkdir(parents=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(files / "home"),
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": str(folder.parent),
        "GITHUB_OUTPUT": str(files / "output"),
        "GITHUB_STEP_SUMMARY": str(files / "summary"),
        "RUNNER_TEMP": str(files),
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    inputs = action_inputs()
    inputs.update({"path": folder.name, "hub-url": hub.url, "token": TOKEN, "timeout": "5m"})
    env.update({input_variable(name): value for name, value in inputs.items()})
    with (scratch / "hub-push.log").open("ab") as log:
        wall, rss, code, marks = _timed([sys.executable, "-m", "hub_push"], env, folder.parent, log)
    output = (files / "output").read_text() if (files / "output").exists() else ""
    ok = code == 0 and parse_file_command(output).get("build-status") == "succeeded"
    return Run("hub-push", 0, wall, rss, ok, marks)


def run_official(folder: Path, hub: LocalHub, scratch: Path) -> Run:
    home = scratch / "sdk-home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "JINA_HUBBLE_REGISTRY": hub.url,
        "JINA_AUTH_TOKEN": TOKEN,
        "SHOW_HUBBLE_HINT": "NEVER",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "COLUMNS": "250",
        "TERM": "dumb",
    }
    wall = rss = 0.0
    ok = True
    with (scratch / "official.log").open("ab") as log:
        for step in ("push", "status"):  # `jina-hub push F && jina-hub status F`
            seconds, peak, code, _ = _timed([str(SDK_BIN), step, str(folder)], env, REPO, log)
            wall, rss = wall + seconds, max(rss, peak)
            if code != 0:
                ok = False
                break
    return Run("official", 0, wall, rss, ok)


# -- the physical reference -------------------------------------------------------------------
def _read_all(path: Path, sink: Callable[[bytes], object] = lambda _: None) -> float:
    start = time.perf_counter()
    with path.open("rb", buffering=0) as source:
        while chunk := source.read(MIB):
            sink(chunk)
    return time.perf_counter() - start


def reference(archive: Path) -> dict[str, float]:
    """Warm read, MD5 and a loopback send of the archive's bytes (seconds, each alone)."""
    _read_all(archive)  # warm the page cache
    read = min(_read_all(archive) for _ in range(2))
    digest = hashlib.md5(usedforsecurity=False)
    md5 = _read_all(archive, digest.update) - read
    server = socket.create_server(("127.0.0.1", 0))

    def drain() -> None:
        connection, _ = server.accept()
        buffer = bytearray(MIB)
        with connection:
            while connection.recv_into(buffer):
                pass

    sink = threading.Thread(target=drain)
    sink.start()
    client = socket.create_connection(server.getsockname())
    start = time.perf_counter()
    _read_all(archive, client.sendall)
    client.shutdown(socket.SHUT_WR)
    sink.join()
    send = time.perf_counter() - start - read
    client.close()
    server.close()
    return {"read": read, "md5": md5, "send": max(send, 0.0), "total": read + md5 + max(send, 0)}


def upload_probe(hub: LocalHub, archive: Path, md5: str, name: str) -> float:
    """Seconds from the first byte of a bare upload (`sendfile`) to the Hub's answer."""
    boundary = secrets.token_hex(16)
    fields = [("md5sum", md5), ("id", name), ("public", "False"), ("private", "False")]
    before = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in fields
        ).encode()
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="filename"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
    )
    after = f"\r\n--{boundary}--\r\n".encode()
    length = len(before) + archive.stat().st_size + len(after)
    head = (
        f"POST /v2/rpc/executor.push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {TOKEN}"
        f"\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", hub.port)) as connection:
        start = time.perf_counter()
        connection.sendall(head + before)
        with archive.open("rb") as source:
            connection.sendfile(source)
        connection.sendall(after)
        first = connection.recv(1)
        seconds = time.perf_counter() - start
        answer = first + b"".join(iter(lambda: connection.recv(65536), b""))
    if b'"type":"complete"' not in answer:
        raise RuntimeError(f"the probe upload was refused: {answer[-300:]!r}")
    _wait_for_builds(hub, name)
    return seconds


def _wait_for_builds(hub: LocalHub, name: str, timeout: float = 120) -> None:
    """Wait until every build task of `name` has succeeded (a failed one is an error: the
    probe's archive arrived damaged, and its md5 is checked by the build)."""
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=hub.url + "/v2/rpc/", trust_env=False) as http:
        while time.monotonic() < deadline:
            answer = http.post(
                "executor.listAsyncTasks",
                data={"id": name, "pageSize": "5"},
                headers={"Authorization": f"token {TOKEN}"},
            ).json()
            statuses = {task["status"] for task in answer["data"]}
            if statuses <= {"succeeded"}:
                return
            if "failed" in statuses:  # the probe's archive arrived damaged, or is refused
                raise RuntimeError(f"a build of {name} failed: {answer['data']}")
            time.sleep(0.1)
    raise RuntimeError(f"the builds of {name} did not end within {timeout:.0f} s")


# -- the report -------------------------------------------------------------------------------
def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(size: int, archive_mib: float, runs: list[Run], ref: dict[str, float],
              probes: list[float]) -> dict[str, Any]:  # fmt: skip
    ours = [r for r in runs if r.client == "hub-push" and r.ok]
    theirs = [r for r in runs if r.client == "official" and r.ok]
    client_side = [r.marks["build"] for r in ours if "build" in r.marks]
    # From the upload's answer to the finished build: the local Hub's build (unpacking and
    # checking the archive, the simulated build), as hub-push sees it.
    hub_build = [r.wall - r.marks["build"] for r in ours if "build" in r.marks]
    packed = [r.marks["packed"] for r in ours if "packed" in r.marks]
    started = [r.marks["packing"] for r in ours if "packing" in r.marks]
    packing = [
        r.marks["packed"] - r.marks["packing"]
        for r in ours
        if {"packed", "packing"} <= set(r.marks)
    ]
    upload = [
        r.marks["build"] - r.marks["upload"] for r in ours if {"build", "upload"} <= set(r.marks)
    ]
    row = {
        "size_mib": size,
        "archive_mib": round(archive_mib, 1),
        "runs": len(ours),
        "failed_runs": len([r for r in runs if not r.ok]),
        "hub_push_wall": _median([r.wall for r in ours]),
        "official_wall": _median([r.wall for r in theirs]),
        "hub_push_client_side": _median(client_side),
        "local_hub_build": _median(hub_build),
        "hub_push_start_up": _median(started),
        "hub_push_packing": _median(packing),
        "hub_push_to_packed": _median(packed),
        "hub_push_upload": _median(upload),
        "hub_push_rss_mib": max((r.peak_rss_mib for r in ours), default=float("nan")),
        "official_rss_mib": max((r.peak_rss_mib for r in theirs), default=float("nan")),
        "reference": ref,
        "probe_upload_s": _median(probes),
        "probe_runs_s": probes,
        "probe_mib_s": archive_mib / _median(probes) if probes else float("nan"),
        "hub_push_upload_mib_s": archive_mib / _median(upload) if upload else float("nan"),
    }
    row["wall_ratio"] = row["hub_push_wall"] / row["official_wall"]
    row["client_side_vs_reference"] = row["hub_push_client_side"] / ref["total"]
    return row


def markdown(rows: list[dict[str, Any]], machine: dict[str, str], runs: int) -> str:
    out = [
        "# hub-push vs the official client, big executors, local Hub on loopback",
        "",
        f"{machine['when']} · {machine['cpu']} · {machine['cores']} cores · Python "
        f"{machine['python']} · median of {runs} run(s) per client and size, alternating · "
        "`python bench/run.py`",
        "",
        "Wall: from start to the finished build (hub-push: `python -m hub_push`; official: "
        "`jina-hub push F && jina-hub status F`). Client side: hub-push's start until its "
        "upload is answered (start-up, checks, packing, login, upload); the local Hub's build: "
        "from that answer to the finished build (the double's work, not the client's). "
        "Reference: warm read + "
        "MD5 + loopback socket send of the same archive bytes, each alone. Peak RSS: "
        "`ru_maxrss` of the process (max over the two official commands).",
        "",
        "| size | archive | hub-push wall | official wall | ratio | hub-push client side "
        "| local Hub's build | reference (read + md5 + send) | client side / reference "
        "| peak RSS hub-push | peak RSS official |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ref = row["reference"]
        out.append(
            f"| {row['size_mib']} MiB | {row['archive_mib']} MiB | {row['hub_push_wall']:.2f} s "
            f"| {row['official_wall']:.2f} s | {row['wall_ratio']:.2f}x "
            f"| {row['hub_push_client_side']:.2f} s | {row['local_hub_build']:.2f} s "
            f"| {ref['total']:.2f} s ({ref['read']:.2f} + {ref['md5']:.2f} + {ref['send']:.2f}) "
            f"| {row['client_side_vs_reference']:.2f}x | {row['hub_push_rss_mib']:.0f} MiB "
            f"| {row['official_rss_mib']:.0f} MiB |"
        )
    out += [
        "",
        "hub-push's phases (median) and the local Hub's receive rate:",
        "",
        "| size | start-up | packing | start → packed | upload (sent → answered) | upload rate "
        "| bare upload (`sendfile` → answer) | MD5 alone |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        md5_rate = row["archive_mib"] / row["reference"]["md5"]
        out.append(
            f"| {row['size_mib']} MiB | {row['hub_push_start_up']:.2f} s "
            f"| {row['hub_push_packing']:.2f} s | {row['hub_push_to_packed']:.2f} s "
            f"| {row['hub_push_upload']:.2f} s | {row['hub_push_upload_mib_s']:.0f} MiB/s "
            f"| {row['probe_upload_s']:.2f} s, {row['probe_mib_s']:.0f} MiB/s "
            f"| {md5_rate:.0f} MiB/s |"
        )
    largest = rows[-1]
    checks = [
        (
            f"{largest['size_mib']} MiB: hub-push wall ≤ 0.25x the official client's",
            largest["wall_ratio"] <= 0.25,
            f"{largest['wall_ratio']:.2f}x",
        ),
        (
            f"{largest['size_mib']} MiB: hub-push client side ≤ 2x the reference",
            largest["client_side_vs_reference"] <= 2,
            f"{largest['client_side_vs_reference']:.2f}x",
        ),
        (
            "upload into the local Hub ≥ 1 GiB/s (bare upload, answer included)",
            largest["probe_mib_s"] >= 1024,
            f"{largest['probe_mib_s']:.0f} MiB/s",
        ),
        (
            "hub-push peak RSS ≤ 100 MB at every size",
            all(r["hub_push_rss_mib"] * MIB <= 100e6 for r in rows),
            ", ".join(f"{r['hub_push_rss_mib']:.0f}" for r in rows) + " MiB",
        ),
    ]
    out += ["", "| target | met | measured |", "| --- | --- | --- |"]
    out += [f"| {what} | {'yes' if met else 'no'} | {value} |" for what, met, value in checks]
    failed = sum(r["failed_runs"] for r in rows)
    if failed:
        out += ["", f"**{failed} run(s) failed** and are left out of the medians; see the logs."]
    return "\n".join(out) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels = [f"{r['size_mib']} MiB" for r in rows]
    xs = range(len(rows))
    figure, (walls, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.27
    series = [
        ("official: push && status", [r["official_wall"] for r in rows], "#b0b0b0"),
        ("hub-push (to finished build)", [r["hub_push_wall"] for r in rows], "#2f6db5"),
        ("reference: read + md5 + send", [r["reference"]["total"] for r in rows], "#6ab04c"),
    ]
    for offset, (label, values, color) in enumerate(series):
        walls.bar([x + (offset - 1) * width for x in xs], values, width, label=label, color=color)
    walls.set_xticks(list(xs), labels)
    walls.set_ylabel("seconds (median)")
    walls.set_title("Wall time")
    walls.legend(fontsize=8)
    memory.bar([x - width / 2 for x in xs], [r["official_rss_mib"] for r in rows], width,
               label="official", color="#b0b0b0")  # fmt: skip
    memory.bar([x + width / 2 for x in xs], [r["hub_push_rss_mib"] for r in rows], width,
               label="hub-push", color="#2f6db5")  # fmt: skip
    memory.axhline(100e6 / MIB, color="#c0392b", linestyle="--", linewidth=1, label="100 MB")
    memory.set_yscale("log")
    memory.set_xticks(list(xs), labels)
    memory.set_ylabel("peak RSS, MiB (log)")
    memory.set_title("Peak memory")
    memory.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


# -- the run ----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 run, 16 and 64 MiB")
    parser.add_argument("--runs", type=int, help="runs per client and size (default 3)")
    parser.add_argument("--sizes", help="comma-separated sizes in MiB (default 100,500,1024)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    sizes = [int(s) for s in (args.sizes or ("16,64" if args.quick else "100,500,1024")).split(",")]
    if not SDK_BIN.exists():
        parser.error(f"the official client is missing ({SDK_BIN}): run `make sdk-venv`")
    machine = {
        "when": time.strftime("%Y-%m-%d"),
        "cpu": _cpu(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
    }
    scratch = Path(tempfile.mkdtemp(prefix="hub-push-bench-", dir="/tmp"))
    rows: list[dict[str, Any]] = []
    all_runs: list[Run] = []
    try:
        with local_hub(scratch / "hub", users={USER: TOKEN}, build_seconds=0.2) as hub:
            for index, size in enumerate(sizes):
                print(f"== {size} MiB: generating", flush=True)
                folder = make_folder(scratch / "executors", size, seed=1000 + size)
                archive = pack(folder, scratch / "reference.zip")
                archive_mib = archive.size / MIB
                ref = reference(archive.path)
                os.sync()
                probes = []  # after one untimed warm-up (the first upload after generating
                for number in range(PROBES + 1):  # the folder runs 2-3x slower on this VM)
                    _forget_blobs(hub)
                    os.sync()
                    seconds = upload_probe(hub, archive.path, archive.md5, f"Probe{size}M{number}")
                    if number:
                        probes.append(seconds)
                probe = _median(probes)
                archive.path.unlink()
                print(
                    f"   archive {archive_mib:.0f} MiB ({len(archive.stored)} stored entries), "
                    f"reference {ref['total']:.2f} s, bare upload {probe:.2f} s",
                    flush=True,
                )
                size_runs: list[Run] = []
                for number in range(runs):
                    order = [run_hub_push, run_official]
                    if (number + index) % 2:
                        order.reverse()
                    for push in order:
                        _forget_blobs(hub)
                        os.sync()
                        result = push(folder, hub, scratch)
                        result.size_mib = size
                        size_runs.append(result)
                        state = "ok" if result.ok else "FAILED"
                        print(
                            f"   {result.client:8} run {number + 1}: {result.wall:6.2f} s, "
                            f"peak RSS {result.peak_rss_mib:6.0f} MiB, {state}",
                            flush=True,
                        )
                all_runs += size_runs
                rows.append(summarize(size, archive_mib, size_runs, ref, probes))
                shutil.rmtree(folder)
                _forget_blobs(hub)
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    report = markdown(rows, machine, runs)
    (args.out / "results.md").write_text(report)
    raw = {"machine": machine, "rows": rows, "runs": [asdict(r) for r in all_runs]}
    (args.out / "results.json").write_text(json.dumps(raw, indent=2) + "\n")
    drawn = plot(rows, args.out / "results.png")
    print(report)
    print(f"written: {args.out}/results.md, results.json" + (", results.png" if drawn else
          " (no plot: matplotlib is not installed)"))  # fmt: skip
    return 0 if all(r.ok for r in all_runs) else 1


def _forget_blobs(hub: LocalHub) -> None:
    """Drop the stored archives of finished builds (the bench's disk, not its timings)."""
    shutil.rmtree(hub.data_dir / "blobs" / "md5", ignore_errors=True)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
