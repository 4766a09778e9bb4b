"""Session fixtures: the example app and the scenario app synthesize once and are shared."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# jsii runs on the project's Node 22 (node_modules/.bin) even when pytest is started by hand.
_NODE = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "node"
if _NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_NODE))

import pytest  # noqa: E402
from syrupy.extensions.json import JSONSnapshotExtension  # noqa: E402

from tests import synth_worker  # noqa: E402
from tests.scenarios import load_all  # noqa: E402
from tests.synth import Synthesized  # noqa: E402

WORKERS = max(2, os.cpu_count() or 2)
_SYNTHESIZED = ("example", "scenarios")
_SYNTHESIS = pytest.StashKey[synth_worker.Synthesis]()


def _needs_synthesis(item: pytest.Item) -> bool:
    return any(name in _SYNTHESIZED for name in getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start synthesis as soon as the session is known to need it, and run the tests that do
    not need it first, while the workers synthesize."""
    if any(map(_needs_synthesis, items)):
        workdir = Path(tempfile.mkdtemp(prefix="ecs-patterns-plus-synth-"))
        config.stash[_SYNTHESIS] = synth_worker.Synthesis(workdir, WORKERS, list(load_all()))
        items.sort(key=_needs_synthesis)


def pytest_unconfigure(config: pytest.Config) -> None:
    synthesis = config.stash.get(_SYNTHESIS, None)
    if synthesis is not None:
        synthesis.stop()
        shutil.rmtree(synthesis.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def example(pytestconfig: pytest.Config) -> Synthesized:
    """The example app of app.py, synthesized with cdk.json's context."""
    return pytestconfig.stash[_SYNTHESIS].example()


@pytest.fixture(scope="session")
def scenarios(pytestconfig: pytest.Config) -> Synthesized:
    """Every construct scenario, one stack each (synthesized in parallel shares)."""
    return pytestconfig.stash[_SYNTHESIS].scenarios()


@pytest.fixture
def snapshot_json(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(JSONSnapshotExtension)
