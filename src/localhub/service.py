"""What each RPC method does, apart from HTTP: identity, pushes, tasks and metadata.

Methods either return a JSON object, or yield the lines of an NDJSON stream. A
:class:`RpcError` raised before a stream starts answers the whole request (HTTP >= 400);
inside a push stream it becomes an ``error`` line.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from localhub import push_rules
from localhub.builder import Builder, Changes
from localhub.errors import (
    AUTHENTICATION_FAILED,
    AUTHENTICATION_REQUIRED,
    DATA_STREAM_BROKEN,
    IDENTIFIER_NAMESPACE_OCCUPIED,
    OK,
    OPERATION_NOT_ALLOWED,
    PARAM_VALIDATION,
    REQUESTED_ENTITY_NOT_FOUND,
    RESOURCE_CONFLICT,
    SUBMITTED_DATA_MALFORMED,
    RpcError,
)
from localhub.forms import Form, UploadedFile
from localhub.ids import (
    hash_secret,
    new_object_id,
    new_secret,
    new_uuid8,
    now_iso,
    secret_matches,
)
from localhub.store import (
    FINISHED,
    PENDING,
    SUCCEEDED,
    Commit,
    Store,
    StoredExecutor,
    Task,
    Tx,
)
from localhub.unpack import (
    MAX_UNPACKED_BYTES,
    UnsafeArchiveError,
    damaged_message,
    md5_of_file,
    read_requirements,
)

#: What an ``md5sum`` field holds (lowercased): the hex MD5 of the archive.
_MD5 = re.compile("[0-9a-f]{32}")

Line = dict[str, Any]

NAME_TAKEN_TEXT = "Executor name has been taken by others, please provide another name."


@dataclass(frozen=True)
class LocalHubSettings:
    """The server's knobs that change what clients see."""

    users: Mapping[str, str]  # name -> token
    task_id_in_stream: bool = True
    max_upload_bytes: int | None = None
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES
    stream_seconds: float = 60.0


@dataclass(frozen=True)
class _Accepted:
    executor: StoredExecutor
    commit: Commit
    task: Task
    secret: str | None


def executor_view(executor: StoredExecutor, commit: Commit | None) -> dict[str, Any]:
    """An executor as the push's ``complete.payload`` and a task's ``result`` show it."""
    view: dict[str, Any] = {
        "id": executor.uuid,
        "name": executor.name,
        "visibility": executor.visibility,
    }
    if executor.owner:
        view["owner"] = {"name": executor.owner}
    if commit is not None:
        view["commit"] = {"_id": commit.id, "tags": list(commit.tags)}
    return view


def task_view(task: Task, executor: StoredExecutor) -> dict[str, Any]:
    """A task as ``executor.listAsyncTasks`` lists it."""
    view: dict[str, Any] = {
        "_id": task.id,
        "status": task.status,
        "createdAt": task.created_at,
        "startedAt": task.started_at,
        "finishedAt": task.finished_at,
        "executor": {"id": executor.uuid, "name": executor.name},
        "commit": {"_id": task.commit_id},
    }
    if task.reason:
        view["error"] = {"message": task.reason, "code": task.reason_code}
    return view


