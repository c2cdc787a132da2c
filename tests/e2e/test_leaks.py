"""No secret leaks, on any path: a harness over many runs against a Hub that echoes every secret
back in every field it sends.

Each scenario runs the entrypoint as the runner runs it, with a login token, an update secret,
a build-env value and a GitHub token (and, for first publishes, the SECRET the Hub returns),
then looks for every secret raw, base64-, URL-, JSON- and HTML-encoded, and as any 16-character
piece, in stdout and stderr (but the `::add-mask::` lines that register them), every output but
`secret`, the step summary, and every file left behind in HOME, the temp dir and the workspace.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from support import hostile_hub as hh
from support.executors import make_executor_folder
from support.runner import ActionRun, run_action

TOKEN = "tok" + secrets.token_hex(16)
SECRET = "sec" + secrets.token_hex(16)
BUILD_VALUE = "bld" + secrets.token_hex(16)
GITHUB_TOKEN = "ghs_" + secrets.token_hex(18)
RETURNED = "ret" + secrets.token_hex(16)  # the SECRET a first publish returns, once
SECRETS = (TOKEN, SECRET, BUILD_VALUE, GITHUB_TOKEN, RETURNED)
PIECE = 16

Plan = Callable[[hh.HostileHub], None]


@dataclass(frozen=True)
class Scenario:
    id: str
    plan: Plan = lambda hub: None
    inputs: dict[str, str] = field(default_factory=dict)
    debug: bool = False
    #: the Hub leaves the echo out (a well-behaved Hub, for the happy paths)
    quiet: bool = False


def ok(task: bool = True, secret: str = "") -> Plan:
    def plan(hub: hh.HostileHub) -> None:
        hub.script("user.identity.whoami", hh.whoami())
        hub.script("executor.push", hh.push_ok(task=task, secret=secret))
        hub.script("executor.listAsyncTasks", hh.tasks(hh.task_entry()))
        hub.script("executor.queryProgress", hh.progress("succeeded"))

    return plan


def with_(base: Plan, method: str, *behaviours: hh.Behaviour) -> Plan:
    def plan(hub: hh.HostileHub) -> None:
        base(hub)
        hub.script(method, *behaviours)

    return plan


LOGIN = {"token": TOKEN}
UPDATE = {"name": "Hostile", "secret": SECRET}
FIRST = {"token": ""}
QUICK = {"timeout": "3s"}

SCENARIOS = [
    Scenario("login-push", ok(), LOGIN),
    Scenario("login-push-quiet-hub", ok(), LOGIN, quiet=True),
    Scenario("login-push-verbose", ok(), {**LOGIN, "verbose": "true"}),
    Scenario("login-push-debug", ok(), LOGIN, debug=True),
    Scenario("first-publish", ok(secret=RETURNED), FIRST),
    Scenario(
        "first-publish-debug-verbose", ok(secret=RETURNED), {**FIRST, "verbose": "true"}, True
    ),
    Scenario("update", ok(), UPDATE),
    Scenario("update-debug", ok(), {**UPDATE, "verbose": "true"}, debug=True),
    Scenario("no-wait", ok(), {**LOGIN, "wait": "false"}),
    Scenario("dry-run", ok(), {**LOGIN, "dry-run": "true"}, debug=True),
    Scenario("no-task-in-stream", ok(task=False), LOGIN),
    Scenario(
        "login-refused", with_(ok(), "user.identity.whoami", hh.status(401, 40103, "bad")), LOGIN
    ),
    Scenario("login-5xx", with_(ok(), "user.identity.whoami", hh.status(500)), {**LOGIN, **QUICK}),
    Scenario("login-hangs", with_(ok(), "user.identity.whoami", hh.hang), {**LOGIN, **QUICK}),
    Scenario("push-400", with_(ok(), "executor.push", hh.status(400, 40001, "bad form")), LOGIN),
    Scenario("push-500", with_(ok(), "executor.push", hh.status(500)), LOGIN),
    Scenario("push-500-debug", with_(ok(), "executor.push", hh.status(500)), UPDATE, debug=True),
    Scenario("push-refused-line", with_(ok(), "executor.push", hh.push_error_line()), UPDATE),
    Scenario("push-breaks", with_(ok(), "executor.push", hh.push_then("break")), LOGIN),
    Scenario("push-garbage", with_(ok(), "executor.push", hh.push_then("garbage")), LOGIN),
    Scenario("push-blank-forever", with_(ok(), "executor.push", hh.push_then("blank")), QUICK),
    Scenario("push-hangs", with_(ok(), "executor.push", hh.push_then("hang")), {**LOGIN, **QUICK}),
    Scenario("push-stalls-upload", with_(ok(), "executor.push", hh.stop_reading), QUICK),
    Scenario("no-task-found", with_(ok(task=False), "executor.listAsyncTasks", hh.tasks()), LOGIN),
    Scenario(
        "tasks-5xx",
        with_(ok(task=False), "executor.listAsyncTasks", hh.status(503), hh.status(503)),
        {**LOGIN, **QUICK},
    ),
    Scenario("build-fails", with_(ok(), "executor.queryProgress", hh.progress("failed")), LOGIN),
    Scenario(
        "build-fails-debug-verbose",
        with_(ok(), "executor.queryProgress", hh.progress("failed")),
        {**UPDATE, "verbose": "true"},
        debug=True,
    ),
    Scenario("build-forever", with_(ok(), "executor.queryProgress", hh.progress("forever")), QUICK),
    Scenario(
        "status-refused",
        with_(ok(), "executor.queryProgress", hh.status(404, 40403, "no such task")),
        LOGIN,
    ),
    Scenario(
        "status-5xx-then-ok",
        with_(ok(), "executor.queryProgress", hh.status(502), hh.progress("succeeded")),
        LOGIN,
    ),
    Scenario(
        "retry-after-too-long",
        with_(ok(), "user.identity.whoami", hh.status(429, 42900, "later", "3600")),
        LOGIN,
    ),
    Scenario("bad-input", ok(), {"name": "Hostile", "secret": SECRET + " x"}),
    Scenario("bad-build-env", ok(), {**LOGIN, "build-env": f"lower={BUILD_VALUE}"}),
    Scenario("hub-unreachable", ok(), {**LOGIN, **QUICK, "hub-url": "http://127.0.0.1:9"}),
]


def forms(secret: str) -> set[str]:
    raw = secret.encode()
    encoded = {
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        html.escape(secret),
    }
    pieces = {secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)}
    return encoded | pieces


def leaks(text: str, where: str, watched: set[str] = set(SECRETS)) -> list[str]:  # noqa: B006
    """Every watched secret found in `text`, in any of its forms."""
    found = []
    for secret in watched:
        for form in forms(secret):
            if form in text:
                found.append(f"{secret[:3]}… as {form[:6]}… in {where}")
                break
    return found


def files_under(*roots: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return texts


def test_the_harness_has_at_least_30_scenarios() -> None:
    assert len(SCENARIOS) >= 30


def test_the_harness_sees_a_leak_when_there_is_one() -> None:
    assert leaks(f"x{TOKEN[5:21]}y", "text")  # a 16-character piece
    assert leaks(base64.b64encode(SECRET.encode()).decode(), "text")
    assert not leaks("nothing here", "text")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_no_secret_leaks(scenario: Scenario, tmp_path: Path) -> None:
    home, temp, workspace = tmp_path / "home", tmp_path / "tmp", tmp_path / "workspace"
    for folder in (home, temp, workspace):
        folder.mkdir()
    make_executor_folder(workspace, "Hostile", cls="Hostile")
    before = set(files_under(workspace))
    echo = "" if scenario.quiet else " ".join(SECRETS)
    with hh.hostile_hub(echo=echo) as hub:
        scenario.plan(hub)
        inputs = {
            "path": "Hostile",
            "hub-url": hub.url,
            "timeout": "20s",
            "build-env": f"TOKEN_FOR_PIP={BUILD_VALUE}",
            "github-token": GITHUB_TOKEN,
            "allow-anonymous": "true",  # the scenarios without a credential publish on purpose
            **scenario.inputs,
        }
        env = {"HOME": str(home), "TMPDIR": str(temp), "TMP": str(temp)}
        if scenario.debug:
            env["RUNNER_DEBUG"] = "1"
        run = run_action(inputs, workspace=workspace, env=env, timeout=50)
    # The secrets this run had: the ones it was given, and the SECRET the Hub returned to it.
    # (A Hub that echoes strings the action never had cannot be redacted, and isn't a leak.)
    watched = {s for s in SECRETS if any(s in value for value in run.env.values())}
    if run.outputs.get("secret") == RETURNED:
        watched.add(RETURNED)
    found: list[str] = []
    log_lines = [line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")]
    found += leaks("\n".join(log_lines), "stdout", watched)
    found += leaks(run.stderr, "stderr", watched)
    found += leaks(run.summary, "the step summary", watched)
    for name, value in run.outputs.items():
        found += leaks(
            value, f"output {name}", watched - ({RETURNED} if name == "secret" else set())
        )
    left = files_under(home, temp, workspace)
    for path in set(left) - before:
        found += leaks(left[path], path, watched)
    assert found == [], found
    assert_masked_before_use(run)


def assert_masked_before_use(run: ActionRun) -> None:
    """Every secret the run was given is registered with `::add-mask::` before anything else."""
    lines = run.stdout.splitlines()
    first = next((i for i, line in enumerate(lines) if not line.startswith("::add-mask::")), 0)
    for secret in (s for s in SECRETS if any(s in value for value in run.env.values())):
        masks = [line.removeprefix("::add-mask::") for line in lines[:first]]
        assert [m for m in masks if secret in m], secret[:3]
