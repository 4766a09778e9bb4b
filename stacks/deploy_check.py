"""Deploy one stage of the example app and check that it works.

    python -m stacks.deploy_check --stage dev [--region R] [--no-deploy]
        [--destroy | --keep] [--role-arn ARN]

Steps, each reported with its time; a failed step skips the checks after it:

1. ``deploy``: ``node_modules/.bin/cdk deploy "<Stage>/*" --require-approval
   broadening --no-notices`` (skipped with ``--no-deploy``, e.g. after a pipeline's deploy).
2. ``connect``: the credentials (with ``--role-arn``, that role's, from STS AssumeRole), named
   by STS GetCallerIdentity.
3. ``outputs``: CloudFormation DescribeStacks on the stage's platform, batch and web stacks
   (``ecs-patterns-plus-<stage>-platform|batch|web``): ``ClusterName``, ``HealthCheckUrl``,
   ``MigrateTaskDefinitionArn``, ``MigrateNetworkConfiguration``.
4. ``services``: every service of the cluster is stable (ECS's ``services_stable`` waiter: one
   deployment, as many tasks running as desired), 10 services per DescribeServices call.
5. ``health``: a GET of the health URL through the load balancer (TLS verified), retried with
   backoff; passes on a 2xx status.
6. ``migration``: RunTask of the migration on Fargate, ``startedBy=deploy-check``; waits until
   the task stops (``tasks_stopped`` waiter); passes when every essential container (from
   DescribeTaskDefinition: ``essential`` defaults to true) exited 0.
7. ``destroy``: ``cdk destroy "<Stage>/*" --force`` with ``--destroy``; ``--keep``
   keeps the stage; without either, a prompt (default No) when stdin is a terminal, else keep.

Exit status: 0 when every step passed, 1 when one failed, 2 for a usage error. The region is
``--region``, else the stage's own in cdk.json (``ecs-patterns-plus:stages``), else
``AWS_REGION``, else ``AWS_DEFAULT_REGION``. ``--role-arn``: the AWS calls
(not cdk) run as this role (a stage in another account).

IAM, exactly these for steps 2-6; ``<prefix>`` is ``ecs-patterns-plus-<stage>``, ``<cluster>``
the ``ClusterName`` output:

- ``cloudformation:DescribeStacks`` on ``arn:aws:cloudformation:<region>:<account>:stack/
  <prefix>-platform/*``, ``.../<prefix>-batch/*`` and ``.../<prefix>-web/*``
- ``ecs:ListServices`` on ``*``, condition ``ArnEquals`` ``ecs:cluster`` = the cluster's ARN
- ``ecs:DescribeServices`` on ``arn:aws:ecs:<region>:<account>:service/<cluster>/*``
- ``ecs:RunTask`` on ``arn:aws:ecs:<region>:<account>:task-definition/myapp-migrate:*``,
  condition ``ArnEquals`` ``ecs:cluster`` = the cluster's ARN
- ``iam:PassRole`` on the migration task definition's task role and execution role,
  condition ``StringEquals`` ``iam:PassedToService`` = ``ecs-tasks.amazonaws.com``
  (``OneOffTask.grant_run`` grants this and the RunTask statement)
- ``ecs:DescribeTasks`` on ``arn:aws:ecs:<region>:<account>:task/<cluster>/*``
- ``ecs:DescribeTaskDefinition`` on ``*``
- with ``--role-arn``, for the caller: ``sts:AssumeRole`` on that role (which must trust it)

What this relies on: the Service Authorization Reference (ECS ListServices and
DescribeTaskDefinition have no resource type, hence ``*``; ListServices, DescribeServices,
RunTask and DescribeTasks take the ``ecs:cluster`` condition); "Grant permission to tag
resources on creation" (ECS developer guide: ``ecs:TagResource`` is evaluated only when the
request has tags; this RunTask has none); the STS API reference (GetCallerIdentity needs no
permission). The deploy and destroy steps use cdk's own credentials and the CDK bootstrap
roles (``sts:AssumeRole`` on ``arn:aws:iam::<account>:role/cdk-hnb659fds-*``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

ROOT = Path(__file__).resolve().parents[1]
CDK = "node_modules/.bin/cdk"
STACK_PREFIX = "ecs-patterns-plus"
"""Stack names are ``<STACK_PREFIX>-<stage>-<name>`` (``StageConfig.stack_name``)."""
STARTED_BY = "deploy-check"
STAGE_NAME = re.compile(r"[a-z][a-z0-9-]*")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")

SERVICES_WAIT = {"Delay": 15, "MaxAttempts": 40}
"""At most 10 minutes per 10 services: ECS's own ``services_stable`` pace."""
TASK_WAIT = {"Delay": 6, "MaxAttempts": 100}
"""At most 10 minutes for the migration task to stop."""
HEALTH_ATTEMPTS = 5
HEALTH_BACKOFF = 2.0
"""Seconds before the second health request, doubling after each failure (2+4+8+16 s)."""
HEALTH_TIMEOUT = 10.0
EXCERPT = 200

