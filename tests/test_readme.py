"""Every Python example of README.md runs, one test per example, named by its heading.

An example runs in a namespace that holds only what a reader already has (``prelude``): a
fresh app and stack, the quick start's endpoints and cluster, and resources imported by id
or ARN. Each example imports the modules and constructs it uses, so an unknown name fails
its test. An example that is a whole CDK app runs as ``cdk synth`` runs an app: in its own
Python process, with cdk.json's context; its rule packs fail it on any finding.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds

from ecs_patterns_plus import HardenedCluster, VpcEndpoints
from tests.scenarios.common import certificate, existing_vpc
from tests.synth import FEATURE_FLAGS, ROOT, new_app
from tests.synth_worker import in_background

README = ROOT / "README.md"
ACCOUNT = "111122223333"
REGION = "ap-northeast-2"


@dataclass(frozen=True)
class Example:
    section: str
    """The heading above the example, with ``(2)``, ``(3)``... after the first of a section."""
    line: int
    """README line of the example's first line of code."""
    source: str


def readme_examples(text: str) -> list[Example]:
    """The ```python blocks of ``text``, in order, each with the heading above it."""
    examples: list[Example] = []
    per_heading: Counter[str] = Counter()
    heading, fence, start, code = "", "", 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not fence:
            if line.startswith("```"):
                fence, start, code = line, number + 1, []
            elif match := re.match(r"#{1,6} (.+)", line):
                heading = match.group(1).strip()
        elif line.startswith("```"):
            if fence.strip() == "```python":
                per_heading[heading] += 1
                count = per_heading[heading]
                section = heading if count == 1 else f"{heading} ({count})"
                examples.append(Example(section, start, "\n".join(code) + "\n"))
            fence = ""
        else:
            code.append(line)
    return examples


EXAMPLES = readme_examples(README.read_text())
BY_SECTION = {example.section: example for example in EXAMPLES}

WHOLE_APPS = {"Use the constructs in your own CDK app"}
"""Examples that create their own App and synthesize it: they run as `cdk synth` runs an app."""

CONTINUES = {
    "Operations: `ServiceMonitoring`": "Web services: `SecureLoadBalancer` + `AlbFargateService`",
}
"""Examples that continue another (monitoring watches the web service's ``api``): that one
runs first, in the same namespace."""


def _image(name: str) -> ecs.ContainerImage:
    return ecs.ContainerImage.from_registry(f"public.ecr.aws/example/{name}@sha256:{'ab' * 32}")


def prelude() -> dict[str, Any]:
    """What the examples use without defining it, and nothing else: a fresh app and stack
    (in which no construct id of an example is taken), VPC endpoints and a cluster in an
    imported VPC, as the quick start makes them, and resources imported by id or ARN."""
    env = cdk.Environment(region=REGION)
    app = new_app()
    stack = cdk.Stack(app, "Example", env=env)
    vpc = existing_vpc(stack)
    load_balancer_arn = (
        f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"
    )
    return {
        "app": app,
        "env": env,
        "stack": stack,
        "vpc": vpc,
        "endpoints": VpcEndpoints(stack, "Endpoints", vpc=vpc),
        "platform": HardenedCluster(stack, "Cluster", vpc=vpc),
        "cert": certificate(stack),
        "image": _image("web"),
        "report_image": _image("report"),
        "model_image": _image("model"),
        "database": rds.DatabaseInstance.from_database_instance_attributes(
            stack,
            "Database",
            instance_identifier="orders",
            instance_endpoint_address=f"orders.abcdefghijkl.{REGION}.rds.amazonaws.com",
            port=5432,
            security_groups=[
                ec2.SecurityGroup.from_security_group_id(
                    stack, "DatabaseSecurityGroup", "sg-0d0000000000000d1"
                )
            ],
        ),
        "smoke_test_fn": lambda_.Function.from_function_arn(
            stack, "SmokeTest", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:smoke-test"
        ),
        "ci_runner_security_group": ec2.SecurityGroup.from_security_group_id(
            stack, "CiRunner", "sg-0c0000000000000c1"
        ),
        "deployer_role": iam.Role.from_role_arn(
            stack, "Deployer", f"arn:aws:iam::{ACCOUNT}:role/deployer"
        ),
        "load_balancer": elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
            stack,
            "ExistingLoadBalancer",
            load_balancer_arn=load_balancer_arn,
            security_group_id="sg-0e0000000000000e1",
        ),
        "target_group": elbv2.ApplicationTargetGroup.from_target_group_attributes(
            stack,
            "ExistingTargetGroup",
            target_group_arn=(
                f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
                "targetgroup/legacy/73e2d6bc24d8a067"
            ),
            load_balancer_arns=load_balancer_arn,
        ),
    }


