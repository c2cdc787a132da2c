"""Build tasks: queued on push, run by worker threads, recorded line by line in the store.

A "build" unpacks the stored archive and checks it against the push's MD5 from the same
reads (so the push's answer never waits for a hash), checks it with the Hub's executor
rules (the build check of ``jina-ai/executor-normalizer``, in the shared ``executor_rules``
package), and plays the stages of an image build (``buildWorkspace``, ``pushImage``,
``commitSave``) so that the whole task takes ``build_seconds``. It ends ``succeeded`` (the
commit's tags now point at it) or ``failed`` with the reason (a damaged upload: 40003).
Tasks left unfinished by a stop are run again on the next start.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import executor_rules
from localhub.errors import DATA_STREAM_BROKEN, SERVER_INTERNAL
from localhub.store import FAILED, SUCCEEDED, Commit, Store, StoredExecutor, Task
from localhub.unpack import (
    MAX_UNPACKED_BYTES,
    UnsafeArchiveError,
    damaged_message,
    md5_of_file,
    unpack,
)

log = logging.getLogger("localhub")

#: How many log lines a typical build writes; the build's time is spread over them.
_PLANNED_LINES = 14


class Changes:
    """Wakes up the streams that follow tasks whenever a task logs or changes state."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._version = 0

    def notify(self) -> None:
        with self._cond:
            self._version += 1
            self._cond.notify_all()

    @property
    def version(self) -> int:
        with self._cond:
            return self._version

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until something changes after version ``seen`` (or the timeout)."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != seen, timeout=timeout)
            return self._version


class _Stopped(Exception):
    """The server is stopping: leave the task unfinished, it runs again on the next start."""


class BuildRejected(Exception):
    """A build that ends ``failed``: the reason as the user reads it, and its code."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def _dockerfile_steps(path: Path) -> list[str]:
    """The instructions of the executor's own Dockerfile, one a line (continuations joined)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    steps: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        steps.append(pending + line)
        pending = ""
    return steps


def _check_md5(actual: str, md5sum: str) -> None:
    """A damaged upload (not the MD5 the push said) fails the build."""
    if actual != md5sum:
        raise BuildRejected(damaged_message(actual, md5sum), DATA_STREAM_BROKEN)


@dataclass
class _Run:
    """One attempt at one task."""

    task: Task
    commit: Commit
    executor: StoredExecutor
    started: float
    deadline: float
    step: float