T = TypeVar("T")


class CheckFailed(Exception):
    """A step's check did not pass; the message says what was found."""


@dataclass(frozen=True)
class StageOutputs:
    """What the checks read from the stage's stacks."""

    cluster_name: str
    health_check_url: str
    migrate_task_definition_arn: str
    migrate_network_configuration: dict[str, Any]


@dataclass(frozen=True)
class Aws:
    """The clients of the checks, in the stage's region (and account, with a role)."""

    cloudformation: Any
    ecs: Any


def stack_name(stage: str, name: str) -> str:
    return f"{STACK_PREFIX}-{stage}-{name}"


def cdk_command(action: str, stage: str) -> list[str]:
    """The cdk command line that deploys or destroys every stack of ``stage``."""
    selector = f"{stage.capitalize()}/*"  # the stage's construct id: dev -> Dev
    if action == "deploy":
        return [CDK, "deploy", selector, "--require-approval", "broadening", "--no-notices"]
    return [CDK, "destroy", selector, "--force"]


def run_cdk(command: list[str]) -> int:
    """Run the pinned cdk CLI in the project's root; its output goes to ours."""
    if not (ROOT / CDK).exists():
        raise CheckFailed(f"{CDK} not found; run 'make setup' first")
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def cdk(action: str, stage: str) -> str:
    command = cdk_command(action, stage)
    code = run_cdk(command)
    if code != 0:
        raise CheckFailed(f"{' '.join(command)} exited {code}")
    return " ".join(command[1:3])


def connect(region: str, role_arn: str | None, stage: str) -> tuple[Aws, str]:
    """Clients with the default credentials or, with ``role_arn``, as that role; and who
    they call as (STS GetCallerIdentity, which needs no permission)."""
    session = boto3.Session(region_name=region)
    if role_arn:
        session = assume_role(session.client("sts"), role_arn, region, stage)
    caller = session.client("sts").get_caller_identity()["Arn"]
    return Aws(session.client("cloudformation"), session.client("ecs")), f"as {caller}"


