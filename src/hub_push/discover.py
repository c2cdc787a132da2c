"""`mode: discover`: the executor folders under a root, for a workflow's `strategy.matrix`.

An executor folder holds a `config.yml` whose top-level `jtype` is a non-empty string. The
walk never enters hidden folders (`.git`, `.venv`, …), `node_modules`, `__pycache__`,
`site-packages` or a virtual environment (a folder with `pyvenv.cfg` or `conda-meta`), never
follows a symlinked folder, and does not look inside an executor folder: everything below it
is packed with it, so it belongs to that executor.

With `changed_since`, only the executors with a file changed between that base and `HEAD`
(what `git diff --name-only` lists) are kept: a full commit sha (`github.event.before`,
`github.event.pull_request.base.sha`) is compared with `HEAD` directly (`<sha> HEAD`), any
other ref (`main`, `origin/main`, `v1.2.0`) from where the two histories meet (`<ref>...HEAD`);
a name is looked up as `refs/remotes/origin/<name>`, `refs/heads/<name>`, `refs/tags/<name>`,
`refs/remotes/<name>`, `refs/<name>`, then as it is (`refs/…`, `HEAD`), so an abbreviated sha
or a revision expression (`main~1`) is not in the history. The zero sha of
a new branch, or a base that is not in the history (a shallow clone), counts every executor
as changed (the latter with a warning). A deleted executor is not in the matrix (its folder is
gone), a renamed one is (its new folder has changed files).

The repository is read in-process with dulwich (pure Python): the action's image has no git
binary, and a checkout owned by another user than the container's is read like any other (no
`safe.directory`). The work is bounded instead of timed: the walk to where two histories meet
reads at most `MAX_COMMITS_WALKED` commits, and at most `MAX_CHANGED_PATHS` changed paths are
listed; past either, every executor counts as changed, with a warning.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from dulwich.diff_tree import tree_changes
from dulwich.errors import NotGitRepository
from dulwich.graph import find_merge_base
from dulwich.objects import Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.refs import Ref, check_ref_format
from dulwich.repo import ParentsProvider, Repo

from executor_rules import CONFIG, read_folder
from hub_push.errors import HubPushError, InputError

if TYPE_CHECKING:
    from dulwich.object_store import BaseObjectStore
    from dulwich.repo import BaseRepo

#: Folders the walk never enters (besides hidden ones and virtual environments).
SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "site-packages"})
#: A folder holding one of these is a virtual environment.
VENV_MARKERS = ("pyvenv.cfg", "conda-meta")
#: GitHub runs at most this many jobs from one matrix.
MAX_MATRIX_JOBS = 256
#: The walk to where a branch base's history meets HEAD's reads at most this many commits.
MAX_COMMITS_WALKED = 100_000
#: At most this many changed paths are listed (a rename counts twice).
MAX_CHANGED_PATHS = 100_000

_ZERO_SHA = re.compile(r"0{40}|0{64}")
_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
#: `HEAD`, `FETCH_HEAD`, `ORIG_HEAD`, …: refs named as they are.
_PSEUDO_REF = re.compile(r"(?:[A-Z][A-Z_]*_)?HEAD")
_MAX_TAG_DEPTH = 16


@dataclass(frozen=True)
class FoundExecutor:
    """An executor folder: `path` is POSIX and relative to the discovery's base folder."""

    path: str
    name: str

    def matrix_entry(self) -> dict[str, str]:
        return {"path": self.path, "name": self.name}


@dataclass(frozen=True)
class Discovery:
    """What `discover` found; `executors` is what goes into the matrix."""

    #: The executors to push, sorted by path: the changed ones, or all of them.
    executors: tuple[FoundExecutor, ...]
    #: Every executor folder under the root, sorted by path.
    found: tuple[FoundExecutor, ...]
    #: How `executors` was chosen, one line for the log (`3 of 7 executors changed since `abc…``).
    note: str
    #: Things the user should know (shown as warnings): skipped config files, a base not in
    #: the history, duplicate names, a matrix too large for one workflow.
    warnings: tuple[str, ...] = ()

    def matrix(self) -> dict[str, list[dict[str, str]]]:
        """`{"include": [{"path": …, "name": …}, …]}` for `strategy.matrix`."""
        return {"include": [executor.matrix_entry() for executor in self.executors]}

    def matrix_json(self) -> str:
        """The matrix as compact JSON (`{"include":[]}` when nothing is to be pushed)."""
        return json.dumps(self.matrix(), separators=(",", ":"), ensure_ascii=False)