class Builder:
    """A FIFO queue of task ids and the worker threads that build them."""

    def __init__(
        self,
        store: Store,
        changes: Changes,
        *,
        build_seconds: float,
        workers: int = 2,
        max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
        fail_requirements: frozenset[str] = frozenset(),
    ) -> None:
        self._store = store
        #: Requirements pip "cannot find" (by name, any case): their builds fail as pip fails.
        self._fail_requirements = frozenset(name.lower() for name in fail_requirements)
        self._changes = changes
        self._build_seconds = max(0.0, build_seconds)
        self._max_unpacked_bytes = max_unpacked_bytes
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"localhub-builder-{n}", daemon=True)
            for n in range(max(1, workers))
        ]

    def start(self) -> None:
        """Queue again every task a previous run left unfinished, then start the workers."""
        with self._store.write() as tx:
            unfinished = tx.unfinished_tasks()
            for task in unfinished:
                tx.requeue_task(task.id)
        for task in unfinished:
            log.info("resuming build task %s", task.id)
            self._queue.put(task.id)
        for thread in self._threads:
            thread.start()

    def submit(self, task_id: str) -> None:
        """Queue a task that the store already holds as ``pending``."""
        self._queue.put(task_id)
        self._changes.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the workers; a task in progress stays unfinished (and resumes on start)."""
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    # the worker ---------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            task_id = self._queue.get()
            if task_id is None:
                return
            try:
                self._run(task_id)
            except _Stopped:
                log.info(
                    "build task %s interrupted by the stop; it resumes on the next start", task_id
                )
                return
            except Exception:
                log.exception("build task %s crashed", task_id)

    def _run(self, task_id: str) -> None:
        with self._store.write() as tx:
            task = tx.task(task_id)
            if task is None or task.status in (SUCCEEDED, FAILED):
                return
            commit = tx.commit(task.commit_id)
            executor = tx.executor_by_uuid(task.executor_uuid)
            tx.start_task(task_id)
        if commit is None or executor is None:
            self._finish(
                task_id,
                None,
                None,
                BuildRejected("The task's commit is missing.", SERVER_INTERNAL),
            )
            return
        self._changes.notify()
        now = time.monotonic()
        run = _Run(
            task=task,
            commit=commit,
            executor=executor,
            started=now,
            deadline=now + self._build_seconds,
            step=self._build_seconds / _PLANNED_LINES,
        )
        if task.attempts > 0:
            self._log(
                run, "createTask", "Build restarted: the local Hub stopped while this task ran"
            )
        try:
            self._build(run)
        except BuildRejected as failure:
            self._log(run, "buildWorkspace", f"Build failed: {failure.reason}")
            self._finish(task_id, commit, executor, failure)
            return
        except _Stopped:
            raise
        except Exception as exc:
            log.exception("build task %s failed unexpectedly", task_id)
            crash = BuildRejected(f"Internal error of the local Hub: {exc}", SERVER_INTERNAL)
            self._finish(task_id, commit, executor, crash)
            return
        self._finish(task_id, commit, executor, None)

    def _build(self, run: _Run) -> None:
        commit = run.commit
        work = self._store.work_dir / run.task.id
        shutil.rmtree(work, ignore_errors=True)
        try:
            self._log(
                run,
                "extractZip",
                f"Unpacking the archive ({commit.size} bytes) and checking its md5 {commit.md5sum}",
            )
            blob = self._store.blob_path(commit.blob)
            if not blob.is_file():
                raise BuildRejected(
                    "The uploaded archive is missing from the Hub's storage.", SERVER_INTERNAL
                )
            md5 = hashlib.md5()  # noqa: S324 - the protocol's checksum, not security
            try:  # one read of the archive: the md5 is taken from the unpacking's reads
                files, size = unpack(blob, work, max_bytes=self._max_unpacked_bytes, md5=md5)
            except Exception as exc:
                # Damage explains any failure to unpack best: the md5 first, whatever failed.
                _check_md5(md5_of_file(blob), commit.md5sum)
                if isinstance(exc, UnsafeArchiveError):
                    raise BuildRejected(str(exc), executor_rules.OTHER) from None
                raise
            _check_md5(md5.hexdigest(), commit.md5sum)
            self._log(run, "extractZip", f"Unpacked {files} file(s), {size} bytes; md5 checked")
            verdict = executor_rules.judge(
                work, dockerfile=commit.dockerfile or None, build_env=(commit.build_env or {})
            )
            own_steps: list[str] = []
            if isinstance(verdict, executor_rules.Accepted) and verdict.dockerfile:
                own_steps = _dockerfile_steps(work / verdict.dockerfile)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if isinstance(verdict, executor_rules.Rejected):
            where = (
                verdict.file + (f":{verdict.line}" if verdict.line else "") if verdict.file else ""
            )
            self._log(run, "normalize", f"{where + ': ' if where else ''}{verdict.message}")
            # The Hub's own words first (what its build check answers), then the detail.
            reason = verdict.message
            if verdict.hub_message and verdict.hub_message != verdict.message:
                reason = f"{' '.join(verdict.hub_message.split())} ({verdict.message})"
            raise BuildRejected(reason, verdict.code)
        found = [
            f"Found Executor {verdict.executor} in {verdict.module} (line {verdict.line})",
            f"Dockerfile: {verdict.dockerfile}" if verdict.dockerfile else "Dockerfile: generated",
            f"requirements.txt: {len(verdict.requirements)} requirement(s)",
        ]
        if verdict.placeholders:
            names = ", ".join(verdict.placeholders)
            found.append(
                f"requirements.txt: {len(verdict.placeholders)} placeholder(s) filled from "
                f"build-env: {names}"
            )
        for line in found:
            self._log(run, "normalize", line)
        self._play_image_build(run, verdict, own_steps)

    def _play_image_build(
        self, run: _Run, found: executor_rules.Accepted, own_steps: list[str]
    ) -> None:
        commit, executor = run.commit, run.executor
        image = f"localhub/{executor.name.lower()}:{commit.id}"
        steps = own_steps or [
            "FROM jinaai/jina:3-py311-standard",
            "COPY . /workspace",
            "WORKDIR /workspace",
        ]
        if not own_steps:
            if found.requirements:
                steps.append("RUN pip install --no-cache-dir -r requirements.txt")
            steps.append('ENTRYPOINT ["jina", "executor", "--uses", "config.yml"]')
        platform = commit.platform or "linux/amd64"
        self._log(
            run,
            "buildWorkspace",
            f"Building {image} for {platform}" + (" (no cache)" if commit.no_cache else ""),
        )
        failing = self._failing_requirement(found.requirements)
        for number, step in enumerate(steps, start=1):
            self._log(run, "buildWorkspace", f"#{number + 4} [{number}/{len(steps)}] {step}")
            if failing and step.startswith("RUN") and "pip install" in step:
                self._pip_fails(run, number + 4, step, failing)
        digest = hashlib.sha256(f"{commit.id}:{commit.md5sum}".encode()).hexdigest()
        self._log(run, "buildWorkspace", f"Successfully built {digest[:12]}")
        self._log(run, "pushImage", f"Pushed {image} (digest sha256:{digest})")
        self._log(run, "commitSave", f"Commit {commit.id}: tags {', '.join(commit.tags)}")
        self._wait_until(run.deadline)

    def _failing_requirement(self, requirements: tuple[str, ...]) -> str:
        for line in requirements:
            name = re.split(r"[\s=<>!~;\[@]", line.strip(), maxsplit=1)[0]
            if name.lower() in self._fail_requirements:
                return name
        return ""

    def _pip_fails(self, run: _Run, number: int, step: str, name: str) -> None:
        """pip's words when a requirement can't be found, then BuildKit's for the failed step."""
        for line in (
            f"#{number} 1.812 ERROR: Could not find a version that satisfies the requirement "
            f"{name} (from versions: none)",
            f"#{number} 1.813 ERROR: No matching distribution found for {name}",
            f'#{number} ERROR: process "/bin/sh -c {step.removeprefix("RUN ")}" did not complete '
            "successfully: exit code: 1",
        ):
            self._log(run, "buildWorkspace", line)
        raise BuildRejected(
            f"The image build failed: step `{step}` exited with code 1.", executor_rules.OTHER
        )

    # helpers ----------------------------------------------------------------------------
    def _log(self, run: _Run, subject: str, line: str) -> None:
        dt = int((time.monotonic() - run.started) * 1000)
        with self._store.write() as tx:
            tx.append_log(run.task.id, dt, subject, line)
        self._changes.notify()
        self._wait_until(min(run.deadline, time.monotonic() + run.step))

    def _wait_until(self, moment: float) -> None:
        remaining = moment - time.monotonic()
        if remaining > 0 and self._stop.wait(remaining):
            raise _Stopped
        if self._stop.is_set():
            raise _Stopped

    def _finish(
        self,
        task_id: str,
        commit: Commit | None,
        executor: StoredExecutor | None,
        failure: BuildRejected | None,
    ) -> None:
        with self._store.write() as tx:
            if failure is None and commit is not None and executor is not None:
                tx.point_tags(executor.uuid, commit.tags, commit.id)
                tx.finish_commit(commit.id, SUCCEEDED)
                tx.finish_task(task_id, SUCCEEDED, None, None)
            else:
                reason = failure.reason if failure else "The build failed."
                code = failure.code if failure else SERVER_INTERNAL
                if commit is not None:
                    tx.finish_commit(commit.id, FAILED)
                    tx.release_protected_tags(commit.id)  # a failed build keeps no version
                tx.finish_task(task_id, FAILED, reason, code)
        outcome = "succeeded" if failure is None else "failed"
        log.info("build task %s %s", task_id, outcome)
        self._changes.notify()