def assume_role(sts: Any, role_arn: str, region: str, stage: str) -> boto3.Session:
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=f"{STARTED_BY}-{stage}"[:64])[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def read_outputs(cloudformation: Any, stage: str) -> StageOutputs:
    """The stage's outputs; every missing output (or stack) is named."""
    wanted = {
        "platform": ("ClusterName",),
        "web": ("HealthCheckUrl",),
        "batch": ("MigrateTaskDefinitionArn", "MigrateNetworkConfiguration"),
    }
    found: dict[str, str] = {}
    missing: list[str] = []
    for short, keys in wanted.items():
        name = stack_name(stage, short)
        try:
            stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except ClientError as error:
            missing.append(f"stack {name} ({error.response['Error'].get('Message', error)})")
            continue
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        for key in keys:
            if key in outputs:
                found[key] = outputs[key]
            else:
                missing.append(f"output {key} of stack {name}")
    if missing:
        raise CheckFailed("missing " + "; ".join(missing))
    try:
        network = json.loads(found["MigrateNetworkConfiguration"])
    except json.JSONDecodeError as error:
        raise CheckFailed(f"output MigrateNetworkConfiguration is not JSON: {error}") from None
    if not isinstance(network, dict) or "awsvpcConfiguration" not in network:
        raise CheckFailed(
            f"output MigrateNetworkConfiguration has no awsvpcConfiguration: {network}"
        )
    return StageOutputs(
        cluster_name=found["ClusterName"],
        health_check_url=found["HealthCheckUrl"],
        migrate_task_definition_arn=found["MigrateTaskDefinitionArn"],
        migrate_network_configuration=network,
    )


def wait_for_services(ecs: Any, cluster: str) -> str:
    """Pass when every service of ``cluster`` is stable; name those that are not."""
    wait = SERVICES_WAIT
    arns = [
        arn
        for page in ecs.get_paginator("list_services").paginate(cluster=cluster)
        for arn in page["serviceArns"]
    ]
    if not arns:
        raise CheckFailed(f"cluster {cluster} has no services")
    waiter = ecs.get_waiter("services_stable")
    for start in range(0, len(arns), 10):
        batch = arns[start : start + 10]
        try:
            waiter.wait(cluster=cluster, services=batch, WaiterConfig=wait)
        except WaiterError as error:
            unstable = _unstable(error.last_response or {}) or [_name(arn) for arn in batch]
            raise CheckFailed(
                f"not stable ({error.kwargs.get('reason')}; waited at most "
                f"{wait['Delay'] * wait['MaxAttempts']} s): {'; '.join(unstable)}"
            ) from None
    return f"{len(arns)} stable: {', '.join(sorted(_name(arn) for arn in arns))}"


def _unstable(response: dict[str, Any]) -> list[str]:
    """Each service the ``services_stable`` waiter did not accept, and why."""
    found = [f"{_name(f.get('arn', '?'))} {f.get('reason')}" for f in response.get("failures", [])]
    for service in response.get("services", []):
        deployments = len(service.get("deployments", []))
        running, desired = service.get("runningCount"), service.get("desiredCount")
        if service.get("status") != "ACTIVE" or deployments != 1 or running != desired:
            found.append(
                f"{service['serviceName']} {service.get('status')}, {running}/{desired} tasks "
                f"running, {deployments} deployments"
            )
    return found


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def check_health(url: str) -> str:
    """GET ``url`` until a 2xx status: ``HEALTH_ATTEMPTS`` times, with doubling waits."""
    if not url.startswith(("https://", "http://")):
        raise CheckFailed(f"health URL {url!r} is not http(s)")
    context = ssl.create_default_context()  # verifies the certificate and the host name
    problem = ""
    for attempt in range(HEALTH_ATTEMPTS):
        if attempt:
            time.sleep(HEALTH_BACKOFF * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT, context=context) as response:
                status, body = response.status, response.read(EXCERPT)
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read(EXCERPT)
        except (urllib.error.URLError, OSError) as error:
            problem = f"{url}: {getattr(error, 'reason', error)}"
            continue
        if 200 <= status < 300:
            return f"{status} from {url}"
        problem = f"{url} answered {status}: {_excerpt(body)}"
    raise CheckFailed(f"{problem} (after {HEALTH_ATTEMPTS} attempts)")


def _excerpt(body: bytes) -> str:
    return " ".join(body.decode("utf-8", "replace").split())[:EXCERPT] or "(empty body)"


def run_migration(ecs: Any, outputs: StageOutputs) -> str:
    """Run the migration task; pass when every essential container exited 0."""
    wait = TASK_WAIT
    cluster = outputs.cluster_name
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=outputs.migrate_task_definition_arn,
        launchType="FARGATE",
        networkConfiguration=outputs.migrate_network_configuration,
        startedBy=STARTED_BY,
    )
    if started.get("failures") or not started.get("tasks"):
        reasons = [
            f"{f.get('arn')}: {f.get('reason')} {f.get('detail', '')}".strip()
            for f in started.get("failures", [])
        ]
        raise CheckFailed("RunTask started no task: " + ("; ".join(reasons) or "no reason given"))
    arn = started["tasks"][0]["taskArn"]
    try:
        ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig=wait)
    except WaiterError:
        seconds = wait["Delay"] * wait["MaxAttempts"]
        raise CheckFailed(f"task {arn} still running after {seconds} s") from None
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
    essential = {
        c["name"]: c.get("essential", True)
        for c in definition["taskDefinition"]["containerDefinitions"]
    }
    failed: list[str] = []
    passed: list[str] = []
    for container in task.get("containers", []):
        name, code = container["name"], container.get("exitCode")
        if not essential.get(name, True):
            continue
        if code == 0:
            passed.append(name)
        else:
            exited = "no exit code (it never ran)" if code is None else f"exit code {code}"
            reason = f" ({container['reason']})" if container.get("reason") else ""
            failed.append(f"container {name} {exited}{reason}")
    if failed or not passed:
        stopped = task.get("stoppedReason", "")
        raise CheckFailed(
            f"task {_name(arn)}: {'; '.join(failed) or 'no essential container ran'}; stopped: {stopped}"
        )
    return f"task {_name(arn)}: {', '.join(passed)} exited 0"


