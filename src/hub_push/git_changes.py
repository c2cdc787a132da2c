"""Which files changed between a base and HEAD, read with dulwich (pure Python), never git.

The action's image has no git binary, and a checkout owned by another user than the
container's is read like any other (no `safe.directory`). A full commit sha is compared with
HEAD directly (`<sha> HEAD`), any other ref (`main`, `origin/main`, `v1.2.0`) from where the
two histories meet (`<ref>...HEAD`). The work is bounded instead of timed: the walk to where
two histories meet reads at most `MAX_COMMITS_WALKED` commits, and at most
`MAX_CHANGED_PATHS` changed paths are listed; past either, `EveryExecutor` says why.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, cast

from dulwich.diff_tree import tree_changes
from dulwich.errors import NotGitRepository
from dulwich.graph import find_merge_base
from dulwich.objects import Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.refs import Ref, check_ref_format
from dulwich.repo import ParentsProvider, Repo

from hub_push.errors import HubPushError, InputError

if TYPE_CHECKING:
    from dulwich.object_store import BaseObjectStore
    from dulwich.repo import BaseRepo

#: The walk to where a branch base's history meets HEAD's reads at most this many commits.
MAX_COMMITS_WALKED = 100_000
#: At most this many changed paths are listed (a rename counts twice).
MAX_CHANGED_PATHS = 100_000
_SHORT_SHA = re.compile(r"[0-9a-f]{7,39}")
_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
#: `HEAD`, `FETCH_HEAD`, `ORIG_HEAD`, …: refs named as they are.
_PSEUDO_REF = re.compile(r"(?:[A-Z][A-Z_]*_)?HEAD")
_MAX_TAG_DEPTH = 16


# --- git: read with dulwich (pure Python), never the git CLI ----------------------------------


class EveryExecutor(Exception):
    """The comparison cannot be made: every executor counts as changed, with a warning."""

    def __init__(self, note: str, warning: str) -> None:
        super().__init__(note)
        self.note = note
        self.warning = warning


class _TooMuchHistory(Exception):
    """The merge-base walk read more than `MAX_COMMITS_WALKED` commits."""


def changed_paths(top: Path, base: str) -> set[str]:
    """Paths (POSIX, relative to `top`, only those under it) changed between `base` and HEAD,
    like `git diff --name-only --no-renames --relative` (a rename is its old and new path, a
    deletion its old one). Raises `EveryExecutor` when they cannot be listed, `InputError`
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
    except (EveryExecutor, HubPushError):
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
        if _SHORT_SHA.fullmatch(base):
            raise EveryExecutor(
                f"`{base}` is an abbreviated commit SHA",
                f"`changed-since` `{base}` looks like an abbreviated commit SHA, which is not "
                "looked up: every executor counts as changed. Pass the full 40-character SHA "
                "(`github.event.before` is one)",
            )
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
        raise EveryExecutor(
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
            raise EveryExecutor(
                f"more than {MAX_CHANGED_PATHS} files changed since `{base}`",
                f"`changed-since` `{base}`: more than {MAX_CHANGED_PATHS} files changed; "
                "every executor counts as changed",
            )
    return paths


def _not_in_history(base: str, why: str) -> EveryExecutor:
    return EveryExecutor(
        f"`{base}` is not in the history",
        f"`changed-since` `{base}`: {why}; every executor counts as changed. Fetch the history "
        "(actions/checkout with `fetch-depth: 0`) to push only the changed ones",
    )


def _why(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
