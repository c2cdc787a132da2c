"""Every input's parsing and validation, from the runner's variables and from the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub_push.cli import main, parse_args
from hub_push.errors import InputErrors
from hub_push.settings import DEFAULT_HUB_URL, Settings, load_settings, secret_values
from hub_push.sizes import format_size


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("INPUT_", "HUB_PUSH_", "JINA_")):
            monkeypatch.delenv(key)


def load(monkeypatch: pytest.MonkeyPatch, **inputs: str) -> Settings:
    for name, value in inputs.items():
        monkeypatch.setenv("INPUT_" + name.upper(), value)
    return load_settings()


def errors(monkeypatch: pytest.MonkeyPatch, **inputs: str) -> list[str]:
    with pytest.raises(InputErrors) as caught:
        load(monkeypatch, **inputs)
    return [str(e) for e in caught.value.errors]


def test_defaults_when_every_input_arrives_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [
        "path",
        "tags",
        "protected-tags",
        "name",
        "secret",
        "token",
        "visibility",
        "build-env",
        "dockerfile",
        "platform",
        "no-cache",
        "hub-url",
        "wait",
        "timeout",
        "verbose",
        "dry-run",
        "summary",
        "github-token",
    ]
    settings = load(monkeypatch, **{n: "" for n in names})
    assert settings.path == "."
    assert settings.tags == [] and settings.protected_tags == []
    assert settings.secret is None and settings.token is None
    assert settings.visibility is None
    assert settings.build_env == {}
    assert settings.hub_url == DEFAULT_HUB_URL
    assert settings.wait is True and settings.summary is True
    assert settings.no_cache is False and settings.verbose is False and settings.dry_run is False
    assert settings.timeout == timedelta(minutes=15)


def test_hyphenated_runner_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(
        monkeypatch,
        **{
            "protected-tags": "v1",
            "hub-url": "http://127.0.0.1:9/",
            "no-cache": "true",
            "dry-run": "TRUE",
            "build-env": "A=1",
        },
    )
    assert settings.protected_tags == ["v1"]
    assert settings.hub_url == "http://127.0.0.1:9"  # trailing slash tolerated
    assert settings.no_cache is True and settings.dry_run is True
    assert settings.build_env["A"].get_secret_value() == "1"


def test_list_inputs_split_on_newlines_and_commas_dropping_comments_and_blanks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load(
        monkeypatch, tags="v1.2.3, latest\n\n# a comment, with a comma\n  gpu \nv1.2.3\n"
    )
    assert settings.tags == ["v1.2.3", "latest", "gpu"]


def test_protected_tags_are_tags_of_the_push_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_PROTECTED-TAGS", "v1,latest")
    settings = load(monkeypatch, tags="latest")
    assert settings.all_tags == ["latest", "v1"]


@pytest.mark.parametrize("bad", ["bad tag", "-dash", "a/b", "x" * 129])
def test_an_invalid_tag_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    (message,) = errors(monkeypatch, tags=bad)
    assert message.startswith("Input `tags`:")


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("True", True), ("FALSE", False)])
def test_booleans_accept_yaml_core_spellings(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: bool
) -> None:
    assert load(monkeypatch, wait=text).wait is expected


@pytest.mark.parametrize("text", ["yes", "1", "on", "tru"])
def test_booleans_are_strict(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    assert errors(monkeypatch, verbose=text) == ["Input `verbose`: must be `true` or `false`"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h30m", 5400), ("45", 45), ("2.5m", 150)]
)
def test_timeout_takes_durations(monkeypatch: pytest.MonkeyPatch, text: str, seconds: int) -> None:
    assert load(monkeypatch, timeout=text).timeout == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["soon", "0", "15x", "-5m", "m"])
def test_timeout_refuses_what_is_not_a_positive_duration(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    (message,) = errors(monkeypatch, timeout=text)
    assert message.startswith("Input `timeout`:")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("", None),
        ("123", 123),
        ("500MB", 500_000_000),
        ("2GiB", 2 * 1024**3),
        ("2 gib", 2 * 1024**3),
        ("1.5GB", 1_500_000_000),
        ("64 KiB", 65536),
        (" 10kB ", 10_000),
    ],
)
def test_max_archive_size_takes_sizes_in_decimal_and_binary_units(
    monkeypatch: pytest.MonkeyPatch, text: str, size: int | None
) -> None:
    assert load(monkeypatch, **{"max-archive-size": text}).max_archive_size == size


@pytest.mark.parametrize("text", ["5K", "0", "-1MB", "1e9", "2 GB GB", "GB", "2PB", "9" * 30])
def test_max_archive_size_refuses_what_is_not_a_size(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    (message,) = errors(monkeypatch, **{"max-archive-size": text})
    assert message.startswith("Input `max-archive-size`:")


@pytest.mark.parametrize("value", [0, -1, True, 2 * 1024**5])
def test_max_archive_size_given_as_a_number_is_range_checked_too(value: int) -> None:
    from hub_push.grammar import parse_size

    with pytest.raises(ValueError, match="must be"):
        parse_size(value)


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (2048, "2.0 KiB"), (5 * 1024**2 // 2, "2.5 MiB"),
     (int(1.9 * 1024**3), "1.9 GiB"), (3 * 1024**5, "3072.0 TiB")],
)  # fmt: skip
def test_sizes_are_shown_in_binary_units(size: int, text: str) -> None:
    assert format_size(size) == text


def test_visibility_names_the_allowed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, visibility="Private").visibility == "private"
    assert errors(monkeypatch, visibility="secret") == [
        "Input `visibility`: must be `public` or `private` (or empty: the Hub's default)"
    ]


def test_hub_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_HUB-URL", "ftp://hub")
    (message,) = errors(monkeypatch)
    assert message.startswith("Input `hub-url`: must be an http:// or https:// address")


def test_hub_url_and_token_fall_back_to_the_jina_cli_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INPUT_HUB-URL", "")
    monkeypatch.setenv("JINA_HUBBLE_REGISTRY", "http://127.0.0.1:8080")
    monkeypatch.setenv("JINA_AUTH_TOKEN", "tok-from-env")
    settings = load(monkeypatch, token="")
    assert settings.hub_url == "http://127.0.0.1:8080"
    assert settings.token is not None and settings.token.get_secret_value() == "tok-from-env"


def test_build_env_reads_key_value_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_BUILD-ENV", "TOKEN=abc123\n\n# comment\nNUMPY_VERSION = 1.21.5\n")
    env = load(monkeypatch).build_env
    assert {k: v.get_secret_value() for k, v in env.items()} == {
        "TOKEN": "abc123",
        "NUMPY_VERSION": "1.21.5",
    }


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("lower=supersecret", "the name `lower` may hold only"),
        ("_HIDDEN=supersecret", "the name `_HIDDEN` may hold only"),
        ("JUSTSOMESUPERSECRET", "line 1 is not `KEY=VALUE`"),
        ("KEY=super=secret", "the value of `KEY` contains `=`"),
    ],
)
def test_bad_build_env_is_named_by_line_without_its_value(
    monkeypatch: pytest.MonkeyPatch, line: str, fragment: str
) -> None:
    monkeypatch.setenv("INPUT_BUILD-ENV", line)
    (message,) = errors(monkeypatch)
    assert message.startswith("Input `build-env`:")
    assert fragment in message
    assert "supersecret" not in message.lower().replace("super=secret", "")
    assert "SUPERSECRET" not in message


def test_secret_without_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert errors(monkeypatch, secret="s3cr3t-value") == [
        "Input `secret`: is set, but `name` is empty: an update needs both"
    ]


def test_every_bad_input_is_reported_not_just_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    found = errors(monkeypatch, wait="maybe", visibility="nobody", timeout="never")
    assert sorted(m.split("`")[1] for m in found) == ["timeout", "visibility", "wait"]


def test_cli_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_TAGS", "from-env")
    flags = parse_args(
        [
            "--path",
            "x",
            "-t",
            "v1",
            "-t",
            "latest",
            "--protected-tag",
            "v1",
            "--no-wait",
            "--build-env",
            "A=1",
            "--timeout",
            "2m",
            "--visibility",
            "private",
        ]
    )
    settings = load_settings(flags)
    assert settings.path == "x"
    assert settings.tags == ["v1", "latest"]
    assert settings.protected_tags == ["v1"]
    assert settings.wait is False
    assert settings.timeout == timedelta(minutes=2)
    assert settings.visibility == "private"


def test_plain_environment_variables_work_outside_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PUSH_PROTECTED_TAGS", "v2")
    monkeypatch.setenv("HUB_PUSH_DRY_RUN", "true")
    settings = load_settings()
    assert settings.protected_tags == ["v2"] and settings.dry_run is True


def test_secrets_are_masked_before_anything_else_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("INPUT_BUILD-ENV", "TOKEN=build-secret-1\nBROKEN_LINE_SECRET")
    monkeypatch.setenv("INPUT_GITHUB-TOKEN", "ghs_abcdefgh")
    monkeypatch.setenv("INPUT_TOKEN", "login-secret-2")
    # The malformed build-env line is masked before it is refused.
    assert main(["--name", "x", "--secret", "update-secret-3"]) == 1
    out = capsys.readouterr().out
    first_other_line = next(i for i, line in enumerate(out.splitlines()) if "add-mask" not in line)
    masks = out.splitlines()[:first_other_line]
    for value in (
        "build-secret-1",
        "BROKEN_LINE_SECRET",
        "ghs_abcdefgh",
        "login-secret-2",
        "update-secret-3",
    ):
        assert f"::add-mask::{value}\n" in out
        assert f"::add-mask::{value}" in masks
    assert "BROKEN_LINE_SECRET" not in out.replace("::add-mask::BROKEN_LINE_SECRET", "")


def test_reading_the_settings_prints_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("INPUT_BUILD-ENV", "TOKEN=build-secret-1")
    load(monkeypatch, token="login-secret-2", name="x", secret="update-secret-3")
    assert capsys.readouterr() == ("", "")


def test_a_pasted_secret_with_padding_is_masked_whole() -> None:
    """`c2VjcmV0...Ng==` in build-env looks like `NAME=VALUE`: its "name" is a secret too."""
    pasted = "c2VjcmV0LXRva2VuLTEyMzQ1Ng=="
    found = set(secret_values({}, {"INPUT_BUILD-ENV": pasted}))
    assert {pasted, "c2VjcmV0LXRva2VuLTEyMzQ1Ng"} <= found


def test_secret_values_reads_every_name_the_model_reads() -> None:
    environ = {
        "INPUT_TOKEN": "t-runner",
        "HUB_PUSH_SECRET": "s-plain",
        "JINA_AUTH_TOKEN": "t-jina",
        "INPUT_BUILD-ENV": "A=one\nnot-a-pair",
        "INPUT_GITHUB-TOKEN": "ghs_x",
        "INPUT_PATH": "not-a-secret",
    }
    found = set(secret_values({"secret": "s-cli", "build_env": ["B=two"]}, environ))
    assert found == {"t-runner", "s-plain", "t-jina", "one", "not-a-pair", "ghs_x", "s-cli", "two"}


def test_the_release_text_inputs_are_trimmed_like_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load(monkeypatch, TAGS="auto", **{"TAG-PREFIX": " my-executor/ ", "ROOT": " ex\n"})
    assert (settings.tag_prefix, settings.root) == ("my-executor/", "ex")
    assert errors(monkeypatch, **{"CHANGED-SINCE": "main\nmore"}) == [
        "Input `changed-since`: may not contain control characters or line breaks"
    ]
