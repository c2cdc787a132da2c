"""Extract what the tests' GitHub double needs from GitHub's own descriptions (npm packages).

- `@octokit/openapi` (GitHub's OpenAPI description, regenerated for Octokit): the operations
  the action calls, from `generated/api.github.com.deref.json` (every `$ref` resolved), with
  their parameters, request body schema and success response schemas.
- `@octokit/webhooks-examples`: the event payloads the tests run the action on.

Both packages are hundreds of MB or many files; the subsets are committed as
`tests/support/github_openapi.json` and `tests/support/github_events.json`, and
`tests/e2e/test_github_description.py` fetches the packages again (`npm pack`) and checks that
this script still writes the very same files.

    python scripts/github_api_subset.py            # npm pack both, rewrite both files
    python scripts/github_api_subset.py --check    # exit 1 when a committed file differs
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OPENAPI_PACKAGE = "@octokit/openapi@23.0.2"
EXAMPLES_PACKAGE = "@octokit/webhooks-examples@7.6.1"
OPENAPI_FILE = ROOT / "tests" / "support" / "github_openapi.json"
EVENTS_FILE = ROOT / "tests" / "support" / "github_events.json"

#: The operations the action makes through PyGithub (and the double serves).
OPERATIONS = [
    ("get", "/repos/{owner}/{repo}"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("get", "/repos/{owner}/{repo}/actions/secrets/public-key"),
    ("put", "/repos/{owner}/{repo}/actions/secrets/{secret_name}"),
]
#: The event payloads the tests use: (event, action, index among that event's examples).
EVENTS = [
    ("pull_request", "opened", 0),
    ("push", None, 0),
    ("workflow_run", "completed", 2),  # lists another repository's pull request
    ("merge_group", "checks_requested", 0),
]


def npm_pack(package: str, folder: Path) -> Path:
    """`npm pack` the package into `folder`; the tarball's path."""
    done = subprocess.run(
        ["npm", "pack", package, "--silent", "--pack-destination", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return folder / done.stdout.strip().splitlines()[-1]


def member(tarball: Path, name: str) -> Any:
    with tarfile.open(tarball) as archive:
        handle = archive.extractfile(f"package/{name}")
        if handle is None:
            raise SystemExit(f"{tarball.name} has no {name}")
        return json.load(handle)


def openapi_subset(tarball: Path) -> dict[str, Any]:
    spec = member(tarball, "generated/api.github.com.deref.json")
    operations = []
    for method, path in OPERATIONS:
        operation = spec["paths"][path][method]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        operations.append(
            {
                "method": method.upper(),
                "path": path,
                "operationId": operation["operationId"],
                "parameters": [
                    {k: p[k] for k in ("name", "in", "required", "schema") if k in p}
                    for p in operation.get("parameters", [])
                ],
                "requestBody": body.get("schema"),
                "responses": {
                    status: answer.get("content", {}).get("application/json", {}).get("schema")
                    for status, answer in operation["responses"].items()
                    if status.startswith("2")
                },
            }
        )
    return {
        "source": f"{OPENAPI_PACKAGE} generated/api.github.com.deref.json",
        "openapi": spec["openapi"],
        "operations": operations,
    }


def events_subset(tarball: Path) -> dict[str, Any]:
    index = {
        entry["name"]: entry["examples"] for entry in member(tarball, "api.github.com/index.json")
    }
    chosen: dict[str, Any] = {}
    for event, action, number in EVENTS:
        examples = [e for e in index[event] if e.get("action") == action]
        chosen[event] = examples[number]
    return {"source": f"{EXAMPLES_PACKAGE} api.github.com/index.json", "events": chosen}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--out", type=Path, help="write into this folder instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="octokit-") as scratch:
        folder = Path(scratch)
        wanted = {
            OPENAPI_FILE: render(openapi_subset(npm_pack(OPENAPI_PACKAGE, folder))),
            EVENTS_FILE: render(events_subset(npm_pack(EXAMPLES_PACKAGE, folder))),
        }
    differ = []
    for path, text in wanted.items():
        target = args.out / path.name if args.out else path
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                differ.append(path.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target} ({len(text)} characters)")
    if differ:
        print("differs from what the packages give: " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
