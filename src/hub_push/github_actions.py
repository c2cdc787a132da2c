"""Talking to the Actions runner: masks, annotations, log groups, outputs, the step summary.

Built on actions-toolkit's command and file-command writers, the ones `actions_toolkit.core`
wraps (outputs in `GITHUB_OUTPUT`'s heredoc form, `::add-mask::`, groups); `core` itself is
not imported, since it pulls in an HTTP stack for OIDC that the action never uses. Outside a
runner (`GITHUB_ACTIONS` unset) the same calls print plain text, and a secret is never echoed
just to be masked. This module knows nothing of the Hub.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from actions_toolkit.command import issue, issue_command
from actions_toolkit.file_command import prepare_key_value_message

from hub_push.errors import SourceLocation

# Values registered with `mask`, so that our own messages can be redacted too (the runner only
# redacts what reaches the log, not what we write to outputs, the summary or a comment).
_masked: set[str] = set()
#: Shorter values are still masked by the runner, but not redacted from our own text, where
#: replacing every `1` or `ab` would garble messages without protecting anything.
REDACT_MIN_LENGTH = 4


def on_runner() -> bool:
    """True inside a GitHub Actions job (the runner sets `GITHUB_ACTIONS=true`)."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


#: A line the runner would read as a workflow command: `::` after leading white space (the
#: runner trims it), or the legacy `##[` anywhere in the line.
_COMMAND = re.compile(r"^\s*::|##\[", re.MULTILINE)


def encodings(value: str) -> set[str]:
    """The value as it may travel: raw, base64, URL-, JSON- and HTML-encoded."""
    raw = value.encode("utf-8")
    return {
        value,
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii"),
        base64.b64encode(raw).decode("ascii").rstrip("="),
        quote(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
    }


def mask(value: str) -> None:
    """Register a secret so that the runner hides it, and `redact` removes it.

    Called the moment a secret is read. Multi-line values are masked line by line too,
    because the runner matches masks against single log lines; and each in the encodings a
    server might echo it back in (base64, URL, JSON, HTML).
    """
    lines = {value.strip(), *(line.strip() for line in value.splitlines())}
    candidates = {form for line in lines if line for form in encodings(line)}
    for candidate in sorted(c for c in candidates if c):
        if candidate in _masked:
            continue
        _masked.add(candidate)
        if on_runner():
            issue_command("add-mask", {}, candidate)


def workspace() -> Path:
    """The workspace: `GITHUB_WORKSPACE` in Actions, else the current directory."""
    return Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())


def redact(text: str) -> str:
    """`text` with every masked value replaced by `***`, longest first."""
    for secret in sorted(_masked, key=len, reverse=True):
        if len(secret) >= REDACT_MIN_LENGTH:
            text = text.replace(secret, "***")
    return text


def info(message: str) -> None:
    """A log line (or lines), redacted; text that came from a server is welcome here.

    On the runner, no line of it can become a workflow command: when one looks like one,
    the text is printed between `::stop-commands::TOKEN` and `::TOKEN::` with a random token
    (the runner's own way to print untrusted text).
    """
    text = redact(message)
    if on_runner() and _COMMAND.search(text):
        token = secrets.token_hex(16)
        text = f"::stop-commands::{token}\n{text}\n::{token}::"
    print(text, flush=True)


def debug(message: str) -> None:
    """Detail shown when the run is re-run with debug logging (`RUNNER_DEBUG=1`)."""
    if on_runner():
        issue_command("debug", {}, redact(message))
    elif os.environ.get("RUNNER_DEBUG") == "1":
        print("debug: " + redact(message), flush=True)


def _annotate(kind: str, message: str, location: SourceLocation | None, title: str | None) -> None:
    # One line: newlines would cut the annotation; the runner escapes %0A only in data.
    text = " ".join(redact(message).split())
    properties: dict[str, object] = {}
    if title:
        properties["title"] = title
    if location is not None:
        properties["file"] = location.file
        if location.line:
            properties["line"] = location.line
    if on_runner():
        issue_command(kind, properties, text)
    else:  # the message itself names file and line where there is one
        print(f"{kind}: {text}", file=sys.stderr, flush=True)


def error(message: str, location: SourceLocation | None = None, title: str | None = None) -> None:
    _annotate("error", message, location, title)


def warning(message: str, location: SourceLocation | None = None, title: str | None = None) -> None:
    _annotate("warning", message, location, title)


def notice(message: str, title: str | None = None) -> None:
    _annotate("notice", message, None, title)


@contextmanager
def group(title: str) -> Iterator[None]:
    """A foldable section of the job log."""
    if on_runner():
        issue("group", title)
    else:
        print(f"== {title}", flush=True)
    try:
        yield
    finally:
        if on_runner():
            issue("endgroup")


def set_outputs(outputs: Mapping[str, str], *, unredacted: frozenset[str] = frozenset()) -> None:
    """Write every output (creating `GITHUB_OUTPUT`'s file if it is not there yet, and its
    folder); outside a runner, print them instead. Every value is redacted, but those named in
    `unredacted` (a masked secret meant for a later step): a Hub that echoes a secret into a
    name never puts it into an output."""
    outputs = {k: v if k in unredacted else redact(v) for k, v in outputs.items()}
    if path := os.environ.get("GITHUB_OUTPUT"):
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8", newline="") as file:
            for name, value in outputs.items():
                file.write(prepare_key_value_message(name, value) + os.linesep)
        return
    for name, value in outputs.items():
        print(f"{name}={redact(value)}", flush=True)


def append_summary(markdown: str) -> bool:
    """Append to the job's step summary; False when there is no summary file."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("a", encoding="utf-8") as summary:
        summary.write(redact(markdown))
    return True
