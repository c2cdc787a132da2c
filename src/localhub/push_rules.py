"""The Hub's rules on what a push may carry: names, tags, visibility and build-env.

Pure functions over form values; each refusal is a :class:`RpcError` whose readable message
says what is wrong and how to fix it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from localhub.errors import PARAM_VALIDATION, RpcError

DEFAULT_TAG = "latest"

#: Executor names: what ``config.yml`` ``metas.name`` may hold (CamelCase by convention).
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
#: Tags end up as Docker image tags, so they follow Docker's tag grammar.
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
#: Build-env names, as the Hub's docs say: upper-case letters, digits, `_`, not starting with `_`.
BUILD_ENV_NAME_RE = re.compile(r"^[A-Z0-9][A-Z0-9_]*$")
#: `${NAME}` placeholders in requirements.txt, as the official client finds them.
PLACEHOLDER_RE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)\}")
#: Values are single-line strings; `=` can't arrive from the official client (it splits on it).
_MAX_BUILD_ENV_VALUE = 4096


def check_name(name: str) -> str:
    """An executor name for a new executor, or a refusal naming the rule."""
    if not name:
        raise RpcError(
            PARAM_VALIDATION,
            "The executor name is missing: set `metas.name` in config.yml "
            "(the `id` field of the push).",
        )
    if not NAME_RE.match(name):
        raise RpcError(
            PARAM_VALIDATION,
            f"The executor name `{name}` is invalid: it must start with a letter and contain only "
            "letters, digits, `-` and `_` (at most 64 characters).",
        )
    return name


def parse_flag(value: str | None, field_name: str) -> bool:
    """A "True"/"False" form flag (missing means False)."""
    if value is None or value.strip() == "":
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise RpcError(
        PARAM_VALIDATION, f"The field `{field_name}` must be True or False, not {value!r}."
    )


def requested_visibility(public: str | None, private: str | None) -> str | None:
    """ "public", "private", or None when the push asks for neither (keep / default)."""
    is_public = parse_flag(public, "public")
    is_private = parse_flag(private, "private")
    if is_public and is_private:
        raise RpcError(
            PARAM_VALIDATION, "An executor can't be both public and private: choose one."
        )
    if is_private:
        return "private"
    if is_public:
        return "public"
    return None


def split_tags(value: str | None, field_name: str) -> list[str]:
    """Comma-joined tags: trimmed, empties dropped, duplicates dropped, each one checked."""
    tags: list[str] = []
    for raw in (value or "").split(","):
        tag = raw.strip()
        if not tag or tag in tags:
            continue
        if not TAG_RE.match(tag):
            raise RpcError(
                PARAM_VALIDATION,
                f"The tag `{tag}` (in `{field_name}`) is invalid: a tag is 1 to 128 letters, "
                "digits, `_`, `.` or `-`, and can't start with `.` or `-`.",
            )
        tags.append(tag)
    return tags


@dataclass(frozen=True)
class PushTags:
    """The tags of one push: all of them, and which ones are protected."""

    tags: tuple[str, ...]
    protected: tuple[str, ...]


def push_tags(tags_field: str | None, protected_field: str | None) -> PushTags:
    """Tags of a push: `tags` plus `immutableTags`; neither given means `latest`."""
    tags = split_tags(tags_field, "tags")
    protected = split_tags(protected_field, "immutableTags")
    every = tags + [tag for tag in protected if tag not in tags]
    if not every:
        every = [DEFAULT_TAG]
    return PushTags(tags=tuple(every), protected=tuple(protected))


def parse_build_env_field(value: str | None) -> dict[str, str]:
    """The `buildEnv` field: a JSON object of NAME -> string value, each one checked."""
    if value is None or value.strip() == "":
        return {}
    try:
        loaded = json.loads(value)
    except json.JSONDecodeError:
        raise RpcError(
            PARAM_VALIDATION,
            'The field `buildEnv` must be a JSON object of strings, like {"NAME": "value"}.',
        ) from None
    if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
        raise RpcError(
            PARAM_VALIDATION,
            'The field `buildEnv` must be a JSON object of strings, like {"NAME": "value"}.',
        )
    env: dict[str, str] = {}
    for key, val in loaded.items():
        if not BUILD_ENV_NAME_RE.match(key):
            raise RpcError(
                PARAM_VALIDATION,
                f"The build-env name `{key}` is invalid: names consist of upper-case letters, "
                "digits and `_`, and can't start with `_`.",
            )
        if "=" in val or "\n" in val or "\r" in val or len(val) > _MAX_BUILD_ENV_VALUE:
            raise RpcError(
                PARAM_VALIDATION,
                f"The value of build-env `{key}` is invalid: it must be one line without `=` "
                f"(at most {_MAX_BUILD_ENV_VALUE} characters).",
            )
        env[key] = val
    return env


def requirement_placeholders(lines: Iterable[str]) -> list[str]:
    """`${NAME}` placeholders used by the non-comment lines of a requirements.txt, in order."""
    found: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        for match in PLACEHOLDER_RE.finditer(stripped):
            name = match.group("name")
            if name not in found:
                found.append(name)
    return found


def missing_build_env(placeholders: Iterable[str], env: dict[str, str]) -> list[str]:
    """The placeholders that the build-env does not supply."""
    return [name for name in placeholders if name not in env]


def missing_build_env_message(missing: list[str]) -> str:
    """The refusal text for unresolved placeholders, naming every one of them."""
    names = ", ".join(f"`{name}`" for name in missing)
    flags = " ".join(f"--build-env {name}=YOUR_VALUE" for name in missing)
    return (
        f"requirements.txt uses environment variables that the push does not set: {names}. "
        f"Supply them with `{flags}`."
    )
