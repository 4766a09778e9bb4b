"""The example app and the construct scenarios the selected tests declare synthesize once per
session, in parallel workers; the fixtures give each test what it declared."""

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

WORKERS = max(1, (os.cpu_count() or 2) - 1)
"""Synthesis workers: every core but one, which the tests that build constructs in this
process keep (on 2 cores: one worker synthesizes while the other core runs those tests)."""
_SYNTHESIS = pytest.StashKey[synth_worker.Synthesis]()


def _uses(item: pytest.Item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


def _needs_synthesis(item: pytest.Item) -> int:
    """0: nothing, 1: templates and metadata, 2: findings too (the workers lint last), 3: the
    app without feature flags (built after the linters)."""
    if _uses(item, "no_feature_flags"):
        return 3
    if not (_uses(item, "example") or _uses(item, "scenarios")):
        return 0
    return 2 if _reads_findings(item) else 1


def _reads_findings(item: pytest.Item) -> bool:
    return item.get_closest_marker("findings") is not None


def declared_scenarios(item: pytest.Item) -> frozenset[str]:
    """The scenarios ``item`` declares: ``@pytest.mark.scenarios("Name", ...)`` on the test,
    its class or its module (``pytestmark``), and ``param="stack"`` for the value of that
    parameter of a parametrized test."""
    names: set[str] = set()
    for mark in item.iter_markers("scenarios"):
        unknown_options = set(mark.kwargs) - {"param"}
        if unknown_options:
            raise pytest.UsageError(f"{item.nodeid}: scenarios marker takes no {unknown_options}")
        names.update(mark.args)
        if "param" in mark.kwargs:
            params = getattr(item, "callspec", None)
            if params is None or mark.kwargs["param"] not in params.params:
                raise pytest.UsageError(f"{item.nodeid}: no parameter {mark.kwargs['param']!r}")
            names.add(params.params[mark.kwargs["param"]])
    unknown = sorted(names - set(load_all()))
    if unknown:
        raise pytest.UsageError(f"{item.nodeid} declares unknown scenarios {unknown}")
    return frozenset(names)


def session_plan(items: list[pytest.Item]) -> synth_worker.Plan:
    """What a session synthesizes and lints, decided from its selected tests alone: the example
    app if a test uses it, the scenarios the tests declare, and the rule packs, checkov and
    cfn-lint only for what the tests marked ``findings`` use."""
    plan = synth_worker.Plan()
    for item in items:
        plan.no_feature_flags |= _uses(item, "no_feature_flags")
        findings = _reads_findings(item)
        if _uses(item, "example"):
            plan.example = True
            plan.lint_example |= findings
        if _uses(item, "scenarios"):
            declared = declared_scenarios(item)
            plan.scenarios |= declared
            if findings:
                plan.checked |= declared
    return plan


@pytest.hookimpl(trylast=True)  # after -k, -m and --deselect have dropped their tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start synthesizing for the selected tests as soon as they are known. The tests that
    need no synthesis run first, while the workers synthesize; those that read findings run
    last, while the workers lint."""
    if config.getoption("collectonly"):
        return
    from tests import test_docs, test_readme

    test_readme.start_whole_apps(
        item.callspec.params["section"]
        for item in items
        if getattr(item, "originalname", "") == "test_whole_app_synthesizes_without_findings"
    )
    if any(item.name == "test_the_api_reference_builds_without_warnings" for item in items):
        test_docs.start_build()
    plan = session_plan(items)
    if plan:
        workdir = Path(tempfile.mkdtemp(prefix="ecs-patterns-plus-synth-"))
        config.stash[_SYNTHESIS] = synth_worker.Synthesis(workdir, WORKERS, plan)
        items.sort(key=_needs_synthesis)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Let the workers finish (end them if the run was cut short); remove what they wrote."""
    from tests import test_docs, test_readme

    test_readme.stop_whole_apps()
    test_docs.stop_build()
    synthesis = session.config.stash.get(_SYNTHESIS, None)
    if synthesis is not None:
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        synthesis.stop(kill=interrupted or bool(session.shouldfail or session.shouldstop))
        shutil.rmtree(synthesis.workdir, ignore_errors=True)


@pytest.fixture
def example(request: pytest.FixtureRequest) -> Synthesized:
    """The example app of app.py, synthesized with cdk.json's context (and its rule packs);
    findings are readable only by tests marked ``findings``."""
    findings = _reads_findings(request.node)
    synthesized = request.config.stash[_SYNTHESIS].example(findings=findings)
    return synthesized.declared_by(request.node.nodeid, None, findings=findings)


@pytest.fixture
def scenarios(request: pytest.FixtureRequest) -> Synthesized:
    """The construct scenarios the test declares (``@pytest.mark.scenarios``), synthesized;
    reading any other fails, and so does reading findings without ``@pytest.mark.findings``."""
    declared = declared_scenarios(request.node)
    if not declared:
        pytest.fail(
            f"{request.node.nodeid} uses the scenarios fixture but declares no scenario: add "
            '@pytest.mark.scenarios("Name", ...) or, if parametrized, '
            '@pytest.mark.scenarios(param="stack")',
            pytrace=False,
        )
    findings = _reads_findings(request.node)
    synthesized = request.config.stash[_SYNTHESIS].scenarios(findings=findings)
    return synthesized.declared_by(request.node.nodeid, declared, findings=findings)


@pytest.fixture
def no_feature_flags(request: pytest.FixtureRequest) -> Synthesized:
    """An app without any of cdk.json's feature flags (``tests/no_feature_flags.py``), with
    every rule pack, synthesized by a worker."""
    return request.config.stash[_SYNTHESIS].no_feature_flags()


@pytest.fixture
def snapshot_json(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(JSONSnapshotExtension)
