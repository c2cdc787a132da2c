"""Running the action's entrypoint the way the GitHub Actions runner does, outside a container.

Used by the tests and the demo: every input declared in action.yml arrives as
`INPUT_<NAME>` (upper-cased, hyphens kept), with its default when the workflow does not set
it; file commands (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) are fresh files; outputs are read
back with the runner's rules for `name=value` and `name<<DELIMITER` blocks.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ACTION_YML = REPO_ROOT / "action.yml"
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def action_inputs(action_yml: Path = ACTION_YML) -> dict[str, str]:
    """Declared inputs and their defaults (a `${{ … }}` default becomes empty, as for a fork)."""
    spec = yaml.safe_load(action_yml.read_text(encoding="utf-8"))
    inputs: dict[str, str] = {}
    for name, declared in (spec.get("inputs") or {}).items():
        default = str((declared or {}).get("default", ""))
        inputs[name] = _EXPRESSION.sub("", default)
    return inputs


def input_variable(name: str) -> str:
    """The runner's variable for an input: spaces → `_`, upper-cased, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def parse_file_command(text: str) -> dict[str, str]:
    """Read a `GITHUB_OUTPUT`-style file as the runner does."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            if index >= len(lines):
                raise ValueError(f"output {name!r}: delimiter {delimiter!r} never closes")
            index += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise ValueError(f"not a file command line: {line!r}")
    return values


@dataclass(frozen=True)
class ActionRun:
    """What one run of the entrypoint left behind."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    env: dict[str, str]

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    def masks(self) -> set[str]:
        """Values registered with `::add-mask::`."""
        return {
            line.split("::add-mask::", 1)[1]
            for line in self.log.splitlines()
            if line.startswith("::add-mask::")
        }

    def annotations(self, kind: str = "error") -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith(f"::{kind}")]

    def commands(self) -> list[tuple[str, str]]:
        """(name, data) of every workflow command the runner would act on in stdout."""
        return workflow_commands(self.stdout)


#: A `::name props::data` command as the runner reads it (after trimming leading space).
_V2 = re.compile(r"::([A-Za-z-]+)(?: [^:]*)?::(.*)")


def workflow_commands(text: str) -> list[tuple[str, str]]:
    """The commands a runner would act on in `text`, as its parser reads them.

    Follows `::stop-commands::TOKEN` (nothing is a command until a `::TOKEN::` line) and the
    legacy `##[name]data` form, which the runner finds anywhere in a line.
    """
    found: list[tuple[str, str]] = []
    stopped_by = ""
    for line in text.split("\n"):
        trimmed = line.lstrip()
        if stopped_by:
            if trimmed.rstrip("\r") == f"::{stopped_by}::":
                stopped_by = ""
            continue
        if match := _V2.match(trimmed):
            name, data = match.group(1), match.group(2)
            if name == "stop-commands":
                stopped_by = data.strip()
                continue
            found.append((name, data))
        elif "##[" in line:
            start = line.index("##[") + 3
            end = line.find("]", start)
            if end > start:
                found.append((line[start:end].split(" ")[0], line[end + 1 :]))
    return found


def run_action(
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] = (sys.executable, "-m", "hub_push"),
    timeout: float = 120,
    interrupt_when: str = "",
) -> ActionRun:
    """Run the entrypoint with runner-style variables; `inputs` override action.yml defaults.

    With `interrupt_when`, the run gets SIGTERM (the runner's cancel) as soon as a line of its
    standard output contains that text."""
    declared = action_inputs()
    unknown = set(inputs) - set(declared)
    if unknown:
        raise ValueError(f"inputs not declared in action.yml: {sorted(unknown)}")
    with tempfile.TemporaryDirectory(prefix="runner-") as scratch:
        files = Path(scratch)
        output_file, summary_file = files / "output", files / "step_summary"
        output_file.touch()
        summary_file.touch()
        (files / "home").mkdir()
        run_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(files / "home"),
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "RUNNER_TEMP": str(files),
            "NO_PROXY": "127.0.0.1,localhost",
        }
        for name, default in declared.items():
            run_env[input_variable(name)] = inputs.get(name, default)
        run_env.update(env or {})
        if interrupt_when:
            run_env["PYTHONUNBUFFERED"] = "1"
            completed = _interrupted(command, workspace, run_env, interrupt_when, timeout)
        else:
            completed = subprocess.run(
                list(command),
                cwd=workspace,
                env=run_env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        return ActionRun(
            returncode=completed.returncode,
            stdout=completed.stdout,
            stderr=completed.stderr,
            outputs=parse_file_command(output_file.read_text(encoding="utf-8")),
            summary=summary_file.read_text(encoding="utf-8"),
            env=run_env,
        )


def _interrupted(
    command: Sequence[str], workspace: Path, env: dict[str, str], when: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run `command`, sending SIGTERM once a line of its output contains `when`."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        process = subprocess.Popen(
            list(command), cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        lines: list[str] = []
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if when in line and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    when = "\0never"  # once
            process.wait()
        finally:
            timer.cancel()
        errors.seek(0)
        return subprocess.CompletedProcess(
            command, process.returncode, "".join(lines), errors.read()
        )


def push_folder(
    folder: Path,
    hub_url: str,
    env: Mapping[str, str] | None = None,
    *,
    limit: str = "60s",
    **inputs: str,
) -> ActionRun:
    """Push the executor `folder` (its parent is the workspace) to `hub_url` as a step would,
    within `limit` (the `timeout` input); `inputs` as the workflow gives them."""
    return run_action(
        {"path": folder.name, "hub-url": hub_url, "timeout": limit, **inputs},
        workspace=folder.parent,
        env=env,
        timeout=100,
    )
