"""Typed values that cross the wire: what we send, and what the Hub's NDJSON lines mean."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from hub_push.grammar import HUB_NAMES, Visibility

BuildStatus = Literal["pending", "waiting", "succeeded", "failed"]


def checked(kind: str, value: object, rejected: list[str]) -> str:
    """`value` if it is a string in the Hub's grammar for `kind`; else "" (noted in
    `rejected` when something was sent). The kinds are `grammar.HUB_NAMES`'."""
    if isinstance(value, str) and HUB_NAMES[kind].fullmatch(value):
        return value
    if value not in (None, ""):
        rejected.append(kind)
    return ""


@dataclass(frozen=True)
class User:
    """Who a login token belongs to (`user.identity.whoami`)."""

    name: str


@dataclass(frozen=True)
class PushRequest:
    """One `executor.push` / `executor.update` call, before the archive is attached.

    `id` is the executor's name (push) or its name/UUID8 (update, with `secret`).
    `visibility` None sends neither flag: the Hub makes a new executor public and leaves an
    existing one as it is.
    """

    id: str
    md5sum: str
    visibility: Visibility | None = None
    secret: str | None = None
    tags: tuple[str, ...] = ()
    protected_tags: tuple[str, ...] = ()
    build_env: dict[str, str] = field(default_factory=dict)
    dockerfile: str = ""
    platform: str = ""
    verbose: bool = False
    no_cache: bool = False

    @property
    def method(self) -> str:
        return "executor.update" if self.secret else "executor.push"

    def form_fields(self) -> list[tuple[str, str]]:
        """The text parts in the official client's order (the archive, `file`, goes last)."""
        fields = [
            ("public", str(self.visibility == "public")),
            ("private", str(self.visibility == "private")),
            ("md5sum", self.md5sum),
        ]
        if self.verbose:
            fields.append(("verbose", "True"))
        if self.no_cache:
            fields.append(("buildWithNoCache", "True"))
        if self.tags:
            fields.append(("tags", ",".join(self.tags)))
        if self.protected_tags:
            fields.append(("immutableTags", ",".join(self.protected_tags)))
        if self.dockerfile:
            fields.append(("dockerfile", self.dockerfile))
        if self.build_env:
            fields.append(("buildEnv", json.dumps(self.build_env)))
        if self.platform:
            fields.append(("platform", self.platform))
        fields.append(("id", self.id))
        if self.secret:
            fields.append(("secret", self.secret))
        return fields


@dataclass(frozen=True)
class ExecutorResult:
    """The executor as the Hub reports it after a push (`complete.payload`) or a build."""

    id: str
    name: str
    visibility: str
    owner: str = ""
    tags: tuple[str, ...] = ()
    secret: str = ""
    commit_id: str = ""
    #: What the Hub sent outside its own grammar (and so was left out), by kind.
    rejected: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, payload: dict[str, Any]) -> ExecutorResult:
        """The executor from a wire object; every name and id checked against the grammar.

        A returned SECRET is kept whatever it looks like: it exists once and must not be lost.
        """
        rejected: list[str] = []
        owner = payload.get("owner")
        raw_commit = payload.get("commit")
        commit: dict[str, Any] = raw_commit if isinstance(raw_commit, dict) else {}
        tags = commit.get("tags")
        secret = payload.get("secret")
        return cls(
            id=checked("executor id", payload.get("id"), rejected),
            name=checked("executor name", payload.get("name"), rejected),
            visibility=checked("visibility", payload.get("visibility"), rejected),
            owner=checked("owner", owner.get("name"), rejected) if isinstance(owner, dict) else "",
            tags=tuple(tag for tag in (checked("tag", t, rejected) for t in tags) if tag)
            if isinstance(tags, list)
            else (),
            secret=secret.strip() if isinstance(secret, str) else "",
            commit_id=checked("commit id", commit.get("_id"), rejected),
            rejected=tuple(dict.fromkeys(rejected)),
        )


@dataclass(frozen=True)
class PushEvent:
    """One line of the push stream (`executor.push` / `executor.update`), as typed fields.

    `kind` is the line's type (`progress`, `console`, `warning`, `error`, `complete`, …),
    `subject` what it is about, `text` its readable message. `secret` is the executor's
    SECRET when the line returns one (a first publish without a login), else "".
    """

    kind: str
    subject: str
    text: str
    secret: str = ""


@dataclass(frozen=True)
class ProgressEvent:
    """What one line of a build's status stream (`executor.queryProgress`) told us."""

    status: BuildStatus
    log: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExistingTag:
    """A tag already on the Hub: the executor, the md5 of the archive the tag holds ("" when
    the Hub does not say), and the build-env names it was built with (None: not reported)."""

    executor: ExecutorResult
    md5: str
    build_env: tuple[str, ...] | None = None


@dataclass(frozen=True)
class HubExecutor:
    """An executor the Hub has: who owns it, its tags, and which of them are protected."""

    executor: ExecutorResult
    tags: tuple[str, ...] = ()
    protected_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PushResult:
    """A push the Hub accepted."""

    executor: ExecutorResult
    task_id: str = ""
    warnings: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class BuildResult:
    """Where following a build task ended."""

    task_id: str
    status: BuildStatus
    message: str = ""
    executor: ExecutorResult | None = None
    log: tuple[str, ...] = ()
