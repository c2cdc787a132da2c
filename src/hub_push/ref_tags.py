"""`tags: auto`: the tags of a push, derived from the git ref of the run (`GITHUB_REF`).

The rules are those of docker/metadata-action's `type=semver` and `type=ref` (pure functions,
no I/O; `docs/release-pipelines.md` has them as a table):

- a release tag `refs/tags/v1.2.3` → `1.2.3`, `1.2`, `1`, `latest`. The `v` is dropped, as
  metadata-action's `{{version}}` drops it; `1.2.3` (no `v`) gives the same tags;
- major version zero `v0.4.1` → `0.4.1`, `0.4`, `latest`: no `0` (semver: 0.y.z is not stable,
  and metadata-action's documentation advises to disable the major tag for it);
- a pre-release `v2.0.0-rc.1` → only `2.0.0-rc.1` (never `latest` or the short ones);
- build metadata is dropped (`v1.2.3+build.5` → the tags of `1.2.3`): the Hub's tags cannot
  hold `+`, semver says build metadata does not make another version, and metadata-action's
  `{{version}}` drops it too;
- any other tag (`nightly`, `v1.2`, `release/2024`) → itself, made a valid Hub tag;
- a branch `refs/heads/feat/x` → `feat-x` (made a valid Hub tag, at most 128 characters);
- a pull request `refs/pull/42/merge` (or `/head`) → `pr-42`.

`protect_version` makes the exact version tag (`1.2.3`, `2.0.0-rc.1`) protected, pushed once
ever; `latest`, `1.2` and `1` keep moving. A branch, a pull request or a non-version tag has no
version, so nothing is protected then.

Monorepo: `tag_prefix` selects the tags that release this executor and is stripped before the
rules apply: a literal prefix (`my-executor/` for `my-executor/v1.2.3`) or a pattern with one
`*` standing for the rest (`my-executor-v*` for `my-executor-v1.2.3`). A tag that does not
match is not an error: the result is `skipped`, with the reason. Branches and pull requests
are not filtered by the prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from hub_push.grammar import MAX_TAG_LENGTH, TAG

#: The word in the `tags` input that asks for the tags of the git ref.
AUTO = "auto"
LATEST = "latest"

# semver.org's regular expression, with an optional leading `v`; ASCII digits only.
_NUMBER = r"0|[1-9][0-9]*"
_PRE_ID = r"0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*"
SEMVER = re.compile(
    rf"v?(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?",
    re.ASCII,
)

_NOT_IN_TAG = re.compile(r"[^A-Za-z0-9_.-]+", re.ASCII)
# What git never allows in a ref name (git check-ref-format), besides the rules per component.
_NOT_IN_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_PULL = re.compile(r"refs/pull/([1-9][0-9]*)/(?:merge|head)", re.ASCII)

RefKind = Literal["release", "pre-release", "tag", "branch", "pull-request", "skipped"]


class RefTagsError(ValueError):
    """The ref (or `tag_prefix`) cannot give tags; `str(error)` reads well after
    "Input `tags`: " (or "Input `tag-prefix`: "), and `input_name` says which."""

    def __init__(self, message: str, *, input_name: str = "tags") -> None:
        super().__init__(message)
        self.input_name = input_name


@dataclass(frozen=True)
class RefTags:
    """The tags of one push, from the ref and the explicit tags.

    `tags` is every tag of the push in order (the derived ones first, so the first tag, the
    one the usage string names, is the most precise); `protected` is the part of `tags` to be
    pushed as protected. A skipped result has no tags and says why in `skipped_reason`.
    """

    tags: tuple[str, ...]
    protected: tuple[str, ...] = ()
    #: The exact version tag (`1.2.3`, `2.0.0-rc.1`) when the ref is a semver tag.
    version: str | None = None
    kind: RefKind = "tag"
    skipped_reason: str | None = None

    @property
    def skipped(self) -> bool:
        """The ref does not release this executor: push nothing (not an error)."""
        return self.skipped_reason is not None

    @property
    def moving(self) -> tuple[str, ...]:
        """The tags that are not protected (they move to every new push)."""
        return tuple(tag for tag in self.tags if tag not in self.protected)


def split_auto(items: Iterable[str]) -> tuple[bool, tuple[str, ...]]:
    """(whether `auto` is among the items, the other items): the `tags` input, split."""
    listed = tuple(items)
    rest = tuple(item for item in listed if item != AUTO)
    return len(rest) != len(listed), rest


def sanitize_tag(name: str) -> str:
    """`name` as a Hub tag: each run of other characters becomes `-`, `.` and `-` are taken
    off both ends, and the result is cut to 128 characters. May be empty (nothing usable)."""
    tag = _NOT_IN_TAG.sub("-", name).strip(".-")
    return tag[:MAX_TAG_LENGTH].rstrip(".-")


def derive_tags(
    ref: str,
    *,
    explicit: Sequence[str] = (),
    tag_prefix: str = "",
    protect_version: bool = False,
) -> RefTags:
    """The tags of a push from the git `ref` (`GITHUB_REF`), plus the `explicit` tags.

    The derived tags come first, then the explicit ones in their order; duplicates are
    dropped (the first one stays) and an `auto` among the explicit tags is ignored. Raises
    `RefTagsError` for a ref that gives no tags (empty, not a full ref, not a branch, tag or
    pull request, a branch with nothing a tag can hold) or a bad `tag_prefix`.
    """
    pattern = _prefix_pattern(tag_prefix)
    ref = ref.strip()
    _check_ref(ref)
    if ref.startswith("refs/heads/"):
        return _with_explicit(_branch(ref), explicit)
    if ref.startswith("refs/pull/"):
        found = _PULL.fullmatch(ref)
        if not found:
            raise RefTagsError(
                f"the git ref `{ref}` (GITHUB_REF) is not a pull request ref "
                "like `refs/pull/42/merge`"
            )
        return _with_explicit(RefTags(tags=(f"pr-{found[1]}",), kind="pull-request"), explicit)
    if ref.startswith("refs/tags/"):
        name = ref.removeprefix("refs/tags/")
        if pattern is not None:
            matched = pattern.fullmatch(name)
            if not matched:
                return RefTags(
                    tags=(),
                    kind="skipped",
                    skipped_reason=(
                        f"the tag `{name}` does not match `tag-prefix` `{tag_prefix.strip()}`: "
                        "it releases another executor"
                    ),
                )
            name = matched["rest"]
            if not (name[0].isascii() and (name[0].isalnum() or name[0] == "_")):
                return RefTags(
                    tags=(),
                    kind="skipped",
                    skipped_reason=(
                        f"the tag `{matched[0]}` goes on with `{name[0]}` after `tag-prefix` "
                        f"`{tag_prefix.strip()}`: it releases another executor (if it is for "
                        "this one, end `tag-prefix` with the separator, such as `my-executor/`)"
                    ),
                )
        return _with_explicit(_tag(name, ref, protect_version=protect_version), explicit)
    raise RefTagsError(
        f"`auto` derives tags from a branch (`refs/heads/…`), a tag (`refs/tags/…`) or a pull "
        f"request (`refs/pull/N/merge`); the git ref `{ref}` (GITHUB_REF) is none of these"
    )


def _prefix_pattern(tag_prefix: str) -> re.Pattern[str] | None:
    """`tag_prefix` as a pattern with the group `rest`; None when there is no prefix."""
    prefix = tag_prefix.strip()
    if not prefix:
        return None
    if _NOT_IN_REF.search(prefix.replace("*", "")) or ".." in prefix:
        raise RefTagsError(
            f"`{prefix}` cannot be part of a git tag name (no spaces, `..`, `~`, `^`, `:`, "
            "`?`, `[` or `\\`)",
            input_name="tag-prefix",
        )
    if prefix.count("*") > 1:
        raise RefTagsError(
            f"`{prefix}` has more than one `*`; write one `*` where the version goes, "
            "such as `my-executor-v*`, or a plain prefix such as `my-executor/`",
            input_name="tag-prefix",
        )
    if "*" not in prefix:
        prefix += "*"
    before, after = prefix.split("*")
    return re.compile(re.escape(before) + "(?P<rest>.+)" + re.escape(after), re.DOTALL)


def _check_ref(ref: str) -> None:
    """A full git ref name by git's rules (`git check-ref-format`), or a `RefTagsError`."""
    if not ref:
        raise RefTagsError(
            "`auto` derives tags from the git ref of the run (GITHUB_REF), and it is empty; "
            "outside GitHub Actions set GITHUB_REF, such as `refs/tags/v1.2.3`"
        )
    if not ref.startswith("refs/"):
        raise RefTagsError(
            f"`{ref}` is not a full git ref (GITHUB_REF looks like `refs/tags/v1.2.3`, "
            "`refs/heads/main` or `refs/pull/42/merge`)"
        )
    problem = ""
    if _NOT_IN_REF.search(ref):
        problem = "spaces, control characters, `~`, `^`, `:`, `?`, `*`, `[` or `\\`"
    elif ".." in ref or "@{" in ref:
        problem = "`..` or `@{`"
    elif ref.endswith(("/", ".")):
        problem = "a `/` or `.` at its end"
    elif any(
        not part or part.startswith(".") or part.endswith(".lock") for part in ref[5:].split("/")
    ):
        problem = "an empty part, a part starting with `.` or ending with `.lock`"
    if problem:
        raise RefTagsError(f"the git ref `{ref}` (GITHUB_REF) is not valid: it has {problem}")


