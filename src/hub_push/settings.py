"""The action's inputs, typed and validated in one model.

Each field is read, in order of precedence, from a CLI flag (passed to `load_settings`),
the runner's `INPUT_<NAME>` variable (upper-cased, hyphens kept: `INPUT_PROTECTED-TAGS`),
then a plain `HUB_PUSH_<NAME>` variable (underscores) for use outside Actions; `hub-url`
and `token` also fall back to the Jina CLI's own `JINA_HUBBLE_REGISTRY` / `JINA_AUTH_TOKEN`.
An input the workflow left unset arrives as an empty string and means "use the default".

Secrets (`secret`, `token`, `build-env` values, `github-token`) are held as `SecretStr`.
Reading them has no side effect: the entrypoint masks them first, from the raw inputs, with
`secret_values` (which reads the same names as this model).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hub_push.errors import InputError, InputErrors
from hub_push.hub.usage import JINA_HUB_API
from hub_push.ref_tags import AUTO
from hub_push.sizes import format_size

DEFAULT_HUB_URL = JINA_HUB_API
BUILD_ENV_NAME = re.compile(r"^[A-Z0-9_]+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


def input_name(field: str) -> str:
    """The input's name in action.yml: `protected_tags` → `protected-tags`."""
    return field.replace("_", "-")


def _sources(field: str, *extra: str) -> AliasChoices:
    return AliasChoices(
        field,  # keyword / CLI
        "INPUT_" + input_name(field).upper(),  # the runner
        "HUB_PUSH_" + field.upper(),  # plain environment
        *extra,
    )


def _input(default: Any, field: str, *extra: str) -> Any:
    return Field(default, validation_alias=_sources(field, *extra))


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


def parse_bool(value: object) -> bool:
    """YAML 1.2 core booleans only, as `core.getBooleanInput`: no `yes`, `1` or `on`."""
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be `true` or `false`")


#: The words an enumerated input takes.
CHOICES = {
    "visibility": ("public", "private"),
    "if_exists": ("fail", "skip"),
    "mode": ("push", "discover"),
}
#: The longest `timeout` taken: a GitHub-hosted job ends after 6 hours anyway.
MAX_DURATION = timedelta(hours=24)
#: A credential: printable ASCII without spaces (it travels in an HTTP header or a form).
CREDENTIAL = re.compile(r"[!-~]{1,4096}")
_PLATFORM = r"[a-z0-9_.-]+(/[a-z0-9_.-]+){0,2}"
#: The grammar of the free-text inputs that have one: (pattern, what the error says).
GRAMMAR: dict[str, tuple[re.Pattern[str], str]] = {
    "name": (
        re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"),  # an executor name or its UUID8
        "must be an executor name or ID: letters, digits, `_` and `-`, starting with a "
        "letter or digit, at most 64 characters",
    ),
    "platform": (
        re.compile(rf"{_PLATFORM}(,{_PLATFORM})*"),
        "must be Docker platforms such as `linux/amd64,linux/arm64`",
    ),
    "sha": (
        re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}"),
        "must be a full commit SHA (40 hexadecimal characters)",
    ),
    "status_context": (re.compile(r".{1,100}", re.DOTALL), "may have at most 100 characters"),
    "save_secret_as": (
        re.compile(r"(?!GITHUB_)[A-Z][A-Z0-9_]{0,80}"),
        "must be a secret name prefix: upper-case letters, digits and `_`, starting "
        "with a letter, not with `GITHUB_`",
    ),
    "changed_since": (
        re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}"),
        "must be a commit SHA or a branch or tag name",
    ),
}


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
        text = str(value).strip()
        if not text:
            return None
        match = _SIZE.fullmatch(text)
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
    text = str(value).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d{1,12}(\.\d{1,9})?", text):
        return timedelta(seconds=float(text))
    if text and len(text) <= 64 and _DURATION_PART.sub("", text) == "":
        units = {"h": 3600, "m": 60, "s": 1}
        return timedelta(seconds=sum(float(n) * units[u] for n, u in _DURATION_PART.findall(text)))
    raise ValueError("must be a duration such as `90s`, `15m` or `1h30m`")


def build_env_lines(value: object) -> list[str]:
    """The `KEY=VALUE` lines of a `build-env` value (text, a list, or a mapping)."""
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
    lines = build_env_lines(value)
    env: dict[str, SecretStr] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(f"line {number} is not `KEY=VALUE` (it has no `=`)")
        key, secret = (part.strip() for part in line.split("=", 1))
        if not BUILD_ENV_NAME.fullmatch(key) or key.startswith("_"):
            raise ValueError(
                f"line {number}: the name `{key}` may hold only upper-case letters, digits "
                "and `_`, and may not start with `_`"
            )
        if "=" in secret:
            raise ValueError(
                f"line {number}: the value of `{key}` contains `=`, which the Hub refuses"
            )
        if key in env:
            raise ValueError(f"line {number}: `{key}` is given twice")
        env[key] = SecretStr(secret)
    return env


