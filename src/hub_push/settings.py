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

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Annotated, Any, cast
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    BeforeValidator,
    SecretStr,
    ValidationError,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hub_push import grammar
from hub_push.errors import InputError, InputErrors
from hub_push.grammar import IfExists, Mode, Visibility, words
from hub_push.hub.usage import JINA_HUB_API
from hub_push.ref_tags import AUTO
from hub_push.sizes import format_size

DEFAULT_HUB_URL = JINA_HUB_API
#: Variables of the Jina CLI that stand in for an input when neither flag nor input is set.
JINA_VARIABLES = {"token": "JINA_AUTH_TOKEN", "hub_url": "JINA_HUBBLE_REGISTRY"}


def input_name(field: str) -> str:
    """The input's name in action.yml: `protected_tags` → `protected-tags`."""
    return field.replace("_", "-")


def sources(field: str) -> AliasChoices:
    """Where a field is read from, first found wins: the keyword (CLI flag), the runner's
    `INPUT_<NAME>`, a plain `HUB_PUSH_<NAME>`, then the Jina CLI's variable, if any."""
    extra = (JINA_VARIABLES[field],) if field in JINA_VARIABLES else ()
    return AliasChoices(
        field, "INPUT_" + input_name(field).upper(), "HUB_PUSH_" + field.upper(), *extra
    )


def _credential(value: object) -> object:
    """A credential: stripped; printable ASCII without spaces (never echoed in the error)."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(raw, str):
        return value
    stripped = raw.strip()
    grammar.CREDENTIAL.check(stripped)
    return stripped or None


def _hub_url(value: object) -> object:
    if not isinstance(value, str):
        return value
    url = value.strip().rstrip("/")
    if not grammar.HUB_URL.matches(url) or not url.isascii():
        raise ValueError(grammar.HUB_URL.message)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("has no host name")
    return url


# Each kind of field, with its parsing: a field's type says how its input is read.
_TRIMMED = BeforeValidator(grammar.text)
Text = Annotated[str, _TRIMMED]
NameOrId = Annotated[str, _TRIMMED, AfterValidator(grammar.EXECUTOR_NAME_OR_ID.check)]
Platforms = Annotated[str, _TRIMMED, AfterValidator(grammar.PLATFORM.check)]
Sha = Annotated[str, _TRIMMED, AfterValidator(grammar.SHA.check)]
StatusContext = Annotated[str, _TRIMMED, AfterValidator(grammar.STATUS_CONTEXT.check)]
SecretPrefix = Annotated[str, _TRIMMED, AfterValidator(grammar.SAVE_SECRET_AS.check)]
GitRef = Annotated[str, _TRIMMED, AfterValidator(grammar.CHANGED_SINCE.check)]
TagSuffix = Annotated[str, _TRIMMED, AfterValidator(grammar.TAG_SUFFIX.check)]
TaskId = Annotated[str, _TRIMMED, AfterValidator(grammar.TASK_ID.check)]
Flag = Annotated[bool, BeforeValidator(grammar.parse_bool)]
Tags = Annotated[list[str], NoDecode, BeforeValidator(grammar.parse_tags)]
Credential = Annotated[SecretStr | None, BeforeValidator(_credential)]
BuildEnv = Annotated[dict[str, SecretStr], NoDecode, BeforeValidator(grammar.parse_build_env)]
Duration = Annotated[timedelta, BeforeValidator(grammar.parse_duration)]
Size = Annotated[int | None, BeforeValidator(grammar.parse_size)]
HubUrl = Annotated[str, BeforeValidator(_hub_url)]
VisibilityWord = Annotated[
    Visibility | None, BeforeValidator(grammar.one_of(words(Visibility), empty="the Hub's default"))
]
IfExistsWord = Annotated[IfExists, BeforeValidator(grammar.one_of(words(IfExists)))]
ModeWord = Annotated[Mode, BeforeValidator(grammar.one_of(words(Mode)))]


class Settings(BaseSettings):
    """Everything one run needs to know, already validated. A field's type says how its input
    is read; its name is the input's (`protected_tags` → `protected-tags`) and the CLI flag's."""

    model_config = SettingsConfigDict(
        populate_by_name=True,
        env_ignore_empty=True,
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        alias_generator=AliasGenerator(validation_alias=sources),
    )

    path: Text = "."
    tags: Tags = []
    protected_tags: Tags = []
    name: NameOrId = ""
    secret: Credential = None
    token: Credential = None
    allow_anonymous: Flag = False
    secret_file: Text = ""
    # None sends neither flag: a new executor is public (the Hub's default), an existing one
    # keeps its visibility, so an update never turns a private executor public by accident.
    visibility: VisibilityWord = None
    build_env: BuildEnv = {}
    dockerfile: Text = ""
    platform: Platforms = ""
    no_cache: Flag = False
    hub_url: HubUrl = DEFAULT_HUB_URL
    wait: Flag = True
    timeout: Duration = timedelta(minutes=15)
    verbose: Flag = False
    dry_run: Flag = False
    preflight: Flag = True
    max_archive_size: Size = None
    keep_archive: Flag = False
    summary: Flag = True
    github_token: Credential = None
    status_check: Flag = False
    check_run: Flag = False
    comment: Flag = False
    sha: Sha = ""
    status_context: StatusContext = ""
    save_secret_as: SecretPrefix = ""
    save_secret_token: Credential = None
    tag_prefix: Text = ""
    tag_suffix: TagSuffix = ""
    protect_version: Flag = False
    if_exists: IfExistsWord = "fail"
    skip_unchanged: Flag = False
    mode: ModeWord = "push"
    root: Text = "."
    changed_since: GitRef = ""
    task_id: TaskId = ""
    replay: Flag = True
    results: Text = ""
    matrix: Text = ""

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
SECRET_FIELDS = ("secret", "token", "build_env", "github_token", "save_secret_token")


def secret_values(overrides: Mapping[str, object], environ: Mapping[str, str]) -> Iterator[str]:
    """Every secret value among the raw inputs, before any parsing: for the entrypoint to mask.

    Reads each secret field under every name the model reads it by (CLI flag, `INPUT_*`,
    `HUB_PUSH_*`, the Jina CLI's variable). A `build-env` line yields its value, or the whole
    line when it has no `=` (it may be a pasted secret). Pure: it only reads.
    """
    for field in SECRET_FIELDS:
        for name in (str(choice) for choice in sources(field).choices):
            raw = overrides.get(name) if name in overrides else environ.get(name)
            if raw is None:
                continue
            if field == "build_env":
                for line in grammar.build_env_lines(raw):
                    yield from grammar.build_env_secrets(line)
            elif isinstance(raw, str | SecretStr):
                yield raw.get_secret_value() if isinstance(raw, SecretStr) else raw


def misspelled_inputs(environ: Mapping[str, str]) -> list[InputError]:
    """`INPUT_DRY_RUN` and the like: an input spelled with `_` where the runner keeps the
    hyphen (`INPUT_DRY-RUN`). Nothing reads it, so a `dry-run` meant would push for real."""
    found = []
    for field in Settings.model_fields:
        spelled = "INPUT_" + field.upper()
        runner = "INPUT_" + input_name(field).upper()
        if spelled != runner and spelled in environ:
            found.append(
                InputError(
                    input_name(field),
                    f"`{spelled}` is set, but nothing reads it: the runner names this input "
                    f"`{runner}` (hyphens kept). Set `{runner}`, or outside Actions "
                    f"`HUB_PUSH_{field.upper()}` or `--{input_name(field)}`",
                )
            )
    return found


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
