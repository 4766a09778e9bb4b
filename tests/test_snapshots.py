"""Template snapshots of every example stack and every construct scenario.

Review their diffs in pull requests; regenerate with ``pytest --snapshot-update`` (CI never does).
Each guarantee a snapshot shows is also named by an intent test.
"""

from __future__ import annotations

import pytest

from tests.scenarios import load_all
from tests.snapshot import normalise
from tests.synth import Synthesized
from tests.test_compliance import EXAMPLE_STACKS


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stack(example: Synthesized, stack: str, snapshot_json) -> None:  # type: ignore[no-untyped-def]
    assert normalise(example.template_json(stack)) == snapshot_json


@pytest.mark.parametrize("stack", sorted(load_all()))
@pytest.mark.scenarios(param="stack")
def test_scenario(scenarios: Synthesized, stack: str, snapshot_json) -> None:  # type: ignore[no-untyped-def]
    assert normalise(scenarios.template_json(stack)) == snapshot_json