def run_in(namespace: dict[str, Any], example: Example) -> None:
    """Execute ``example`` in ``namespace``; tracebacks show its lines, numbered as in README."""
    filename = f"README.md, {example.section}"
    source = "\n" * (example.line - 1) + example.source
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    code = compile(source, filename, "exec")
    try:
        exec(code, namespace)
    except Exception as error:
        raise AssertionError(
            f"README example under {example.section!r} (line {example.line}) failed: "
            f"{type(error).__name__}: {error}"
        ) from error


def _start_cdk_app(example: Example, workdir: Path) -> subprocess.Popen[str]:
    """Start ``example`` as `cdk synth` runs an app, writing into ``workdir/cdk.out``."""
    (workdir / "app.py").write_text(example.source)
    environment = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(FEATURE_FLAGS),
        "CDK_OUTDIR": str(workdir / "cdk.out"),
    }
    return subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=workdir,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=in_background,
    )


_STARTED: dict[str, tuple[subprocess.Popen[str], Path]] = {}
"""Whole-app examples started early, by section (``start_whole_apps``)."""
_WORKDIRS: list[Path] = []


def start_whole_apps(sections: Iterable[str]) -> None:
    """Start the whole-app examples of ``sections`` in the background as soon as the session
    knows it runs them: each is a process of its own, which a core the in-process tests leave
    idle can run meanwhile."""
    for section in sections:
        if section not in _STARTED:
            workdir = Path(tempfile.mkdtemp(prefix="ecs-patterns-plus-readme-"))
            _WORKDIRS.append(workdir)
            _STARTED[section] = (_start_cdk_app(BY_SECTION[section], workdir), workdir)


def stop_whole_apps() -> None:
    """End the examples started early that no test waited for (an interrupted session), and
    remove what they all wrote."""
    for process, _ in _STARTED.values():
        process.kill()
        process.wait()
    _STARTED.clear()
    for workdir in _WORKDIRS:
        shutil.rmtree(workdir, ignore_errors=True)
    _WORKDIRS.clear()


def run_as_cdk_app(example: Example, workdir: Path) -> Path:
    """Run ``example`` as `cdk synth` runs an app (or wait for it, if it was started early);
    the cloud assembly's directory."""
    process, workdir = _STARTED.pop(example.section, None) or (
        _start_cdk_app(example, workdir),
        workdir,
    )
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise AssertionError(
            f"README example under {example.section!r} (line {example.line}) failed, "
            f"exit {process.returncode}:\n{stderr[-4000:]}"
        )
    return workdir / "cdk.out"


def test_the_readme_has_its_examples() -> None:
    """The examples the test names still exist: a renamed heading must be renamed here too."""
    assert len(EXAMPLES) >= 8
    assert set(WHOLE_APPS) | set(CONTINUES) | set(CONTINUES.values()) <= set(BY_SECTION)


@pytest.mark.parametrize("section", [e.section for e in EXAMPLES if e.section not in WHOLE_APPS])
def test_example_runs(section: str) -> None:
    namespace = prelude()
    if section in CONTINUES:
        run_in(namespace, BY_SECTION[CONTINUES[section]])
    run_in(namespace, BY_SECTION[section])


@pytest.mark.parametrize("section", sorted(WHOLE_APPS))
def test_whole_app_synthesizes_without_findings(section: str, tmp_path: Path) -> None:
    outdir = run_as_cdk_app(BY_SECTION[section], tmp_path)
    assert list(outdir.glob("*.template.json")), f"{section}: synthesized no stack"