class HubService:
    """The local Hub's behaviour behind the RPC methods."""

    def __init__(
        self, store: Store, builder: Builder, changes: Changes, settings: LocalHubSettings
    ) -> None:
        self.store = store
        self.builder = builder
        self.changes = changes
        self.settings = settings
        self.stopping = threading.Event()
        self._tokens = {token: name for name, token in settings.users.items()}

    # identity -------------------------------------------------------------------------------
    def identify(self, authorization: str | None) -> str | None:
        """The user behind an ``Authorization: token …`` header (None without one)."""
        if not authorization or not authorization.strip():
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            raise RpcError(
                AUTHENTICATION_REQUIRED,
                "The Authorization header must be `token <TOKEN>`.",
            )
        user = self._tokens.get(token.strip())
        if user is None:
            raise RpcError(
                AUTHENTICATION_REQUIRED,
                "The token is invalid or expired: log in again or use a valid token.",
            )
        return user

    def whoami(self, user: str | None) -> dict[str, Any]:
        """``user.identity.whoami``."""
        if user is None:
            raise RpcError(
                AUTHENTICATION_REQUIRED,
                "Authentication required: send `Authorization: token <TOKEN>`.",
            )
        return {"code": 200, "status": OK, "data": {"_id": user, "name": user, "nickname": user}}

    @staticmethod
    def can_read(executor: StoredExecutor, user: str | None, secret: str | None) -> bool:
        """Public executors are open to all; private ones to their owner or secret holder."""
        if executor.visibility == "public":
            return True
        if user is not None and user == executor.owner:
            return True
        return secret_matches(secret or "", executor.secret_hash)

    # push -----------------------------------------------------------------------------------
    def check_upload(self, form: Form) -> UploadedFile:
        """Request-level checks of a push: the archive is there, with an MD5 to check it by.

        The MD5 itself is checked by the build (which reads the archive anyway), not here:
        the answer does not wait for a hash of the whole upload. A damaged upload fails its
        build with 40003, and a failed build keeps no tag (or, when the push can't read the
        archive's `requirements.txt`, the push is refused with 40003 at once).
        """
        upload = form.file
        if upload is None:
            raise RpcError(PARAM_VALIDATION, "The push has no archive: send it as the part `file`.")
        md5sum = (form.get("md5sum") or "").strip().lower()
        if not md5sum:
            upload.discard()
            raise RpcError(PARAM_VALIDATION, "The push has no `md5sum` of its archive.")
        if not _MD5.fullmatch(md5sum):
            upload.discard()
            raise RpcError(
                PARAM_VALIDATION, "The push's `md5sum` is not an MD5 (32 hexadecimal digits)."
            )
        return replace(upload, md5sum=md5sum)

    def push(
        self, form: Form, upload: UploadedFile, user: str | None, *, update: bool
    ) -> Iterator[Line]:
        """``executor.push`` / ``executor.update``: the NDJSON lines of the answer."""
        ident = (form.get("id") or "").strip()
        try:
            yield _line("start", "extractZip", f"Checking the archive ({upload.size} bytes)")
            try:
                placeholders = push_rules.requirement_placeholders(
                    read_requirements(upload.path) or []
                )
            except UnsafeArchiveError as exc:
                actual = md5_of_file(upload.path)  # only here: damage explains it best
                if actual != upload.md5sum:
                    message = damaged_message(actual, upload.md5sum)
                    raise RpcError(DATA_STREAM_BROKEN, message) from None
                raise RpcError(SUBMITTED_DATA_MALFORMED, str(exc)) from None
            yield _line("done", "extractZip", "The archive is a valid ZIP")
            yield _line(
                "start", "createExecutor", f"Checking name, owner and tags of {ident or '?'}"
            )
            accepted = self._accept(form, upload, user, ident, placeholders, update=update)
        except RpcError as error:
            upload.discard()
            yield error.stream_line()
            return
        self.builder.submit(accepted.task.id)
        commit, executor = accepted.commit, accepted.executor
        yield _line("done", "commitSave", f"Commit {commit.id} with tags {', '.join(commit.tags)}")
        if self.settings.task_id_in_stream:
            task_id = accepted.task.id
            yield {
                "type": "done",
                "subject": "createTask",
                "message": f"Build task {task_id} queued",
                "payload": task_id,
                "task": {"_id": task_id},
            }
        payload = executor_view(executor, commit)
        if accepted.secret is not None:
            payload["secret"] = accepted.secret
        yield {
            "type": "complete",
            "subject": "createExecutor",
            "message": f"Successfully pushed {executor.uuid}",
            "payload": payload,
        }

    def _accept(
        self,
        form: Form,
        upload: UploadedFile,
        user: str | None,
        ident: str,
        placeholders: list[str],
        *,
        update: bool,
    ) -> _Accepted:
        visibility = push_rules.requested_visibility(form.get("public"), form.get("private"))
        tags = push_rules.push_tags(form.get("tags"), form.get("immutableTags"))
        build_env = push_rules.parse_build_env_field(form.get("buildEnv"))
        secret = form.get("secret") or None
        no_cache = push_rules.parse_flag(form.get("buildWithNoCache"), "buildWithNoCache")
        blob = self.store.keep_upload(upload.path, upload.md5sum)
        now = now_iso()
        with self.store.write() as tx:
            if update:
                executor = self._authorize_update(tx, ident, user, secret)
                new_secret_value = None
            else:
                executor, new_secret_value = self._find_or_create(
                    tx, ident, user, secret, visibility, now
                )
            # Without a public/private flag an update keeps the executor's visibility.
            tx.update_executor(
                executor.uuid, visibility=visibility or executor.visibility, updated_at=now
            )
            executor = tx.executor_by_uuid(executor.uuid) or executor
            _refuse_protected(tx.protected_tags(executor.uuid), tags.tags, executor.name)
            missing = push_rules.missing_build_env(placeholders, build_env)
            if missing:
                raise RpcError(PARAM_VALIDATION, push_rules.missing_build_env_message(missing))
            commit = Commit(
                id=new_object_id(),
                executor_uuid=executor.uuid,
                tags=tags.tags,
                protected_tags=tags.protected,
                build_env_names=tuple(build_env),
                build_env=build_env,
                dockerfile=(form.get("dockerfile") or "").strip() or None,
                platform=(form.get("platform") or "").strip() or None,
                no_cache=no_cache,
                md5sum=upload.md5sum,
                blob=blob,
                size=upload.size,
                pusher=user,
                status=PENDING,
                created_at=now,
            )
            tx.insert_commit(commit)
            for tag in tags.protected:
                try:
                    tx.insert_protected_tag(executor.uuid, tag, commit.id)
                except sqlite3.IntegrityError:
                    _refuse_protected([tag], (tag,), executor.name)
            task = Task(
                id=new_object_id(),
                executor_uuid=executor.uuid,
                commit_id=commit.id,
                status=PENDING,
                reason=None,
                reason_code=None,
                attempts=0,
                created_at=now,
                started_at=None,
                finished_at=None,
            )
            tx.insert_task(task)
        return _Accepted(executor=executor, commit=commit, task=task, secret=new_secret_value)

    def _find_or_create(
        self,
        tx: Tx,
        name: str,
        user: str | None,
        secret: str | None,
        visibility: str | None,
        now: str,
    ) -> tuple[StoredExecutor, str | None]:
        existing = tx.executor_by_name(push_rules.check_name(name))
        if existing is not None:
            if user is not None and existing.owner == user:
                return existing, None
            if secret and secret_matches(secret, existing.secret_hash):
                return existing, None
            raise RpcError(IDENTIFIER_NAMESPACE_OCCUPIED, NAME_TAKEN_TEXT)
        uuid = new_uuid8()
        while tx.uuid_taken(uuid) or tx.executor_by_name(uuid) is not None:
            uuid = new_uuid8()
        plain_secret = new_secret() if user is None else None
        executor = StoredExecutor(
            uuid=uuid,
            name=name,
            owner=user,
            secret_hash=hash_secret(plain_secret) if plain_secret else None,
            visibility=visibility or "public",
            created_at=now,
            updated_at=now,
        )
        tx.insert_executor(executor)
        return executor, plain_secret

    @staticmethod
    def _authorize_update(
        tx: Tx, ident: str, user: str | None, secret: str | None
    ) -> StoredExecutor:
        if not ident:
            raise RpcError(
                PARAM_VALIDATION,
                "executor.update needs `id`: the NAME or UUID8 of the executor to update.",
            )
        executor = tx.executor_by_id(ident)
        if executor is None:
            raise RpcError(
                REQUESTED_ENTITY_NOT_FOUND,
                f"Executor `{ident}` does not exist: push it first without --force-update.",
            )
        if secret:
            if secret_matches(secret, executor.secret_hash):
                return executor
            raise RpcError(
                AUTHENTICATION_FAILED, f"The secret does not match executor {executor.name}."
            )
        if user is not None and user == executor.owner:
            return executor
        if user is None:
            raise RpcError(
                OPERATION_NOT_ALLOWED,
                f"Updating executor {executor.name} needs its secret or its owner's token.",
            )
        raise RpcError(
            OPERATION_NOT_ALLOWED,
            f"You ({user}) are not the owner of executor {executor.name}: "
            "update it with its secret or with the owner's token.",
        )

    # tasks ------------------------------------------------------------------------------------
    def list_tasks(self, form: Form, user: str | None) -> dict[str, Any]:
        """``executor.listAsyncTasks``: tasks of one executor, newest first by default."""
        ident = (form.get("id") or "").strip()
        secret = form.get("secret") or None
        try:
            page_size = max(1, min(100, int(form.get("pageSize") or 10)))
        except ValueError:
            raise RpcError(PARAM_VALIDATION, "`pageSize` must be a number.") from None
        newest_first = (form.get("sort") or "-createdAt").strip() != "createdAt"
        with self.store.read() as tx:
            executor = tx.executor_by_id(ident) if ident else None
            if executor is None or not self.can_read(executor, user, secret):
                tasks: list[Task] = []
            else:
                tasks = tx.tasks_of(executor.uuid, newest_first=newest_first, limit=page_size)
        data = [task_view(task, executor) for task in tasks if executor is not None]
        return {"code": 200, "status": OK, "data": data}

    def open_progress(self, form: Form, user: str | None) -> tuple[Task, StoredExecutor]:
        """The task ``executor.queryProgress`` asks about, if this caller may see it."""
        task_id = (form.get("id") or "").strip()
        secret = form.get("secret") or None
        with self.store.read() as tx:
            task = tx.task(task_id) if task_id else None
            executor = tx.executor_by_uuid(task.executor_uuid) if task else None
        if task is None or executor is None or not self.can_read(executor, user, secret):
            raise RpcError(REQUESTED_ENTITY_NOT_FOUND, f"Task {task_id or '(no id)'} not found.")
        return task, executor

    def progress(self, task: Task, *, replay: bool) -> Iterator[Line]:
        """``executor.queryProgress``: report/progress lines until the task ends (or the cap).

        With ``replay`` the build log is sent from its first line, else from now on.
        """
        deadline = time.monotonic() + self.settings.stream_seconds
        with self.store.read() as tx:
            last_sn = 0 if replay else tx.last_sn(task.id)
        status: str | None = None
        seen = self.changes.version
        while True:
            with self.store.read() as tx:
                current = tx.task(task.id)
                lines = tx.logs(task.id, after_sn=last_sn)
                commit = tx.commit(task.commit_id)
                executor = tx.executor_by_uuid(task.executor_uuid)
            if current is None or executor is None:
                return
            if current.status not in FINISHED and current.status != status:
                status = current.status
                yield _report(current)
            for entry in lines:
                last_sn = entry.sn
                yield {
                    "type": "progress",
                    "data": {
                        "sn": entry.sn,
                        "dt": entry.dt,
                        "data": {
                            "type": "console",
                            "subject": entry.subject,
                            "payload": entry.payload,
                        },
                    },
                }
            if current.status in FINISHED:
                yield _final_report(current, executor, commit)
                return
            if self.stopping.is_set() or time.monotonic() >= deadline:
                return
            seen = self.changes.wait(seen, timeout=min(0.5, max(0.0, deadline - time.monotonic())))

    # metadata ---------------------------------------------------------------------------------
    def get_package(self, form: Form, user: str | None) -> dict[str, Any]:
        """``executor.getPackage``: an executor's metadata, one commit of it and its tags."""
        ident = (form.get("id") or "").strip()
        tag = (form.get("tag") or "").strip() or None
        secret = form.get("secret") or None
        with self.store.read() as tx:
            executor = tx.executor_by_id(ident) if ident else None
            if executor is None or not self.can_read(executor, user, secret):
                raise RpcError(REQUESTED_ENTITY_NOT_FOUND, f"Executor `{ident}` not found.")
            tags = tx.tags(executor.uuid)
            protected = tx.protected_tags(executor.uuid)
            if tag is not None:
                if tag not in tags:
                    raise RpcError(
                        REQUESTED_ENTITY_NOT_FOUND,
                        f"Executor {executor.name} has no built image with tag `{tag}`.",
                    )
                commit = tx.commit(tags[tag])
            elif "latest" in tags:
                commit = tx.commit(tags["latest"])
            else:
                commit = tx.latest_commit(executor.uuid, status=SUCCEEDED) or tx.latest_commit(
                    executor.uuid
                )
        data = executor_view(executor, None)
        data["tags"] = list(tags)
        data["protectedTags"] = protected
        data["createdAt"] = executor.created_at
        data["updatedAt"] = executor.updated_at
        if commit is not None:
            data["commit"] = {
                "_id": commit.id,
                "id": commit.id,
                "tags": [name for name, commit_id in tags.items() if commit_id == commit.id],
                "status": commit.status,
                "createdAt": commit.created_at,
                "commitParams": {"buildEnv": dict.fromkeys(commit.build_env_names)},
            }
            image = f"localhub/{executor.name.lower()}:{commit.id}"
            data["package"] = {
                "md5": commit.md5sum,
                "download": None,
                "containers": [image] if commit.status == SUCCEEDED else [],
            }
        return {"code": 200, "status": OK, "data": data}


