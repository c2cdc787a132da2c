"""Bad input never surprises: one `::error` naming the input (or the file), a non-zero exit, no
traceback, every output set, and not a single request to the Hub.

Each case runs the entrypoint as the runner does, against a hostile Hub that records every
request it gets (it must get none).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub_push.outputs import OUTPUT_NAMES
from support import hostile_hub as hh
from support.runner import run_action

MakeExecutor = Callable[..., Path]

#: (inputs, what the one error must name). Values that are secrets must never be echoed.
BAD_INPUTS: list[tuple[dict[str, str], str]] = [
    ({"tags": "has space"}, "Input `tags`"),
    ({"tags": ".starts-with-dot"}, "Input `tags`"),
    ({"tags": "x" * 129}, "Input `tags`"),
    ({"tags": "ok,bad/slash"}, "Input `tags`"),
    ({"tags": "v1\nlatest\nbad tag"}, "Input `tags`"),
    ({"protected-tags": "-dash"}, "Input `protected-tags`"),
    ({"name": "bad name"}, "Input `name`"),
    ({"name": "x" * 65}, "Input `name`"),
    ({"name": "na:me"}, "Input `name`"),
    ({"secret": "abcdef123456"}, "Input `secret`"),
    ({"name": "Exec", "secret": "has a space"}, "Input `secret`"),
    ({"token": "tökén-12345678"}, "Input `token`"),
    ({"token": "line-one\nline-two"}, "Input `token`"),
    ({"github-token": "ghs_é12345678"}, "Input `github-token`"),
    ({"visibility": "secret"}, "Input `visibility`"),
    ({"visibility": "public!"}, "Input `visibility`"),
    ({"build-env": "lower=1"}, "Input `build-env`"),
    ({"build-env": "NO_EQUALS_SIGN"}, "Input `build-env`"),
    ({"build-env": "A=1\nA=2"}, "Input `build-env`"),
    ({"build-env": "_HIDDEN=1"}, "Input `build-env`"),
    ({"build-env": "A=b=c"}, "Input `build-env`"),
    ({"dockerfile": "../Dockerfile"}, "Input `dockerfile`"),
    ({"dockerfile": "/etc/passwd"}, "Input `dockerfile`"),
    ({"dockerfile": "missing.Dockerfile"}, "Input `dockerfile`"),
    ({"platform": "linux amd64"}, "Input `platform`"),
    ({"platform": "linux/amd64;rm"}, "Input `platform`"),
    ({"no-cache": "yes"}, "Input `no-cache`"),
    ({"hub-url": "ftp://example.com"}, "Input `hub-url`"),
    ({"hub-url": "http://127.0.0.1:abc"}, "Input `hub-url`"),
    ({"hub-url": "http://127.0.0.1:99999"}, "Input `hub-url`"),
    ({"hub-url": "http://user:pass@127.0.0.1:1"}, "Input `hub-url`"),
    ({"hub-url": "http://"}, "Input `hub-url`"),
    ({"hub-url": "http://exa mple.com"}, "Input `hub-url`"),
    ({"hub-url": "https://hübble.example"}, "Input `hub-url`"),
    ({"wait": "1"}, "Input `wait`"),
    ({"timeout": "0"}, "Input `timeout`"),
    ({"timeout": "-5s"}, "Input `timeout`"),
    ({"timeout": "10x"}, "Input `timeout`"),
    ({"timeout": "25h"}, "Input `timeout`"),
    ({"timeout": "9" * 30}, "Input `timeout`"),
    ({"timeout": "99999999999999h"}, "Input `timeout`"),
    ({"timeout": "1e400"}, "Input `timeout`"),
    ({"verbose": "maybe"}, "Input `verbose`"),
    ({"dry-run": "on"}, "Input `dry-run`"),
    ({"preflight": "no"}, "Input `preflight`"),
    ({"summary": "off"}, "Input `summary`"),
    ({"max-archive-size": "5K"}, "Input `max-archive-size`"),
    ({"max-archive-size": "0"}, "Input `max-archive-size`"),
    ({"max-archive-size": "-1MB"}, "Input `max-archive-size`"),
    ({"max-archive-size": "2 GB GB"}, "Input `max-archive-size`"),
    ({"max-archive-size": "100B"}, "more than `max-archive-size` (100 B)"),  # packed, too big
    ({"path": "../outside"}, "Input `path`"),
    ({"path": "/etc"}, "Input `path`"),
    ({"path": "link-out"}, "Input `path`"),
    ({"path": "does-not-exist"}, "does not exist"),
    ({"path": "loop"}, "Input `path`"),
    ({"path": "not-utf8", "preflight": "false"}, "not UTF-8"),
    ({"path": "bad-yaml"}, "config.yml"),
]


@pytest.fixture
def workspace(tmp_path: Path, make_executor: MakeExecutor) -> Path:
    """A workspace with a good executor and a few bad folders (and one folder outside)."""
    root = tmp_path / "workspace"
    root.mkdir()
    make_executor("Good", cls="Good")
    good = tmp_path / "Good"
    good.rename(root / "Good")
    (tmp_path / "outside").mkdir()
    (root / "link-out").symlink_to(tmp_path / "outside")
    (root / "loop").symlink_to(root / "loop")
    not_utf8 = root / "not-utf8"
    not_utf8.mkdir()
    (not_utf8 / "config.yml").write_text("jtype: X\nmetas:\n  name: X\n")
    (not_utf8 / os.fsdecode(b"caf\xe9.py")).write_text("x = 1\n")
    bad_yaml = root / "bad-yaml"
    bad_yaml.mkdir()
    (bad_yaml / "config.yml").write_text("jtype: X\nmetas:\n  name: [unclosed\n")
    return root


@pytest.fixture
def hub() -> Iterator[hh.HostileHub]:
    with hh.hostile_hub() as server:
        yield server


def test_there_are_at_least_40_bad_inputs() -> None:
    assert len(BAD_INPUTS) >= 40


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("inputs", "named"), BAD_INPUTS, ids=[repr(i)[:60] for i, _ in BAD_INPUTS])
def test_a_bad_input_is_one_clear_error_and_no_request(
    inputs: dict[str, str], named: str, workspace: Path, hub: hh.HostileHub
) -> None:
    run = run_action(
        {"path": "Good", "hub-url": hub.url, "token": "", "allow-anonymous": "true", **inputs},
        workspace=workspace,
        timeout=25,
    )
    assert run.returncode == 1, run.log
    errors = run.annotations()
    assert len(errors) == 1, run.log
    assert named in errors[0]
    assert "Traceback" not in run.log
    assert "Unexpected error" not in run.log
    assert hub.requests == []  # not a single request to the Hub
    assert list(run.outputs) == list(OUTPUT_NAMES)
    assert run.outputs["build-status"] in ("invalid", "preflight-failed")
    for name in ("token", "secret", "github-token"):
        value = inputs.get(name, "")
        if len(value) >= 8:  # a secret is masked, and never echoed by the error
            unmasked = [line for line in run.log.splitlines() if "add-mask" not in line]
            assert not [line for line in unmasked if value.splitlines()[0] in line]
