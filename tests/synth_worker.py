"""Synthesize the example app, or one share of the scenario app, in a process of its own.

    python -m tests.synth_worker OUTDIR EXAMPLE_OUTDIR|- SCENARIO...

Synthesizes the named construct scenarios into OUTDIR and, unless EXAMPLE_OUTDIR is
``-``, the example app of app.py into EXAMPLE_OUTDIR.

The test session runs these in parallel (one per core) and reads what they write:
templates, metadata, the rule-pack report, and checkov's and cfn-lint's findings. A
validation failure still writes all of them, so the worker exits 0 then.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.synth import ROOT, Synthesized, read_outdirs

NODE = ROOT / "node_modules" / ".bin" / "node"
EXAMPLE_APP_WEIGHT = 6
"""The example app costs about as much as six scenarios to synthesize and lint."""


def run(argv: list[str]) -> None:
    from stacks import build_app
    from tests.scenarios import build_scenario_app
    from tests.synth import new_app, synthesize
    from tests.validators import lint_outdirs

    outdir, example_outdir, names = Path(argv[0]), argv[1], argv[2:]
    apps = []
    if example_outdir != "-":
        example = new_app(Path(example_outdir))
        build_app(example)
        apps.append(example)
    scenarios = new_app(outdir)
    build_scenario_app(scenarios, names)
    apps.append(scenarios)
    for app in apps:
        for error in synthesize(app).synth_errors:
            print(error, file=sys.stderr)
    lint_outdirs([Path(app.outdir) for app in apps])


class Synthesis:
    """The worker processes of one test session, started together, waited for once.

    Worker 0 also synthesizes the example app; every worker takes a share of the scenarios.
    """

    def __init__(self, workdir: Path, workers: int, scenarios: Sequence[str]) -> None:
        self.workdir = workdir
        self.example_outdir = workdir / "example"
        self.scenario_outdirs = [workdir / f"scenarios{index}" for index in range(workers)]
        # Deal the scenarios out by load; the first worker starts with the example app.
        load = [EXAMPLE_APP_WEIGHT] + [0] * (workers - 1)
        shares: list[list[str]] = [[] for _ in range(workers)]
        for name in sorted(scenarios):
            lightest = load.index(min(load))
            shares[lightest].append(name)
            load[lightest] += 1
        self.processes = [
            start([str(outdir), str(self.example_outdir) if index == 0 else "-", *share])
            for index, (outdir, share) in enumerate(zip(self.scenario_outdirs, shares, strict=True))
        ]
        self._done = False

    def wait(self, timeout: float = 900) -> None:
        if self._done:
            return
        for process in self.processes:
            _, stderr = process.communicate(timeout=timeout)
            if process.returncode != 0:
                raise RuntimeError(f"synthesis worker failed ({process.returncode}):\n{stderr}")
        self._done = True

    def example(self) -> Synthesized:
        self.wait()
        return read_outdirs([self.example_outdir])

    def scenarios(self) -> Synthesized:
        self.wait()
        return read_outdirs(self.scenario_outdirs)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def start(args: list[str]) -> subprocess.Popen[str]:
    """Start ``python -m tests.synth_worker *args``."""
    env = dict(os.environ)
    if NODE.exists():
        env.setdefault("JSII_NODE", str(NODE))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.synth_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


if __name__ == "__main__":
    run(sys.argv[1:])
