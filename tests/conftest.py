"""Session fixtures: the example app and the scenario app synthesize once and are shared."""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from stacks import build_app
from tests.scenarios import build_scenario_app
from tests.synth import Synthesized, new_app, synthesize


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
