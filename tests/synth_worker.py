"""Synthesize the example app and construct scenarios in a process of its own.

    python -m tests.synth_worker OUTDIR [--example] [--lint-example]
        [--scenarios NAME...] [--checked NAME...]

Writes into OUTDIR: ``example/`` (the example app of app.py, whose rule packs are always
on), ``scenarios/`` (the ``--scenarios``, without rule packs) and ``checked/`` (the
``--checked`` scenarios, with the rule packs on). checkov and cfn-lint then run on
``checked/`` and, with ``--lint-example``, on ``example/``.

The test session runs these in parallel (one per core) and reads what they write:
templates, metadata, the rule-pack report, and checkov's and cfn-lint's findings. A
worker prints ``synthesized`` once every template is written, before linting. A
validation failure still writes all of them, so the worker exits 0 then.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.synth import ROOT, Synthesized, read_outdirs

NODE = ROOT / "node_modules" / ".bin" / "node"

BACKGROUND_NICENESS = 10
"""The synthesis workers and the other processes the session starts beside its tests (whole
README apps, the API reference) run below the session's priority: whenever the session's own
process has a test to run, it keeps a whole core, and the background takes what is left."""


def in_background() -> None:
    """``preexec_fn`` of a background process: lower its priority (its children inherit it)."""
    os.nice(BACKGROUND_NICENESS)


# What each part costs to synthesize (and lint), in scenarios synthesized without rule packs
# (measured on the whole suite and on the snapshot tests alone).
SCENARIO_WEIGHT = 1
CHECKED_WEIGHT = 10
EXAMPLE_WEIGHT = 32
LINTED_EXAMPLE_WEIGHT = 70
NO_FEATURE_FLAGS_WEIGHT = 10
NO_FEATURE_FLAGS = "no-feature-flags"
"""The output directory of the app without feature flags, in its worker's directory."""

SYNTHESIZED = "synthesized"
"""What a worker prints on stdout once it has written every template (before linting)."""


def run(argv: list[str]) -> None:
    from stacks.app import build_app
    from tests.scenarios import build_scenario_app
    from tests.synth import new_app, synthesize
    from tests.validators import lint_outdirs

    parser = argparse.ArgumentParser(prog="python -m tests.synth_worker")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--example", action="store_true")
    parser.add_argument("--lint-example", action="store_true")
    parser.add_argument("--scenarios", nargs="+", default=[])
    parser.add_argument("--checked", nargs="+", default=[])
    parser.add_argument("--no-feature-flags", action="store_true")
    args = parser.parse_args(argv)
    linted = []
    if args.example:
        example = new_app(args.outdir / "example")
        build_app(example)
        report(synthesize(example))
        if args.lint_example:
            linted.append(Path(example.outdir))
    if args.checked:
        checked = new_app(args.outdir / "checked")
        build_scenario_app(checked, args.checked)
        report(synthesize(checked))
        linted.append(Path(checked.outdir))
    if args.scenarios:
        # No rule packs: any error here is a broken scenario, and fails the worker.
        plain = new_app(args.outdir / "scenarios")
        build_scenario_app(plain, args.scenarios, rule_packs=False)
        plain.synth()
    print(SYNTHESIZED, flush=True)  # the tests that read templates only can start
    lint_outdirs(linted)
    if args.no_feature_flags:  # its test runs last: it waits for the worker to exit
        from tests.no_feature_flags import build_app

        report(synthesize(build_app(args.outdir / NO_FEATURE_FLAGS)))


def report(synthesized: Synthesized) -> None:
    for error in synthesized.synth_errors:
        print(error, file=sys.stderr)


@dataclass
class Share:
    """One worker's part of a session's synthesis."""

    example: bool = False
    lint_example: bool = False
    scenarios: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    no_feature_flags: bool = False
    load: int = 0

    def args(self) -> list[str]:
        return [
            *(["--no-feature-flags"] if self.no_feature_flags else []),
            *(["--example"] if self.example else []),
            *(["--lint-example"] if self.lint_example else []),
            *(["--scenarios", *self.scenarios] if self.scenarios else []),
            *(["--checked", *self.checked] if self.checked else []),
        ]


