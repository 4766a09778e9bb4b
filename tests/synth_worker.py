"""Synthesize the example app, or one share of the scenario app, in a process of its own.

    python -m tests.synth_worker example OUTDIR
    python -m tests.synth_worker scenarios INDEX COUNT OUTDIR

The test session runs these in parallel (one per core) and reads what they write:
templates, metadata, the rule-pack report, and checkov's and cfn-lint's findings. A
validation failure still writes all of them, so the worker exits 0 then.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.synth import ROOT, Synthesized, read_outdirs

NODE = ROOT / "node_modules" / ".bin" / "node"


def run(argv: list[str]) -> None:
    from stacks import build_app
    from tests.scenarios import build_scenario_app
    from tests.synth import new_app, synthesize

    app = new_app(Path(argv[-1]))
    if argv[0] == "example":
        build_app(app)
    else:
        build_scenario_app(app, share=int(argv[1]), shares=int(argv[2]))
    result = synthesize(app)
    for error in result.synth_errors:
        print(error, file=sys.stderr)
    from tests.validators import lint_outdir

    lint_outdir(Path(argv[-1]))


@dataclass
class Job:
    """A running worker and the directory it writes to."""

    process: subprocess.Popen[str]
    outdir: Path
    started: float

    def wait(self, timeout: float = 900) -> Path:
        _, stderr = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"synthesis worker failed ({self.process.returncode}):\n{stderr}")
        return self.outdir


def start(args: list[str], outdir: Path) -> Job:
    """Start ``python -m tests.synth_worker *args`` writing to ``outdir``."""
    env = dict(os.environ)
    if NODE.exists():
        env.setdefault("JSII_NODE", str(NODE))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.synth_worker", *args, str(outdir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Job(process, outdir, time.monotonic())


def collect(jobs: list[Job]) -> Synthesized:
    return read_outdirs([job.wait() for job in jobs])


if __name__ == "__main__":
    run(sys.argv[1:])