def _sanitized(what: Literal["branch", "tag"], name: str, ref: str) -> RefTags:
    """The one tag a branch, or a tag that is not a version, gives: its name, sanitized."""
    tag = sanitize_tag(name)
    if not tag:
        raise RefTagsError(
            f"the {what} `{name}` (GITHUB_REF `{ref}`) has no letters or digits a Hub tag can "
            "hold; list the tags instead of `auto`"
        )
    return RefTags(tags=(tag,), kind=what)


def _branch(ref: str) -> RefTags:
    return _sanitized("branch", ref.removeprefix("refs/heads/"), ref)


def _tag(name: str, ref: str, *, protect_version: bool) -> RefTags:
    version = SEMVER.fullmatch(name)
    if version is None:
        return _sanitized("tag", name, ref)
    major, minor, patch, pre = version["major"], version["minor"], version["patch"], version["pre"]
    exact = f"{major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
    if len(exact) > MAX_TAG_LENGTH:
        raise RefTagsError(
            f"the version `{exact}` (GITHUB_REF `{ref}`) is longer than a Hub tag "
            f"({MAX_TAG_LENGTH} characters)"
        )
    protected = (exact,) if protect_version else ()
    if pre:
        return RefTags(tags=(exact,), protected=protected, version=exact, kind="pre-release")
    tags = [exact, f"{major}.{minor}"]
    if major != "0":
        tags.append(major)
    tags.append(LATEST)
    return RefTags(tags=tuple(tags), protected=protected, version=exact, kind="release")


def _with_explicit(derived: RefTags, explicit: Sequence[str]) -> RefTags:
    for tag in explicit:
        if tag != AUTO and not TAG.matches(tag):
            raise RefTagsError(f"`{tag}` {TAG.message}")
    tags = tuple(dict.fromkeys([*derived.tags, *(t for t in explicit if t != AUTO)]))
    return RefTags(
        tags=tags,
        protected=derived.protected,
        version=derived.version,
        kind=derived.kind,
        skipped_reason=derived.skipped_reason,
    )