def should_destroy(
    choice: str | None, interactive: bool, ask: Callable[[str], str], stage: str
) -> bool:
    """``--destroy``/``--keep`` decide; else ask on a terminal (default No); else keep."""
    if choice is not None:
        return choice == "destroy"
    if not interactive:
        return False
    answer = ask(f"Destroy stage {stage} ({' '.join(cdk_command('destroy', stage))})? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


class Report:
    """Prints each step as it ends: PASS, FAIL or SKIP (after a failure), with its time."""

    def __init__(self) -> None:
        self.failed: str | None = None
        self.started = time.monotonic()

    def step(
        self, name: str, action: Callable[[], tuple[T, str]], *, always: bool = False
    ) -> T | None:
        if self.failed and not always:
            self.skip(name)
            return None
        start = time.monotonic()
        try:
            value, detail = action()
        except (CheckFailed, BotoCoreError, ClientError) as error:
            self.failed = self.failed or name
            self._line("FAIL", name, time.monotonic() - start, str(error))
            return None
        self._line("PASS", name, time.monotonic() - start, detail)
        return value

    def skip(self, *names: str) -> None:
        for name in names:
            self._line("SKIP", name, 0.0, f"after {self.failed} failed")

    def _line(self, status: str, name: str, seconds: float, detail: str) -> None:
        print(f"{status:4}  {name:<9} {seconds:7.1f} s  {detail}", flush=True)

    def summary(self, stage: str) -> int:
        total = time.monotonic() - self.started
        result = f"FAILED ({self.failed})" if self.failed else "PASSED"
        print(f"deploy check of stage {stage}: {result} in {total:.1f} s", flush=True)
        return 1 if self.failed else 0


@dataclass(frozen=True)
class Options:
    stage: str
    region: str
    deploy: bool
    destroy: str | None  # "destroy", "keep" or None (ask)
    role_arn: str | None


def run(options: Options) -> int:
    stage = options.stage
    print(f"deploy check of stage {stage} in {options.region}", flush=True)
    report = Report()
    if options.deploy:
        report.step("deploy", lambda: (None, cdk("deploy", stage)))
    aws = report.step("connect", lambda: connect(options.region, options.role_arn, stage))
    outputs = report.step("outputs", lambda: _outputs(aws, stage))
    if aws is not None and outputs is not None:
        report.step("services", lambda: (None, wait_for_services(aws.ecs, outputs.cluster_name)))
        report.step("health", lambda: (None, check_health(outputs.health_check_url)))
        report.step("migration", lambda: (None, run_migration(aws.ecs, outputs)))
    else:
        report.skip("services", "health", "migration")
    if should_destroy(options.destroy, sys.stdin.isatty(), input, stage):
        report.step("destroy", lambda: (None, cdk("destroy", stage)), always=True)
    else:
        destroy = " ".join(cdk_command("destroy", stage))
        print(f"KEEP  stage {stage}: remove it with --destroy or {destroy}", flush=True)
    return report.summary(stage)


def _outputs(aws: Aws | None, stage: str) -> tuple[StageOutputs, str]:
    assert aws is not None  # skipped after a failed connect
    outputs = read_outputs(aws.cloudformation, stage)
    return outputs, f"cluster {outputs.cluster_name}, {outputs.health_check_url}"


def configured_region(stage: str) -> str | None:
    """The region of ``stage``'s entry in cdk.json, if it has one."""
    context = json.loads((ROOT / "cdk.json").read_text()).get("context", {})
    for entry in context.get("ecs-patterns-plus:stages", []):
        if isinstance(entry, dict) and entry.get("name") == stage:
            return str(entry.get("region") or "") or None
    return None


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.deploy_check",
        description="Deploy a stage of the example app and check that it works.",
    )
    parser.add_argument("--stage", required=True, help="the stage's name, e.g. dev")
    parser.add_argument(
        "--region",
        help="Default: the stage's region in cdk.json, else AWS_REGION, else AWS_DEFAULT_REGION",
    )
    parser.add_argument("--no-deploy", action="store_true", help="check what is deployed")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--destroy", dest="destroy", action="store_const", const="destroy", help="then destroy it"
    )
    choice.add_argument(
        "--keep",
        dest="destroy",
        action="store_const",
        const="keep",
        help="then keep it (Default without a terminal; on one, a prompt asks)",
    )
    parser.add_argument("--role-arn", help="assume this role for the AWS calls (not for cdk)")
    args = parser.parse_args(argv)
    if not STAGE_NAME.fullmatch(args.stage):
        parser.error(
            f"--stage: {args.stage!r} is not a stage name; use lower-case letters, digits and "
            "dashes, starting with a letter, e.g. dev"
        )
    region = (
        args.region
        or configured_region(args.stage)
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not region:
        parser.error("no region: pass --region or set AWS_REGION or AWS_DEFAULT_REGION")
    if args.role_arn is not None and not ROLE_ARN.fullmatch(args.role_arn):
        parser.error(f"--role-arn: {args.role_arn!r} is not an IAM role ARN")
    return Options(args.stage, region, not args.no_deploy, args.destroy, args.role_arn)


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