class Settings(BaseSettings):
    """Everything one run needs to know, already validated."""

    model_config = SettingsConfigDict(
        populate_by_name=True,
        env_ignore_empty=True,
        case_sensitive=True,
        extra="ignore",
        frozen=True,
    )

    path: str = _input(".", "path")
    tags: Annotated[list[str], NoDecode] = _input([], "tags")
    protected_tags: Annotated[list[str], NoDecode] = _input([], "protected_tags")
    name: str = _input("", "name")
    secret: SecretStr | None = _input(None, "secret")
    token: SecretStr | None = _input(None, "token", "JINA_AUTH_TOKEN")
    # None sends neither flag: a new executor is public (the Hub's default), an existing one
    # keeps its visibility, so an update never turns a private executor public by accident.
    visibility: Literal["public", "private"] | None = _input(None, "visibility")
    build_env: Annotated[dict[str, SecretStr], NoDecode] = _input({}, "build_env")
    dockerfile: str = _input("", "dockerfile")
    platform: str = _input("", "platform")
    no_cache: bool = _input(False, "no_cache")
    hub_url: str = _input(DEFAULT_HUB_URL, "hub_url", "JINA_HUBBLE_REGISTRY")
    wait: bool = _input(True, "wait")
    timeout: timedelta = _input(timedelta(minutes=15), "timeout")
    verbose: bool = _input(False, "verbose")
    dry_run: bool = _input(False, "dry_run")
    preflight: bool = _input(True, "preflight")
    max_archive_size: int | None = _input(None, "max_archive_size")
    summary: bool = _input(True, "summary")
    github_token: SecretStr | None = _input(None, "github_token")
    status_check: bool = _input(False, "status_check")
    check_run: bool = _input(False, "check_run")
    comment: bool = _input(False, "comment")
    sha: str = _input("", "sha")
    status_context: str = _input("", "status_context")
    save_secret_as: str = _input("", "save_secret_as")
    tag_prefix: str = _input("", "tag_prefix")
    protect_version: bool = _input(False, "protect_version")
    if_exists: Literal["fail", "skip"] = _input("fail", "if_exists")
    mode: Literal["push", "discover"] = _input("push", "mode")
    root: str = _input(".", "root")
    changed_since: str = _input("", "changed_since")

    @field_validator("secret", "token", "github_token", mode="before")
    @classmethod
    def _credential(cls, value: object) -> object:
        """A credential: stripped; printable ASCII without spaces (never echoed in the error)."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            return value
        text = raw.strip()
        if text and not CREDENTIAL.fullmatch(text):
            raise ValueError(
                "must be printable ASCII without spaces or line breaks (check that the whole "
                "secret was pasted, and nothing else)"
            )
        return text or None

    @field_validator("tags", "protected_tags", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> list[str]:
        items = split_list(value)
        for tag in items:
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
                raise ValueError(
                    f"`{tag}` is not a valid tag (letters, digits, `_`, `.` and `-`, "
                    "not starting with `.` or `-`, at most 128 characters)"
                )
        return items

    @field_validator("build_env", mode="before")
    @classmethod
    def _build_env(cls, value: object) -> dict[str, SecretStr]:
        return parse_build_env(value)

    @field_validator(
        "no_cache",
        "wait",
        "verbose",
        "dry_run",
        "preflight",
        "summary",
        "status_check",
        "check_run",
        "comment",
        "protect_version",
        mode="before",
    )
    @classmethod
    def _bool(cls, value: object) -> bool:
        return parse_bool(value)

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("max_archive_size", mode="before")
    @classmethod
    def _size(cls, value: object) -> int | None:
        return parse_size(value)

    @field_validator("visibility", "if_exists", "mode", mode="before")
    @classmethod
    def _choice(cls, value: object, info: ValidationInfo) -> object:
        """One of the input's words (any case); an empty `visibility` is the Hub's default."""
        if not isinstance(value, str):
            return value
        text = value.strip().lower()
        allowed = CHOICES[str(info.field_name)]
        if info.field_name == "visibility" and not text:
            return None
        if text not in allowed:
            default = " (or empty: the Hub's default)" if info.field_name == "visibility" else ""
            raise ValueError("must be " + " or ".join(f"`{a}`" for a in allowed) + default)
        return text

    @field_validator(
        "path",
        "name",
        "dockerfile",
        "platform",
        "sha",
        "status_context",
        "save_secret_as",
        "tag_prefix",
        "root",
        "changed_since",
        mode="before",
    )
    @classmethod
    def _strip(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if any(ord(c) < 32 or c == "\x7f" for c in text):
            raise ValueError("may not contain control characters or line breaks")
        return text

    @field_validator(*GRAMMAR, mode="after")
    @classmethod
    def _grammar(cls, value: str, info: ValidationInfo) -> str:
        """A text input in its grammar (empty: unset); the message says what it may hold."""
        pattern, message = GRAMMAR[str(info.field_name)]
        if value and not pattern.fullmatch(value):
            raise ValueError(message)
        return value

    @field_validator("hub_url", mode="before")
    @classmethod
    def _hub_url(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        url = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#@]+(/[^\s?#]*)?", url) or not url.isascii():
            raise ValueError(
                "must be an http:// or https:// address without credentials, such as "
                + DEFAULT_HUB_URL
            )
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        if not parts.hostname:
            raise ValueError("has no host name")
        return url

    @property
    def all_tags(self) -> list[str]:
        """Tags this push asks for: `tags`, then the protected ones not already listed."""
        return self.tags + [t for t in self.protected_tags if t not in self.tags]

    def describe(self) -> list[tuple[str, str]]:
        """(input, value as text) for each input, in the model's order, for the log and the
        summary: secrets only as set / not set, `build-env` only by its names."""
        return [(input_name(field), self._shown(field)) for field in type(self).model_fields]

    def _shown(self, field: str) -> str:
        value = getattr(self, field)
        if field == "build_env":
            return ", ".join(value) + " (values hidden)" if value else ""
        if field in SECRET_FIELDS:
            return "set (hidden)" if value else "not set"
        if field == "visibility":
            return value or "(the Hub's default)"
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, timedelta):
            return f"{value.total_seconds():g}s"
        if field == "max_archive_size":
            return format_size(value) if value else "(no limit known)"
        if isinstance(value, list):
            return ", ".join(value)
        return str(value)


#: The fields whose values are secrets: masked before anything else runs.
SECRET_FIELDS = ("secret", "token", "build_env", "github_token")


def secret_values(overrides: Mapping[str, object], environ: Mapping[str, str]) -> Iterator[str]:
    """Every secret value among the raw inputs, before any parsing: for the entrypoint to mask.

    Reads each secret field under every name the model reads it by (CLI flag, `INPUT_*`,
    `HUB_PUSH_*`, the Jina CLI's variable). A `build-env` line yields its value, or the whole
    line when it has no `=` (it may be a pasted secret). Pure: it only reads.
    """
    for field in SECRET_FIELDS:
        alias = Settings.model_fields[field].validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [field]
        for name in names:
            raw = overrides.get(str(name)) if str(name) in overrides else environ.get(str(name))
            if raw is None:
                continue
            if field == "build_env":
                for line in build_env_lines(raw):
                    yield from _build_env_secrets(line)
            elif isinstance(raw, str | SecretStr):
                yield raw.get_secret_value() if isinstance(raw, SecretStr) else raw


def _build_env_secrets(line: str) -> Iterator[str]:
    """What to mask of a `build-env` line: its value; and the whole line and its "name" too
    when the name is not one (a pasted secret with `=` in it, such as base64 padding)."""
    if "=" not in line:
        yield line
        return
    key, value = (part.strip() for part in line.split("=", 1))
    yield value
    if not BUILD_ENV_NAME.fullmatch(key) or key.startswith("_") or "=" in value:
        yield line
        yield key


def load_settings(overrides: Mapping[str, object] | None = None) -> Settings:
    """Read the inputs (environment, then `overrides` from the CLI), or raise `InputErrors`.

    Messages name the input and never repeat its value.
    """
    try:
        settings = Settings(**cast(dict[str, Any], dict(overrides or {})))
    except ValidationError as exc:
        problems: list[InputError] = []
        for err in exc.errors(include_input=False, include_url=False):
            field = str(err["loc"][0]) if err["loc"] else "inputs"
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(InputError(input_name(field), message))
        raise InputErrors(problems) from None
    if settings.secret and not settings.name:
        raise InputErrors(
            [InputError("secret", "is set, but `name` is empty: an update needs both")]
        )
    if (settings.tag_prefix or settings.protect_version) and AUTO not in settings.tags:
        name = "tag-prefix" if settings.tag_prefix else "protect-version"
        raise InputErrors([InputError(name, "works with `tags: auto` only")])
    return settings
