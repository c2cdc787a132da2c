"""Every rule of the Hub and of the action's inputs, written once, each with its message.

The Hub's names (tags, executor names and ids, task ids) and the grammar of the action's
inputs (`name`, `build-env`, `save-secret-as`, `platform`, durations, sizes, lists, booleans,
enumerated words). `settings.py` builds its fields from the parsers here; `ref_tags.py`,
`hub/models.py` and the GitHub reporters check against the same patterns. The local Hub keeps
rules of its own on purpose: a double that shared the client's validation could not catch the
client's bugs.

A parser raises `ValueError` with a message that reads after "Input `name`: ".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:  # imported where used: `--help` reads the enumerated words without pydantic
    from pydantic import SecretStr


@dataclass(frozen=True)
class Rule:
    """A pattern a whole value must match, and what the error says when it does not."""

    pattern: re.Pattern[str]
    message: str

    def matches(self, value: str) -> bool:
        return self.pattern.fullmatch(value) is not None

    def check(self, value: str) -> str:
        """`value` when it is empty (unset) or matches; else `ValueError(message)`."""
        if value and not self.matches(value):
            raise ValueError(self.message)
        return value


# --- the Hub's names ------------------------------------------------------------------------

MAX_TAG_LENGTH = 128
#: A tag the Hub accepts: the `tags` inputs, the tags `tags: auto` derives, what the Hub sends.
TAG = Rule(
    re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{MAX_TAG_LENGTH - 1}}}", re.ASCII),
    "is not a valid tag (letters, digits, `_`, `.` and `-`, not starting with `.` or `-`, "
    f"at most {MAX_TAG_LENGTH} characters)",
)
#: The `name` input: an executor's name or its UUID8.
EXECUTOR_NAME_OR_ID = Rule(
    re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"),
    "must be an executor name or ID: letters, digits, `_` and `-`, starting with a letter or "
    "digit, at most 64 characters",
)
#: What the Hub names: values outside these are not trusted into an output, a usage string or
#: a link.
HUB_NAMES: Mapping[str, re.Pattern[str]] = {
    "executor id": re.compile(r"[A-Za-z0-9]{8}"),
    "executor name": re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}"),
    "owner": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"),
    "tag": TAG.pattern,
    "visibility": re.compile(r"public|private"),
    "task id": re.compile(r"[0-9a-f]{24}"),
    "commit id": re.compile(r"[0-9a-f]{24}"),
    "md5": re.compile(r"[0-9a-f]{32}"),
}

# --- build-env -------------------------------------------------------------------------------

#: A build-env variable's name, as the Hub fills `${NAME}` placeholders.
BUILD_ENV_NAME = Rule(
    re.compile(r"(?!_)[A-Z0-9_]+"),
    "may hold only upper-case letters, digits and `_`, and may not start with `_`",
)


def build_env_lines(value: object) -> list[str]:
    """The `KEY=VALUE` lines of a `build-env` value (text, a list, or a mapping)."""
    from pydantic import SecretStr

    if isinstance(value, Mapping):
        return [
            f"{k}={v.get_secret_value() if isinstance(v, SecretStr) else v}"
            for k, v in value.items()
        ]
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    raise ValueError("expected `KEY=VALUE` lines")


def parse_build_env(value: object) -> dict[str, SecretStr]:
    """`KEY=VALUE` a line (or a mapping: the field's default is validated too).

    Messages name the line and the key, never a value: a malformed line may be a secret.
    """
    from pydantic import SecretStr

    env: dict[str, SecretStr] = {}
    for number, raw in enumerate(build_env_lines(value), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(f"line {number} is not `KEY=VALUE` (it has no `=`)")
        key, secret = (part.strip() for part in line.split("=", 1))
        if not BUILD_ENV_NAME.matches(key):
            raise ValueError(f"line {number}: the name `{key}` {BUILD_ENV_NAME.message}")
        if "=" in secret:
            raise ValueError(
                f"line {number}: the value of `{key}` contains `=`, which the Hub refuses"
            )
        if key in env:
            raise ValueError(f"line {number}: `{key}` is given twice")
        env[key] = SecretStr(secret)
    return env


#: What reads as a variable's name (if not as a valid build-env one): shown, never masked.
NAME_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def build_env_secrets(line: str) -> list[str]:
    """What to mask of a `build-env` line: its value; the whole line too when it is not a
    valid `KEY=VALUE` (a pasted secret with `=` in it, such as base64 padding); and its "name"
    only when that does not read as a name, or when all that follows it is padding (`…Ng==`):
    masking `token` (from `token=abc`) would hide the word in every later line of the job."""
    if "=" not in line:
        return [line]
    key, value = (part.strip() for part in line.split("=", 1))
    if BUILD_ENV_NAME.matches(key) and "=" not in value:
        return [value]
    padding = not value.strip("=")
    return [value, line] + ([key] if padding or not NAME_LIKE.fullmatch(key) else [])


# --- the other text inputs -------------------------------------------------------------------

_PLATFORM = r"[a-z0-9_.-]+(/[a-z0-9_.-]+){1,2}"
PLATFORM = Rule(
    re.compile(rf"{_PLATFORM}(,{_PLATFORM})*"),
    "must be Docker platforms, each OS/architecture, such as `linux/amd64,linux/arm64` "
    "(`amd64` alone names no OS)",
)
SHA = Rule(
    re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}"),
    "must be a full commit SHA (40 hexadecimal characters)",
)
STATUS_CONTEXT = Rule(re.compile(r".{1,100}", re.DOTALL), "may have at most 100 characters")
#: A prefix for the repository secrets a first publish is saved as (GitHub refuses `GITHUB_`).
SAVE_SECRET_AS = Rule(
    re.compile(r"(?!GITHUB_)[A-Z][A-Z0-9_]{0,80}"),
    "must be a secret name prefix: upper-case letters, digits and `_`, starting with a "
    "letter, not with `GITHUB_`",
)
#: What `tag-suffix` may append (`-gpu`): what a tag may hold.
TAG_SUFFIX = Rule(
    re.compile(r"[A-Za-z0-9_.-]{1,64}"),
    "may hold only letters, digits, `_`, `.` and `-` (at most 64 characters), such as `-gpu`",
)
#: A build task's id, as the Hub names it (the `task-id` output of a push).
TASK_ID = Rule(HUB_NAMES["task id"], "must be a build task's id: 24 hexadecimal characters")
CHANGED_SINCE = Rule(
    re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}"),
    "must be a commit SHA or a branch or tag name",
)
#: A credential: printable ASCII without spaces (it travels in an HTTP header or a form).
CREDENTIAL = Rule(
    re.compile(r"[!-~]{1,4096}"),
    "must be printable ASCII without spaces or line breaks (check that the whole secret was "
    "pasted, and nothing else)",
)
HUB_URL = Rule(
    re.compile(r"https?://[^\s/?#@]+(/[^\s?#]*)?"),
    "must be an http:// or https:// address without credentials, such as "
    "https://api.hubble.jina.ai",
)


def text(value: object) -> object:
    """A one-line text input, trimmed; control characters and line breaks refused."""
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if any(ord(c) < 32 or c == "\x7f" for c in stripped):
        raise ValueError("may not contain control characters or line breaks")
    return stripped


# --- lists, booleans, words --------------------------------------------------------------------


def split_list(value: object) -> list[str]:
    """A list input: newlines or commas; items trimmed; empty items and `#` comments dropped."""
    if isinstance(value, list | tuple):
        lines = [str(v) for v in value]
    elif isinstance(value, str):
        lines = value.splitlines()
    else:
        raise ValueError("expected text: one item a line, or items separated by commas")
    kept: list[str] = []
    for line in lines:
        if line.strip().startswith("#"):  # a comment line, commas and all
            continue
        for item in (i.strip() for i in line.split(",")):
            if item and item not in kept:
                kept.append(item)
    return kept


def parse_tags(value: object) -> list[str]:
    """A list of Hub tags (`auto` passes: it is a tag too)."""
    items = split_list(value)
    for tag in items:
        if not TAG.matches(tag):
            raise ValueError(f"`{tag}` {TAG.message}")
    return items


def parse_bool(value: object) -> bool:
    """YAML 1.2 core booleans only, as `core.getBooleanInput`: no `yes`, `1` or `on`."""
    if isinstance(value, bool):
        return value
    word = str(value).strip()
    if word in ("true", "True", "TRUE"):
        return True
    if word in ("false", "False", "FALSE"):
        return False
    raise ValueError("must be `true` or `false`")


Visibility = Literal["public", "private"]
IfExists = Literal["fail", "skip"]
Mode = Literal["push", "discover", "status", "report"]


def words(choice: object) -> tuple[str, ...]:
    """The words a `Literal` type takes, in order: `words(Mode)` → `("push", "discover")`."""
    return tuple(str(word) for word in get_args(choice))


def one_of(allowed: tuple[str, ...], *, empty: str = "") -> Callable[[object], object]:
    """A parser for an enumerated input: one of `allowed` in any case; with `empty`, an empty
    value is None and the message says what it means."""

    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if empty and not word:
            return None
        if word not in allowed:
            also = f" (or empty: {empty})" if empty else ""
            raise ValueError("must be " + " or ".join(f"`{a}`" for a in allowed) + also)
        return word

    return parse


# --- durations and sizes -----------------------------------------------------------------------

#: The longest `timeout` taken: a GitHub-hosted job ends after 6 hours anyway.
MAX_DURATION = timedelta(hours=24)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")


def parse_duration(value: object) -> timedelta:
    """`90s`, `15m`, `1h30m`, or a plain number of seconds; more than zero, at most a day."""
    try:
        duration = _duration_of(value)
    except OverflowError:
        raise ValueError("must be at most 24h") from None
    if duration <= timedelta(0):
        raise ValueError("must be longer than zero")
    if duration > MAX_DURATION:
        raise ValueError("must be at most 24h")
    return duration


def _duration_of(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        if value != value:  # NaN
            raise ValueError("must be a number of seconds")
        return timedelta(seconds=value)
    spelled = str(value).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d{1,12}(\.\d{1,9})?", spelled):
        return timedelta(seconds=float(spelled))
    if spelled and len(spelled) <= 64 and _DURATION_PART.sub("", spelled) == "":
        units = {"h": 3600, "m": 60, "s": 1}
        parts = _DURATION_PART.findall(spelled)
        return timedelta(seconds=sum(float(n) * units[u] for n, u in parts))
    raise ValueError("must be a duration such as `90s`, `15m` or `1h30m`")


#: The units of `max-archive-size`: decimal (kB, MB, GB, TB) and binary (KiB, MiB, GiB, TiB).
SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")
#: The largest `max-archive-size` taken (a mistyped unit should not pass as "no limit").
MAX_SIZE = 1024**5


def parse_size(value: object) -> int | None:
    """`500MB`, `2GiB`, `1.5GB` or a plain number of bytes; empty: None (no limit known)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):  # a keyword argument
        size = value
    else:
        spelled = str(value).strip()
        if not spelled:
            return None
        match = _SIZE.fullmatch(spelled)
        unit = SIZE_UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None:
            raise ValueError(
                "must be a size such as `500MB`, `2GiB` or a number of bytes "
                "(units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            )
        size = int(float(match.group(1)) * unit)
    if not 0 < size <= MAX_SIZE:
        raise ValueError("must be more than 0 bytes and at most 1 PiB")
    return size