def discover(
    root: Path,
    *,
    changed_since: str | None = None,
    relative_to: Path | None = None,
) -> Discovery:
    """The executor folders under `root`, only those changed since `changed_since` if given.

    Paths in the result are relative to `relative_to` (default: `root` itself; the action
    passes the workspace, so `path: ${{ matrix.path }}` works as is) and never outside it.
    `changed_since` empty or None means no filter. Raises `InputError` (`root` or
    `changed-since`) when the root is not a folder inside `relative_to`, or the repository
    cannot be read (no repository, no commit at HEAD, a format dulwich does not read).
    """
    top = root.resolve()
    if not top.is_dir():
        raise InputError("root", f"`{root}` is not a folder")
    base_folder = top if relative_to is None else relative_to.resolve()
    if not top.is_relative_to(base_folder):
        raise InputError("root", f"`{root}` is outside the workspace `{base_folder}`")

    warnings: list[str] = []
    folders = _executor_folders(top, base_folder, warnings)
    found = tuple(FoundExecutor(_relative(folder, base_folder), name) for folder, name in folders)

    base = (changed_since or "").strip()
    if not base:
        selected, note = found, f"all {_count(found)}: no base to compare with"
    elif _ZERO_SHA.fullmatch(base):
        selected = found
        note = f"all {_count(found)}: `{base[:12]}…` is the zero sha (a new branch or tag)"
    else:
        try:
            changed = _changed_paths(top, base)
        except _EveryExecutor as every:
            selected, note = found, f"all {_count(found)}: {every.note}"
            warnings.append(every.warning)
        else:
            touched = _touched_folders(changed)
            selected = tuple(
                executor
                for (folder, _), executor in zip(folders, found, strict=True)
                if _relative(folder, top) in touched
            )
            note = f"{len(selected)} of {_count(found)} changed since `{base}`"

    names: dict[str, list[str]] = {}
    for executor in selected:
        names.setdefault(executor.name, []).append(executor.path)
    for name, paths in names.items():
        if len(paths) > 1:
            warnings.append(
                f"the executors in {', '.join(f'`{p}`' for p in paths)} share the name "
                f"`{name}`: their pushes would update the same Hub executor"
            )
    if len(selected) > MAX_MATRIX_JOBS:
        warnings.append(
            f"{len(selected)} executors: a matrix runs at most {MAX_MATRIX_JOBS} jobs; "
            "split the root"
        )
    return Discovery(executors=selected, found=found, note=note, warnings=tuple(warnings))


def _count(found: Sequence[FoundExecutor]) -> str:
    return f"{len(found)} executor" + ("" if len(found) == 1 else "s")


def _relative(folder: Path, base: Path) -> str:
    return folder.relative_to(base).as_posix() or "."


