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

from stacks import build_app  # noqa: E402
from tests.scenarios import build_scenario_app  # noqa: E402
from tests.synth import Synthesized, new_app, synthesize  # noqa: E402


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example app of app.py, synthesized with cdk.json's context."""
    app = new_app(tmp_path_factory.mktemp("example"))
    build_app(app)
    return synthesize(app)


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every construct scenario, one stack each, in one app."""
    app = new_app(tmp_path_factory.mktemp("scenarios"))
    build_scenario_app(app)
    return synthesize(app)


@pytest.fixture
def snapshot_json(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(JSONSnapshotExtension)
