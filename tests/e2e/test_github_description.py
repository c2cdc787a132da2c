"""The GitHub double's description is GitHub's own: the committed subsets of
`@octokit/openapi` and `@octokit/webhooks-examples` are what the packages give today (fetched
with `npm pack` from the npm registry), and the double refuses what GitHub refuses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import github_rules
from support.github_api import github_api

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_the_committed_subsets_are_what_the_npm_packages_give() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "github_api_subset.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_operation_the_double_serves_is_described() -> None:
    served = {(op.method, op.path) for op in github_rules.operations()}
    assert ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}") in served
    assert len(served) == 12


def test_the_double_answers_a_bad_request_as_github_does() -> None:
    import json
    import urllib.error
    import urllib.request

    with github_api() as api:
        api.violations_expected = True
        request = urllib.request.Request(
            f"{api.api_url}/repos/o/r/statuses/{'a' * 40}",
            data=json.dumps({"state": "green", "description": "x" * 141}).encode(),
            headers={"Authorization": "token t", "Content-Type": "application/json"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        body = json.loads(refused.value.read())
        assert refused.value.code == 422
        assert body["message"] == "Validation Failed"
        assert body["documentation_url"].startswith("https://docs.github.com/")
        assert refused.value.headers["x-github-request-id"]
        assert len(api.violations) == 2  # the enum, and the 140-character description
