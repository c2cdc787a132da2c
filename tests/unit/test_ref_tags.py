"""`tags: auto`: the tags derived from the git ref, ref by ref (docs/release-pipelines.md)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub_push.grammar import TAG
from hub_push.ref_tags import (
    RefTags,
    RefTagsError,
    derive_tags,
    sanitize_tag,
    split_auto,
)

LONG_BRANCH = "feature/" + "x" * 200

# (id, ref, options, tags, protected): every tag of the push in order, and the protected ones.
ROWS: list[tuple[str, str, dict[str, Any], tuple[str, ...], tuple[str, ...]]] = [
    # Releases: the `v` goes, the short versions and `latest` come.
    ("release", "refs/tags/v1.2.3", {}, ("1.2.3", "1.2", "1", "latest"), ()),
    ("release-no-v", "refs/tags/1.2.3", {}, ("1.2.3", "1.2", "1", "latest"), ()),
    ("release-two-digits", "refs/tags/v10.20.30", {}, ("10.20.30", "10.20", "10", "latest"), ()),
    (
        "release-protected",
        "refs/tags/v1.2.3",
        {"protect_version": True},
        ("1.2.3", "1.2", "1", "latest"),
        ("1.2.3",),
    ),
    # Major version zero: no `0`.
    ("zero-major", "refs/tags/v0.4.1", {}, ("0.4.1", "0.4", "latest"), ()),
    (
        "zero-zero",
        "refs/tags/v0.0.1",
        {"protect_version": True},
        ("0.0.1", "0.0", "latest"),
        ("0.0.1",),
    ),
    # Pre-releases: only the full version.
    ("pre-release", "refs/tags/v2.0.0-rc.1", {}, ("2.0.0-rc.1",), ()),
    (
        "pre-release-protected",
        "refs/tags/v2.0.0-rc.1",
        {"protect_version": True},
        ("2.0.0-rc.1",),
        ("2.0.0-rc.1",),
    ),
    ("pre-release-hyphens", "refs/tags/v1.0.0-alpha-2.x-y", {}, ("1.0.0-alpha-2.x-y",), ()),
    ("pre-release-zero", "refs/tags/v0.1.0-beta", {}, ("0.1.0-beta",), ()),
    # Build metadata: dropped (the Hub's tags hold no `+`).
    ("build-metadata", "refs/tags/v1.2.3+build.5", {}, ("1.2.3", "1.2", "1", "latest"), ()),
    (
        "build-metadata-protected",
        "refs/tags/v1.2.3+build.5",
        {"protect_version": True},
        ("1.2.3", "1.2", "1", "latest"),
        ("1.2.3",),
    ),
    ("pre-release-build", "refs/tags/v2.0.0-rc.1+sha.abc", {}, ("2.0.0-rc.1",), ()),
    # Tags that are not semver: themselves, as valid Hub tags; never protected.
    ("nightly", "refs/tags/nightly", {"protect_version": True}, ("nightly",), ()),
    ("two-part-version", "refs/tags/v1.2", {}, ("v1.2",), ()),
    ("four-part-version", "refs/tags/v1.2.3.4", {}, ("v1.2.3.4",), ()),
    ("leading-zero", "refs/tags/v01.2.3", {}, ("v01.2.3",), ()),
    ("capital-v", "refs/tags/V1.2.3", {}, ("V1.2.3",), ()),
    ("tag-with-slash", "refs/tags/release/2024-01", {}, ("release-2024-01",), ()),
    ("tag-with-plus", "refs/tags/build+5", {}, ("build-5",), ()),
    ("tag-named-latest", "refs/tags/latest", {}, ("latest",), ()),
    # Branches: the name as a Hub tag.
    ("branch", "refs/heads/main", {}, ("main",), ()),
    ("branch-protect-nothing", "refs/heads/main", {"protect_version": True}, ("main",), ()),
    ("branch-slash", "refs/heads/feat/x", {}, ("feat-x",), ()),
    ("branch-deep", "refs/heads/user/jo/fix/login", {}, ("user-jo-fix-login",), ()),
    ("branch-odd-characters", "refs/heads/feat/ä+b#1!", {}, ("feat-b-1",), ()),
    ("branch-leading-dash", "refs/heads/-x/_y", {}, ("x-_y",), ()),
    ("branch-underscore", "refs/heads/_wip", {}, ("_wip",), ()),
    ("branch-keeps-case", "refs/heads/Feat/ABC", {}, ("Feat-ABC",), ()),
    ("branch-long", f"refs/heads/{LONG_BRANCH}", {}, ("feature-" + "x" * 120,), ()),
    ("branch-looks-like-version", "refs/heads/v1.2.3", {}, ("v1.2.3",), ()),
    (
        "branch-ignores-prefix",
        "refs/heads/feat/x",
        {"tag_prefix": "my-executor/"},
        ("feat-x",),
        (),
    ),
    # Pull requests.
    ("pull-request", "refs/pull/42/merge", {}, ("pr-42",), ()),
    ("pull-request-head", "refs/pull/7/head", {"protect_version": True}, ("pr-7",), ()),
    # Explicit tags: after the derived ones, in order, duplicates dropped, `auto` ignored.
    (
        "explicit",
        "refs/tags/v1.2.3",
        {"explicit": ["stable", "latest", "1.2", "edge", "stable"]},
        ("1.2.3", "1.2", "1", "latest", "stable", "edge"),
        (),
    ),
    (
        "explicit-with-auto-word",
        "refs/heads/main",
        {"explicit": ["auto", "edge"]},
        ("main", "edge"),
        (),
    ),
    (
        "explicit-protected-version",
        "refs/tags/v1.2.3",
        {"explicit": ["1.2.3", "prod"], "protect_version": True},
        ("1.2.3", "1.2", "1", "latest", "prod"),
        ("1.2.3",),
    ),
    (
        "explicit-pre-release",
        "refs/tags/v2.0.0-rc.1",
        {"explicit": ["rc"]},
        ("2.0.0-rc.1", "rc"),
        (),
    ),
    # Monorepo: a prefix or a pattern selects the executor, and is stripped.
    (
        "prefix-slash",
        "refs/tags/my-executor/v1.2.3",
        {"tag_prefix": "my-executor/", "protect_version": True},
        ("1.2.3", "1.2", "1", "latest"),
        ("1.2.3",),
    ),
    (
        "prefix-dash",
        "refs/tags/my-executor-v1.2.3",
        {"tag_prefix": "my-executor-"},
        ("1.2.3", "1.2", "1", "latest"),
        (),
    ),
    (
        "pattern",
        "refs/tags/my-executor-v1.2.3",
        {"tag_prefix": "my-executor-v*"},
        ("1.2.3", "1.2", "1", "latest"),
        (),
    ),
    (
        "pattern-suffix",
        "refs/tags/v2.0.0-rc.1@my-executor",
        {"tag_prefix": "*@my-executor"},
        ("2.0.0-rc.1",),
        (),
    ),
    (
        "prefix-pre-release",
        "refs/tags/my-executor/v2.0.0-rc.1",
        {"tag_prefix": " my-executor/ "},
        ("2.0.0-rc.1",),
        (),
    ),
    (
        "prefix-non-version",
        "refs/tags/my-executor/nightly",
        {"tag_prefix": "my-executor/", "protect_version": True},
        ("nightly",),
        (),
    ),
    (
        "prefix-nested-name",
        "refs/tags/my-executor/feat/x",
        {"tag_prefix": "my-executor/"},
        ("feat-x",),
        (),
    ),
    # The documented caveat of `-` as the separator: another executor's tag matches.
    (
        "prefix-dash-caveat",
        "refs/tags/my-executor-2-v1.0.0",
        {"tag_prefix": "my-executor-"},
        ("2-v1.0.0",),
        (),
    ),
    ("no-prefix-monorepo-tag", "refs/tags/my-executor/v1.2.3", {}, ("my-executor-v1.2.3",), ()),
    (
        "star-prefix-is-no-prefix",
        "refs/tags/v1.2.3",
        {"tag_prefix": "*"},
        ("1.2.3", "1.2", "1", "latest"),
        (),
    ),
]


@pytest.mark.parametrize(
    ("ref", "options", "tags", "protected"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_tags_from_the_ref(
    ref: str, options: dict[str, Any], tags: tuple[str, ...], protected: tuple[str, ...]
) -> None:
    result = derive_tags(ref, **options)
    assert result.tags == tags
    assert result.protected == protected
    assert not result.skipped
    assert set(result.protected) <= set(result.tags)
    assert all(TAG.matches(tag) for tag in result.tags)


@pytest.mark.parametrize(
    ("ref", "kind", "version"),
    [
        ("refs/tags/v1.2.3", "release", "1.2.3"),
        ("refs/tags/v1.2.3+build.5", "release", "1.2.3"),
        ("refs/tags/v2.0.0-rc.1", "pre-release", "2.0.0-rc.1"),
        ("refs/tags/nightly", "tag", None),
        ("refs/heads/main", "branch", None),
        ("refs/pull/42/merge", "pull-request", None),
    ],
)
def test_the_kind_of_ref_and_its_version(ref: str, kind: str, version: str | None) -> None:
    result = derive_tags(ref)
    assert (result.kind, result.version) == (kind, version)


def test_protected_version_moves_the_other_tags() -> None:
    result = derive_tags("refs/tags/v3.1.4", protect_version=True)
    assert result.protected == ("3.1.4",)
    assert result.moving == ("3.1", "3", "latest")


# (id, ref, tag_prefix, words the reason must hold)
SKIPS = [
    ("other-executor", "refs/tags/other/v1.2.3", "my-executor/", ["other/v1.2.3", "my-executor/"]),
    ("plain-release-in-monorepo", "refs/tags/v1.2.3", "my-executor/", ["v1.2.3"]),
    ("pattern-other", "refs/tags/other-v1.2.3", "my-executor-v*", ["other-v1.2.3"]),
    ("pattern-suffix-other", "refs/tags/v1.2.3@other", "*@my-executor", ["v1.2.3@other"]),
    # A prefix that is a prefix of another executor's name: not ours, and a hint.
    ("longer-name", "refs/tags/my-executor-2/v1.0.0", "my-executor", ["`-`", "separator"]),
    ("missing-separator", "refs/tags/my-executor/v1.0.0", "my-executor", ["`/`", "my-executor/"]),
    ("same-start", "refs/tags/my-exec/v1.0.0", "my-executor/", ["my-exec/v1.0.0"]),
]


@pytest.mark.parametrize(
    ("ref", "tag_prefix", "words"), [row[1:] for row in SKIPS], ids=[row[0] for row in SKIPS]
)
def test_a_tag_for_another_executor_is_a_clean_skip(
    ref: str, tag_prefix: str, words: list[str]
) -> None:
    result = derive_tags(ref, tag_prefix=tag_prefix, explicit=["stable"], protect_version=True)
    assert result.skipped
    assert (result.tags, result.protected, result.version) == ((), (), None)
    assert result.kind == "skipped"
    assert result.skipped_reason is not None
    assert "another executor" in result.skipped_reason
    for word in words:
        assert word in result.skipped_reason


# (id, ref, options, input named, words the message must hold)
ERRORS: list[tuple[str, str, dict[str, Any], str, list[str]]] = [
    ("empty", "", {}, "tags", ["GITHUB_REF", "empty"]),
    ("blank", "   ", {}, "tags", ["GITHUB_REF", "empty"]),
    ("short-name", "v1.2.3", {}, "tags", ["`v1.2.3`", "full git ref"]),
    ("branch-name-only", "main", {}, "tags", ["`main`", "refs/heads/main"]),
    ("remote", "refs/remotes/origin/main", {}, "tags", ["refs/remotes/origin/main", "branch"]),
    ("notes", "refs/notes/commits", {}, "tags", ["refs/notes/commits"]),
    ("bare-refs-heads", "refs/heads", {}, "tags", ["`refs/heads`"]),
    ("empty-branch", "refs/heads/", {}, "tags", ["refs/heads/", "`/`"]),
    ("double-dot", "refs/heads/a..b", {}, "tags", ["refs/heads/a..b", "`..`"]),
    ("space", "refs/tags/v1 2", {}, "tags", ["refs/tags/v1 2", "spaces"]),
    ("colon", "refs/heads/a:b", {}, "tags", ["refs/heads/a:b"]),
    ("lock", "refs/heads/x.lock", {}, "tags", ["refs/heads/x.lock", ".lock"]),
    ("hidden-part", "refs/heads/a/.b", {}, "tags", ["refs/heads/a/.b"]),
    ("double-slash", "refs/heads/a//b", {}, "tags", ["refs/heads/a//b", "empty part"]),
    ("reflog", "refs/heads/a@{1}", {}, "tags", ["`@{`"]),
    ("pull-no-number", "refs/pull/abc/merge", {}, "tags", ["refs/pull/abc/merge", "pull request"]),
    ("pull-short", "refs/pull/42", {}, "tags", ["refs/pull/42"]),
    ("pull-zero", "refs/pull/0/merge", {}, "tags", ["refs/pull/0/merge"]),
    ("branch-nothing-usable", "refs/heads/日本", {}, "tags", ["日本", "list the tags"]),
    ("tag-nothing-usable", "refs/tags/---", {}, "tags", ["`---`"]),
    (
        "version-too-long",
        "refs/tags/v1.0.0-" + "a" * 130,
        {},
        "tags",
        ["longer than a Hub tag"],
    ),
    ("bad-explicit", "refs/heads/main", {"explicit": ["-x"]}, "tags", ["`-x`"]),
    (
        "prefix-two-stars",
        "refs/tags/v1",
        {"tag_prefix": "a*b*"},
        "tag-prefix",
        ["`a*b*`", "one `*`"],
    ),
    (
        "prefix-space",
        "refs/tags/v1",
        {"tag_prefix": "my executor/"},
        "tag-prefix",
        ["`my executor/`"],
    ),
    ("prefix-dots", "refs/tags/v1", {"tag_prefix": "a..b/"}, "tag-prefix", ["`a..b/`"]),
]


@pytest.mark.parametrize(
    ("ref", "options", "input_name", "words"),
    [row[1:] for row in ERRORS],
    ids=[row[0] for row in ERRORS],
)
def test_an_invalid_ref_is_a_clear_error(
    ref: str, options: dict[str, Any], input_name: str, words: list[str]
) -> None:
    with pytest.raises(RefTagsError) as raised:
        derive_tags(ref, **options)
    assert isinstance(raised.value, ValueError)
    assert raised.value.input_name == input_name
    message = str(raised.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_errors_read_well_after_the_input_name() -> None:
    with pytest.raises(RefTagsError) as raised:
        derive_tags("refs/notes/x")
    shown = f"Input `{raised.value.input_name}`: {raised.value}"
    assert re.fullmatch(r"Input `tags`: `auto` derives tags from .* is none of these", shown)


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("feat/x", "feat-x"),
        ("..a..", "a"),
        ("a//b", "a-b"),
        ("x" * 127 + "/y", "x" * 127),
        ("ñ", ""),
        ("A_b.C-d", "A_b.C-d"),
    ],
)
def test_sanitize_tag(name: str, tag: str) -> None:
    assert sanitize_tag(name) == tag
    assert tag == "" or TAG.matches(tag)


def test_split_auto() -> None:
    assert split_auto(["auto", "stable", "auto"]) == (True, ("stable",))
    assert split_auto(["stable", "Auto"]) == (False, ("stable", "Auto"))
    assert split_auto([]) == (False, ())


def test_ref_tags_is_frozen() -> None:
    result = RefTags(tags=("a",))
    with pytest.raises(AttributeError):
        result.tags = ("b",)  # type: ignore[misc]
    assert result.moving == ("a",)
    assert not result.skipped