@dataclass
class Plan:
    """What a test session synthesizes: the example app or not, and which scenarios; and
    what it checks for findings (rule packs, checkov, cfn-lint)."""

    example: bool = False
    lint_example: bool = False
    scenarios: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)
    """Of ``scenarios``, those synthesized with the rule packs on, then linted."""
    no_feature_flags: bool = False
    """The app without cdk.json's feature flags (``tests/no_feature_flags.py``)."""

    def __bool__(self) -> bool:
        return self.example or bool(self.scenarios) or self.no_feature_flags

    def deal(self, workers: int) -> list[Share]:
        """Deal the work out by load, heaviest first, each part to the lightest share."""
        shares = [Share() for _ in range(workers)]
        if self.example:
            shares[0].example, shares[0].lint_example = True, self.lint_example
            shares[0].load = LINTED_EXAMPLE_WEIGHT if self.lint_example else EXAMPLE_WEIGHT
        parts = [(CHECKED_WEIGHT, name) for name in sorted(self.checked)]
        parts += [(SCENARIO_WEIGHT, name) for name in sorted(self.scenarios - self.checked)]
        for weight, name in parts:
            lightest = min(shares, key=lambda share: share.load)
            (lightest.checked if name in self.checked else lightest.scenarios).append(name)
            lightest.load += weight
        if self.no_feature_flags:
            lightest = min(shares, key=lambda share: share.load)
            lightest.no_feature_flags = True
            lightest.load += NO_FEATURE_FLAGS_WEIGHT
        return [share for share in shares if share.load]


class Synthesis:
    """The worker processes of one test session, started together, waited for once."""

    def __init__(self, workdir: Path, workers: int, plan: Plan) -> None:
        self.workdir = workdir
        shares = plan.deal(workers)
        self.outdirs = [workdir / str(index) for index in range(len(shares))]
        self.processes = [
            start(outdir, share) for outdir, share in zip(self.outdirs, shares, strict=True)
        ]
        self._synthesized = self._linted = False
        self._example: Synthesized | None = None
        self._scenarios: Synthesized | None = None

    def _failed(self, index: int) -> RuntimeError:
        process = self.processes[index]
        process.wait()
        stderr = (self.outdirs[index] / "stderr.txt").read_text()
        return RuntimeError(f"synthesis worker failed ({process.returncode}):\n{stderr}")

    def wait(self, *, findings: bool) -> None:
        """Wait until every worker has written its templates and, for ``findings``, has also
        run checkov and cfn-lint on them."""
        if not self._synthesized:
            for index, process in enumerate(self.processes):
                assert process.stdout is not None
                if SYNTHESIZED.encode() + b"\n" not in process.stdout:
                    raise self._failed(index)
            self._synthesized = True
        if findings and not self._linted:
            for index, process in enumerate(self.processes):
                if process.wait() != 0:
                    raise self._failed(index)
            self._linted = True

    def example(self, *, findings: bool) -> Synthesized:
        """The example app (the first worker synthesizes it)."""
        self.wait(findings=findings)
        if self._example is None:
            self._example = read_outdirs([self.outdirs[0] / "example"])
        return self._example

    def scenarios(self, *, findings: bool) -> Synthesized:
        """Every scenario of the session, with or without the rule packs."""
        self.wait(findings=findings)
        if self._scenarios is None:
            self._scenarios = read_outdirs(
                [
                    outdir / kind
                    for outdir in self.outdirs
                    for kind in ("scenarios", "checked")
                    if (outdir / kind).is_dir()
                ]
            )
        return self._scenarios

    def no_feature_flags(self) -> Synthesized:
        """The app without feature flags (built last by its worker, after the linters)."""
        self.wait(findings=True)
        (outdir,) = [d / NO_FEATURE_FLAGS for d in self.outdirs if (d / NO_FEATURE_FLAGS).is_dir()]
        return read_outdirs([outdir])

    def stop(self, *, kill: bool) -> None:
        """Wait for the workers to exit or, with ``kill``, end them at once with their
        Node.js, checkov and cfn-lint processes."""
        for process in self.processes:
            if process.stdout is not None:
                process.stdout.close()
            if kill and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start(outdir: Path, share: Share) -> subprocess.Popen[bytes]:
    """Start ``python -m tests.synth_worker OUTDIR ...`` for ``share``; stderr goes to
    OUTDIR/stderr.txt."""
    env = dict(os.environ)
    if NODE.exists():
        env.setdefault("JSII_NODE", str(NODE))
    outdir.mkdir(parents=True)
    with (outdir / "stderr.txt").open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.synth_worker", str(outdir), *share.args()],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,  # one process group with its Node.js and linters
            preexec_fn=in_background,
        )


if __name__ == "__main__":
    run(sys.argv[1:])