def _line(kind: str, subject: str, payload: str) -> Line:
    return {"type": kind, "subject": subject, "payload": payload}


def _refuse_protected(protected: list[str], tags: tuple[str, ...], name: str) -> None:
    clash = [tag for tag in tags if tag in protected]
    if not clash:
        return
    if len(clash) == 1:
        text = (
            f"Tag `{clash[0]}` of executor {name} is protected and was already pushed; "
            "protected tags can never be pushed again."
        )
    else:
        listed = ", ".join(f"`{tag}`" for tag in clash)
        text = (
            f"Tags {listed} of executor {name} are protected and were already pushed; "
            "protected tags can never be pushed again."
        )
    raise RpcError(RESOURCE_CONFLICT, text)


def _report(task: Task) -> Line:
    return {"type": "report", "status": task.status, "task": {"_id": task.id}}


def _final_report(task: Task, executor: StoredExecutor, commit: Commit | None) -> Line:
    if task.status == SUCCEEDED:
        return {
            "type": "report",
            "status": "succeeded",
            "task": {"_id": task.id},
            "result": executor_view(executor, commit),
        }
    reason = task.reason or "The build failed."
    return {
        "type": "report",
        "status": "failed",
        "task": {"_id": task.id},
        "message": reason,
        "error": {"message": reason, "code": task.reason_code},
    }