def _touched_folders(changed: set[str]) -> set[str]:
    """Every folder (POSIX, "." for the root) holding one of the `changed` paths, and the
    paths themselves (a submodule's changes are one path: the submodule's folder)."""
    touched = {"."} if changed else set()
    for path in changed:
        parts = path.split("/")
        touched.update("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    return touched


# --- the walk ---------------------------------------------------------------------------


def _executor_folders(top: Path, base: Path, warnings: list[str]) -> list[tuple[Path, str]]:
    """(folder, name) of each executor folder under `top`, sorted by path."""
    found: list[tuple[Path, str]] = []
    stack = [top]
    while stack:
        folder = stack.pop()
        name = _executor_name(folder, top, base, warnings)
        if name is not None:
            found.append((folder, name))
            continue
        try:
            with os.scandir(folder) as entries:
                children = [
                    Path(entry.path)
                    for entry in entries
                    if entry.is_dir(follow_symlinks=False)
                    and not entry.name.startswith(".")
                    and entry.name not in SKIPPED_FOLDERS
                ]
        except OSError as exc:
            warnings.append(f"`{_relative(folder, base)}` cannot be read: {exc.strerror}")
            continue
        # Visited in order of name, so that warnings come in a stable order.
        stack.extend(sorted((c for c in children if not _is_venv(c)), reverse=True))
    return sorted(found, key=lambda item: _relative(item[0], base))


def _is_venv(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in VENV_MARKERS)


def _executor_name(folder: Path, top: Path, base: Path, warnings: list[str]) -> str | None:
    """The executor's name, as the push picks it (`metas.name`, then manifest.yml's `name`,
    then the folder's name) when `folder` is an executor folder, else None."""
    config = folder / CONFIG
    shown = _relative(config, base)
    if config.is_symlink():
        target = config.resolve()
        if not target.is_relative_to(top):
            warnings.append(f"`{shown}` is a symlink to outside the root: not an executor")
            return None
    if not config.is_file():
        return None
    facts = read_folder(folder)
    if facts.problem is not None and facts.problem.file == CONFIG:
        line = f" (line {facts.problem.line})" if facts.problem.line else ""
        warnings.append(f"`{shown}` {facts.problem.message}{line}: not an executor")
        return None
    return facts.name_or_folder() if facts.names_class else None


# --- git: read with dulwich (pure Python), never the git CLI ----------------------------------


class _EveryExecutor(Exception):
    """The comparison cannot be made: every executor counts as changed, with a warning."""

    def __init__(self, note: str, warning: str) -> None:
        super().__init__(note)
        self.note = note
        self.warning = warning


class _TooMuchHistory(Exception):
    """The merge-base walk read more than `MAX_COMMITS_WALKED` commits."""


def _changed_paths(top: Path, base: str) -> set[str]:
    """Paths (POSIX, relative to `top`, only those under it) changed between `base` and HEAD,
    like `git diff --name-only --no-renames --relative` (a rename is its old and new path, a
    deletion its old one). Raises `_EveryExecutor` when they cannot be listed, `InputError`
    when there is no repository to read."""
    worktree = next((p for p in (top, *top.parents) if (p / ".git").exists()), None)
    if worktree is None:
        raise InputError(
            "changed-since",
            f"`{top}` is not in a git repository; check out the repository first "
            "(actions/checkout) or leave `changed-since` empty",
        )
    try:
        repo = Repo(str(worktree))
        if not Path(repo.controldir()).is_dir():  # `.git` names a folder that is gone
            repo.close()
            raise NotGitRepository(f"no folder `{repo.controldir()}`")
    except HubPushError:
        raise  # a cancel (SIGTERM) is the run's
    except Exception as exc:  # NotGitRepository, UnsupportedExtension (a partial clone), OSError
        raise InputError(
            "changed-since", f"cannot read the git repository in `{worktree}`: {_why(exc)}"
        ) from None
    try:
        return _compare(repo, top.relative_to(worktree).parts, base)
    except (_EveryExecutor, HubPushError):
        raise  # InputError, or a cancel (SIGTERM)
    except Exception as exc:  # a corrupt object or pack: an error, never a traceback
        raise InputError(
            "changed-since", f"cannot read the git repository in `{worktree}`: {_why(exc)}"
        ) from None
    finally:
        repo.close()


def _compare(repo: Repo, prefix: tuple[str, ...], base: str) -> set[str]:
    store = repo.object_store
    try:
        head = _commit(store, repo.refs[Ref(b"HEAD")])
    except KeyError:
        head = None
    if head is None:
        raise InputError("changed-since", "the repository has no commit at HEAD")
    found = _resolve(repo, base)
    if found is None:
        raise _not_in_history(base, "it is not in the history")
    # A full sha: `<sha> HEAD`, the two trees; any other ref: `<ref>...HEAD`.
    full_sha = _FULL_SHA.fullmatch(base)
    olds = [found] if full_sha else _merge_bases(repo, found.id, head.id, base)
    try:
        new_tree = _subtree(store, head.tree, prefix)
        changed: set[str] = set()
        for old in olds:  # several merge bases (criss-cross merges): what changed since any
            changed |= _tree_paths(store, _subtree(store, old.tree, prefix), new_tree, base)
    except KeyError:  # an object the clone does not have
        raise _not_in_history(base, "part of the history is missing") from None
    return changed


def _resolve(repo: Repo, base: str) -> Commit | None:
    """The commit `base` names: a full sha, else the first ref that exists of
    `refs/remotes/origin/<base>`, `refs/heads/<base>`, `refs/tags/<base>`,
    `refs/remotes/<base>` (`origin/main`), `refs/<base>`, and `<base>` itself when it is a
    full ref (`refs/…`) or a pseudo-ref (`HEAD`, `FETCH_HEAD`, …); tags are peeled. None when
    there is no such commit."""
    store = repo.object_store
    try:
        if _FULL_SHA.fullmatch(base):
            sha = ObjectID(base.lower().encode("ascii"))
            # `in` first: a sha of the other length (SHA-256 in a SHA-1 repository) is absent.
            return _commit(store, sha) if sha in store else None
        for name in _ref_candidates(base):
            try:
                sha = repo.refs[Ref(name)]
            except KeyError:
                continue
            return _commit(store, sha)
    except KeyError:  # the ref names an object the clone does not have
        return None
    return None


def _ref_candidates(base: str) -> list[bytes]:
    """The full ref names `base` may stand for, each a valid ref name (never a path that
    leaves `.git`, nor an option)."""
    name = base.encode("utf-8", "surrogateescape")
    if name.startswith((b"/", b"-")) or b"//" in name:
        return []
    names = [
        b"refs/remotes/origin/" + name,
        b"refs/heads/" + name,
        b"refs/tags/" + name,
        b"refs/remotes/" + name,
        b"refs/" + name,
    ]
    if name.startswith(b"refs/"):
        names.insert(0, name)
    candidates = [n for n in names if check_ref_format(Ref(n))]
    if _PSEUDO_REF.fullmatch(base):
        candidates.append(name)
    return candidates


def _commit(store: BaseObjectStore, sha: ObjectID) -> Commit | None:
    """The commit `sha` names, peeling annotated tags; None when it names something else.
    Raises KeyError when an object is missing."""
    obj = store[sha]
    for _ in range(_MAX_TAG_DEPTH):
        if not isinstance(obj, Tag):
            break
        obj = store[obj.object[1]]
    return obj if isinstance(obj, Commit) else None


def _merge_bases(repo: Repo, base: ObjectID, head: ObjectID, shown: str) -> list[Commit]:
    """Where the histories of `base` and HEAD meet (`git merge-base`), walking at most
    `MAX_COMMITS_WALKED` commits."""
    walked = _WalkedRepo(repo, MAX_COMMITS_WALKED)
    try:
        found = find_merge_base(cast("BaseRepo", walked), [head, base])
    except _TooMuchHistory:
        raise _EveryExecutor(
            f"no common commit of `{shown}` and HEAD within {MAX_COMMITS_WALKED} commits",
            f"`changed-since` `{shown}`: no common commit with HEAD within the "
            f"{MAX_COMMITS_WALKED} most recent commits; every executor counts as changed. "
            "Compare with a closer base (a full commit sha compares two trees directly)",
        ) from None
    except KeyError:  # a parent the clone does not have
        raise _not_in_history(shown, "part of the history is missing") from None
    commits = [commit for sha in found if (commit := _commit(repo.object_store, sha))]
    if not commits:
        raise _not_in_history(shown, "it has no history in common with HEAD")
    return commits


class _CountingStore:
    """An object store that counts the objects read through it: past `limit`,
    `_TooMuchHistory`. Anything else is the store's own."""

    def __init__(self, store: BaseObjectStore, limit: int) -> None:
        self._store = store
        self._limit = limit
        self.reads = 0

    def __getitem__(self, sha: ObjectID) -> ShaFile:
        self.reads += 1
        if self.reads > self._limit:
            raise _TooMuchHistory
        return self._store[sha]

    def __contains__(self, sha: ObjectID) -> bool:
        return sha in self._store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


class _WalkedRepo:
    """The repository as `find_merge_base` sees it: it reads each commit it queues through
    `object_store` (counted, so the walk is bounded) and parents through
    `parents_provider()` (which knows a shallow clone's boundary). Anything else is the
    repository's own."""

    def __init__(self, repo: Repo, limit: int) -> None:
        self._repo = repo
        self.object_store = _CountingStore(repo.object_store, limit)

    def parents_provider(self) -> ParentsProvider:
        return self._repo.parents_provider()

    def __getattr__(self, name: str) -> object:
        return getattr(self._repo, name)


def _subtree(store: BaseObjectStore, tree: ObjectID, parts: tuple[str, ...]) -> ObjectID | None:
    """The tree at `parts` below `tree`; None when there is no folder there."""
    for part in parts:
        obj = store[tree]
        if not isinstance(obj, Tree):
            return None
        try:
            mode, tree = obj[os.fsencode(part)]
        except KeyError:
            return None
        if not stat.S_ISDIR(mode):
            return None
    return tree


def _tree_paths(
    store: BaseObjectStore, old: ObjectID | None, new: ObjectID | None, base: str
) -> set[str]:
    """Paths (relative to the two trees) that differ between them: added, deleted, changed;
    both paths of a rename. At most `MAX_CHANGED_PATHS`."""
    paths: set[str] = set()
    if old == new:
        return paths
    for change in tree_changes(store, old, new):
        for entry in (change.old, change.new):  # an absent side: None, or all-None (dulwich<1)
            if entry is not None and entry.path is not None:
                paths.add(os.fsdecode(entry.path))
        if len(paths) > MAX_CHANGED_PATHS:
            raise _EveryExecutor(
                f"more than {MAX_CHANGED_PATHS} files changed since `{base}`",
                f"`changed-since` `{base}`: more than {MAX_CHANGED_PATHS} files changed; "
                "every executor counts as changed",
            )
    return paths


def _not_in_history(base: str, why: str) -> _EveryExecutor:
    return _EveryExecutor(
        f"`{base}` is not in the history",
        f"`changed-since` `{base}`: {why}; every executor counts as changed. Fetch the history "
        "(actions/checkout with `fetch-depth: 0`) to push only the changed ones",
    )


def _why(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
