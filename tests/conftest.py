"""Session fixtures: the example app and the scenario app synthesize once and are shared."""

from __future__ import annotations

import os
from pathlib import Path

# jsii runs on the project's Node 22 (node_modules/.bin) even when pytest is started by hand.
_NODE = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "node"
if _NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_NODE))

import pytest  # noqa: E402
from syrupy.extensions.json import JSONSnapshotExtension  # noqa: E402

from tests import synth_worker  # noqa: E402
from tests.synth import Synthesized  # noqa: E402

SCENARIO_WORKERS = max(2, os.cpu_count() or 2)


@pytest.fixture(scope="session")
def _synthesis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[synth_worker.Job]]:
    """Start every synthesis at once: the example app and shares of the scenario app."""
    jobs = {
        "example": [synth_worker.start(["example"], tmp_path_factory.mktemp("example"))],
        "scenarios": [
            synth_worker.start(
                ["scenarios", str(index), str(SCENARIO_WORKERS)],
                tmp_path_factory.mktemp(f"scenarios{index}"),
            )
            for index in range(SCENARIO_WORKERS)
        ],
    }
    yield jobs
    for job in (job for group in jobs.values() for job in group):
        job.process.kill()


@pytest.fixture(scope="session")
def example(_synthesis: dict[str, list[synth_worker.Job]]) -> Synthesized:
    """The example app of app.py, synthesized with cdk.json's context."""
    return synth_worker.collect(_synthesis["example"])


@pytest.fixture(scope="session")
def scenarios(_synthesis: dict[str, list[synth_worker.Job]]) -> Synthesized:
    """Every construct scenario, one stack each (synthesized in parallel shares)."""
    return synth_worker.collect(_synthesis["scenarios"])


@pytest.fixture
def snapshot_json(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(JSONSnapshotExtension)
