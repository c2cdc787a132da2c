"""The container smoke run, once per session, and what it saw at the end of the pytest run
(so the CI log keeps the durations, the image size and the outputs)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))  # the harness
from container_smoke import Report, SmokeError, cache_dir, smoke

_seen: list[Report] = []


@pytest.fixture(scope="session")
def smoke_report() -> Report:
    """Runs the whole smoke test; a failed step fails every test that uses it (never a skip)."""
    try:
        report = smoke()
    except SmokeError as error:
        if error.report is not None:
            _seen.append(error.report)
        pytest.fail(f"container smoke test: {error}", pytrace=False)
    _seen.append(report)
    return report


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _seen:
        return
    report = _seen[-1]
    write = terminalreporter.write_line
    terminalreporter.section("container smoke test")
    steps = ", ".join(f"{name} {seconds} s" for name, seconds in report.steps.items())
    write(f"duration: {report.total_seconds} s ({steps})")
    write(f"cache: {report.cache}")
    if report.image:
        write(
            f"image {report.image['name']}: {_mib(report.image['size_bytes'])} on the stand-in "
            f"base; the Dockerfile's layers add {_mib(report.image['added_by_dockerfile_bytes'])}"
        )
        sizes = report.image["installed"].get("sizes", {})
        largest = sorted(sizes.items(), key=lambda item: -item[1])[:6]
        write(
            "largest installed distributions (the stand-in base's pip and setuptools too): "
            + ", ".join(f"{n} {_mib(s)}" for n, s in largest)
        )
    for run in (report.act, report.act_tag, report.docker_run, report.cold_build, report.cold_pull):
        if run is not None:
            write(f"{run.how}: exit {run.exit_code} in {run.seconds:.1f} s; outputs {run.outputs}")
            first = run.summary.strip().splitlines()[:1]
            write(f"{run.how}: step summary, {len(run.summary)} characters: {first}")
    if report.release:
        write(
            f"release rehearsal: pushed {report.release.get('pushed_tags')} to "
            f"{report.release.get('registry')} in {report.release.get('push_seconds')} s"
        )
    for label, run in (
        ("image: Dockerfile, cold build cache", report.cold_build),
        ("prebuilt image, cold pull", report.cold_pull),
    ):
        if run is not None and run.timings:
            write(
                f"start-up, {label}: {run.timings['job_start_to_first_line']} s from the job's "
                f"start to the action's first line ({run.timings['step_start_to_first_line']} s "
                "from the step's)"
            )
    write(f"logs and report.json: {cache_dir() / 'last-run'}")
