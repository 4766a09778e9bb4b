"""The deploy check (``python -m stacks.deploy_check``), offline: AWS answers come from botocore
Stubbers, the health URL from a local HTTP server, and cdk is never run."""

from __future__ import annotations

import datetime
import http.server
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from botocore.stub import Stubber

from stacks import deploy_check
from stacks.deploy_check import Aws

REGION = "ap-northeast-2"
CLUSTER = "ecs-patterns-plus-dev-platform-Cluster1A2B"
ACCOUNT = "111122223333"
TASK_DEFINITION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/myapp-migrate:7"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/0123456789abcdef"
NETWORK = (
    '{"awsvpcConfiguration":{"subnets":["subnet-1","subnet-2"],'
    '"securityGroups":["sg-1"],"assignPublicIp":"DISABLED"}}'
)
SERVICES = ("myapp-svc", "myapp-order-emails")
ROOT = Path(__file__).resolve().parents[1]


def _client(service: str) -> Any:
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


class Stubs:
    """Stubbed CloudFormation and ECS clients, with the answers of a working stage."""

    def __init__(self) -> None:
        self.aws = Aws(_client("cloudformation"), _client("ecs"))
        self.cloudformation = Stubber(self.aws.cloudformation)
        self.ecs = Stubber(self.aws.ecs)
        self.commands: list[list[str]] = []  # the cdk command lines run

    def stack(self, short: str, outputs: dict[str, str]) -> None:
        name = f"ecs-patterns-plus-dev-{short}"
        stack = {
            "StackName": name,
            "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            "StackStatus": "UPDATE_COMPLETE",
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
        }
        self.cloudformation.add_response(
            "describe_stacks", {"Stacks": [stack]}, {"StackName": name}
        )

    def stacks(self, health_url: str, *, web: dict[str, str] | None = None) -> None:
        self.stack("platform", {"ClusterName": CLUSTER, "VpcId": "vpc-1"})
        self.stack("web", {"HealthCheckUrl": health_url} if web is None else web)
        self.stack(
            "batch",
            {"MigrateTaskDefinitionArn": TASK_DEFINITION, "MigrateNetworkConfiguration": NETWORK},
        )

    def services(self, *, running: int = 2, deployments: int = 1, polls: int = 1) -> None:
        arns = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{n}" for n in SERVICES]
        self.ecs.add_response("list_services", {"serviceArns": arns}, {"cluster": CLUSTER})
        described = [
            {
                "serviceArn": arn,
                "serviceName": name,
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": running if name == "myapp-svc" else 2,
                "deployments": [{"id": f"ecs-svc/{i}"} for i in range(deployments)]
                if name == "myapp-svc"
                else [{"id": "ecs-svc/9"}],
            }
            for arn, name in zip(arns, SERVICES, strict=True)
        ]
        for _ in range(polls):
            self.ecs.add_response(
                "describe_services",
                {"services": described, "failures": []},
                {"cluster": CLUSTER, "services": arns},
            )

    def migration(self, *, app_exit: int) -> None:
        self.ecs.add_response(
            "run_task",
            {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
            {
                "cluster": CLUSTER,
                "taskDefinition": TASK_DEFINITION,
                "launchType": "FARGATE",
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": ["subnet-1", "subnet-2"],
                        "securityGroups": ["sg-1"],
                        "assignPublicIp": "DISABLED",
                    }
                },
                "startedBy": "deploy-check",
            },
        )
        stopped = {
            "taskArn": TASK,
            "taskDefinitionArn": TASK_DEFINITION,
            "lastStatus": "STOPPED",
            "stoppedReason": "Essential container in task exited",
            "containers": [
                {"name": "app", "exitCode": app_exit, "lastStatus": "STOPPED"},
                # Not essential: its exit code (killed when the app stops) does not count.
                {"name": "log-router", "exitCode": 137, "lastStatus": "STOPPED"},
            ],
        }
        for _ in range(2):  # the waiter's poll, then the check's own read
            self.ecs.add_response(
                "describe_tasks", {"tasks": [stopped]}, {"cluster": CLUSTER, "tasks": [TASK]}
            )
        self.ecs.add_response(
            "describe_task_definition",
            {
                "taskDefinition": {
                    "containerDefinitions": [
                        {"name": "app"},
                        {"name": "log-router", "essential": False},
                    ]
                }
            },
            {"taskDefinition": TASK_DEFINITION},
        )


class Health(http.server.BaseHTTPRequestHandler):
    status = 200
    body = b'{"status":"UP"}'
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A health URL on 127.0.0.1 (an ephemeral port) answering ``Health.status``."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setattr(Health, "paths", [])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/actuator/health"
    server.shutdown()
    server.server_close()


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    """Stubbed AWS for ``main``, fast waits and retries, and cdk recorded instead of run."""
    stubs = Stubs()
    monkeypatch.setattr(deploy_check, "connect", lambda region, role, stage: (stubs.aws, "as me"))
    monkeypatch.setattr(deploy_check, "SERVICES_WAIT", {"Delay": 0, "MaxAttempts": 2})
    monkeypatch.setattr(deploy_check, "TASK_WAIT", {"Delay": 0, "MaxAttempts": 2})
    monkeypatch.setattr(deploy_check, "HEALTH_ATTEMPTS", 2)
    monkeypatch.setattr(deploy_check, "HEALTH_BACKOFF", 0.0)

    def run_cdk(command: list[str]) -> int:
        stubs.commands.append(command)
        return 0

    monkeypatch.setattr(deploy_check, "run_cdk", run_cdk)
    with stubs.cloudformation, stubs.ecs:
        yield stubs
        stubs.cloudformation.assert_no_pending_responses()
        stubs.ecs.assert_no_pending_responses()


def _main(*args: str) -> int:
    return deploy_check.main(["--stage", "dev", "--region", REGION, *args])


def test_a_working_stage_passes_every_step_then_is_destroyed(
    stubs: Stubs, health: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs.stacks(health)
    stubs.services()
    stubs.migration(app_exit=0)

    assert _main("--destroy") == 0

    out = capsys.readouterr().out
    for step in ("deploy", "connect", "outputs", "services", "health", "migration", "destroy"):
        assert f"PASS  {step}" in out
    assert "2 stable: myapp-order-emails, myapp-svc" in out
    assert f"200 from {health}" in out
    assert "app exited 0" in out
    assert "deploy check of stage dev: PASSED" in out
    assert Health.paths == ["/actuator/health"]
    assert stubs.commands == [
        [
            "node_modules/.bin/cdk",
            "deploy",
            "Dev/*",
            "--require-approval",
            "broadening",
            "--no-notices",
        ],
        ["node_modules/.bin/cdk", "destroy", "Dev/*", "--force"],
    ]


def test_a_failed_deploy_fails_and_skips_the_checks(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(deploy_check, "run_cdk", lambda command: 1)

    assert _main("--keep") == 1

    out = capsys.readouterr().out
    assert "FAIL  deploy" in out
    assert "cdk deploy Dev/* --require-approval broadening --no-notices exited 1" in out
    assert "SKIP  outputs" in out
    assert "deploy check of stage dev: FAILED (deploy)" in out


def test_a_health_check_answering_500_fails_naming_the_status(
    stubs: Stubs, health: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Health, "status", 500)
    monkeypatch.setattr(Health, "body", b'{"status":"DOWN",\n "db": "connection refused"}')
    stubs.stacks(health)
    stubs.services()

    assert _main("--no-deploy", "--keep") == 1

    out = capsys.readouterr().out
    assert "FAIL  health" in out
    assert f'{health} answered 500: {{"status":"DOWN", "db": "connection refused"}}' in out
    assert "(after 2 attempts)" in out
    assert "SKIP  migration" in out
    assert len(Health.paths) == 2
    assert stubs.commands == []


def test_a_migration_exiting_1_fails_naming_the_container(
    stubs: Stubs, health: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs.stacks(health)
    stubs.services()
    stubs.migration(app_exit=1)

    assert _main("--no-deploy", "--keep") == 1

    out = capsys.readouterr().out
    assert (
        "FAIL  migration" in out
        and "task 0123456789abcdef: container app exit code 1; "
        "stopped: Essential container in task exited"
        in out
    )
    assert "log-router" not in out  # not essential
    assert "deploy check of stage dev: FAILED (migration)" in out


def test_a_service_that_never_stabilises_times_out_naming_it(
    stubs: Stubs, health: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs.stacks(health)
    stubs.services(running=1, deployments=2, polls=2)

    assert _main("--no-deploy", "--keep") == 1

    out = capsys.readouterr().out
    assert "FAIL  services" in out
    assert "not stable (Max attempts exceeded; waited at most 0 s)" in out
    assert "myapp-svc ACTIVE, 1/2 tasks running, 2 deployments" in out
    assert "myapp-order-emails ACTIVE" not in out
    assert "SKIP  health" in out and "SKIP  migration" in out
    assert Health.paths == []


def test_a_missing_output_is_named(
    stubs: Stubs, health: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs.stacks(health, web={"ServiceUrl": "https://myapp.example.com"})

    assert _main("--no-deploy", "--keep") == 1

    out = capsys.readouterr().out
    assert "FAIL  outputs" in out
    assert "missing output HealthCheckUrl of stack ecs-patterns-plus-dev-web" in out
    assert "SKIP  services" in out


def test_a_missing_stack_is_named(stubs: Stubs, capsys: pytest.CaptureFixture[str]) -> None:
    stubs.stack("platform", {"ClusterName": CLUSTER})
    stubs.cloudformation.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id ecs-patterns-plus-dev-web does not exist",
        expected_params={"StackName": "ecs-patterns-plus-dev-web"},
    )
    stubs.stack("batch", {"MigrateTaskDefinitionArn": TASK_DEFINITION})

    assert _main("--no-deploy", "--keep") == 1

    out = capsys.readouterr().out
    assert (
        "missing stack ecs-patterns-plus-dev-web (Stack with id ecs-patterns-plus-dev-web does "
        "not exist); output MigrateNetworkConfiguration of stack ecs-patterns-plus-dev-batch"
    ) in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stage", "Dev", "--region", REGION], "--stage: 'Dev' is not a stage name"),
        (["--stage", "dev_1", "--region", REGION], "--stage: 'dev_1' is not a stage name"),
        (["--stage", "qa"], "no region: pass --region or set AWS_REGION or AWS_DEFAULT_REGION"),
        (["--region", REGION], "the following arguments are required: --stage"),
        (["--stage", "dev", "--region", REGION, "--destroy", "--keep"], "not allowed with"),
        (["--stage", "dev", "--region", REGION, "--role-arn", "deployer"], "not an IAM role ARN"),
    ],
)
def test_usage_errors_exit_2(
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(SystemExit) as exit_:
        deploy_check.main(args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_configured_stage_deploys_to_its_own_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    stages = json.loads((deploy_check.ROOT / "cdk.json").read_text())["context"]
    (dev,) = [entry for entry in stages["ecs-patterns-plus:stages"] if entry["name"] == "dev"]
    assert dev["region"] != "us-east-2"
    assert deploy_check.parse(["--stage", "dev"]).region == dev["region"]
    assert deploy_check.parse(["--stage", "dev", "--region", "ap-south-1"]).region == "ap-south-1"


def test_the_region_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert deploy_check.parse(["--stage", "qa-2"]).region == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    assert deploy_check.parse(["--stage", "qa-2"]).region == "us-east-2"
    assert deploy_check.parse(["--stage", "qa-2", "--region", "ap-south-1"]).region == "ap-south-1"


def test_the_cdk_selector_is_the_stage_construct_id() -> None:
    assert deploy_check.cdk_command("destroy", "staging") == [
        "node_modules/.bin/cdk",
        "destroy",
        "Staging/*",
        "--force",
    ]


@pytest.mark.parametrize(
    ("choice", "interactive", "answer", "destroy"),
    [
        ("destroy", False, None, True),
        ("keep", True, None, False),
        (None, False, None, False),  # non-interactive (a pipeline): keep, without asking
        (None, True, "", False),  # Enter: the default, No
        (None, True, "n", False),
        (None, True, "y", True),
        (None, True, "YES", True),
    ],
)
def test_destroy_is_decided_by_the_flag_else_asked_on_a_terminal(
    choice: str | None, interactive: bool, answer: str | None, destroy: bool
) -> None:
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        assert answer is not None, "asked when it should not ask"
        return answer

    assert deploy_check.should_destroy(choice, interactive, ask, "dev") is destroy
    if answer is not None:
        assert prompts == [
            "Destroy stage dev (node_modules/.bin/cdk destroy Dev/* --force)? [y/N] "
        ]


def test_a_role_is_assumed_for_the_aws_calls() -> None:
    sts = _client("sts")
    with Stubber(sts) as stub:
        stub.add_response(
            "assume_role",
            {
                "Credentials": {
                    "AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
                    "SecretAccessKey": "secret",
                    "SessionToken": "token",
                    "Expiration": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                }
            },
            {
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/deploy-check",
                "RoleSessionName": "deploy-check-dev",
            },
        )
        session = deploy_check.assume_role(
            sts, f"arn:aws:iam::{ACCOUNT}:role/deploy-check", REGION, "dev"
        )
        stub.assert_no_pending_responses()
    credentials = session.get_credentials()
    assert credentials is not None
    assert (credentials.access_key, credentials.token) == ("ASIAEXAMPLEEXAMPLE01", "token")
    assert session.region_name == REGION


def test_make_integ_refuses_an_empty_stage() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("STAGE", "MAKEFLAGS", "MFLAGS")}
    refused = subprocess.run(
        ["make", "-n", "integ"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "integ: STAGE is empty; run 'make integ STAGE=dev'" in refused.stderr
    planned = subprocess.run(
        ["make", "-n", "integ", "STAGE=dev", "INTEG_ARGS=--keep"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert planned.returncode == 0, planned.stderr
    assert ".venv/bin/python -m stacks.deploy_check --stage dev --keep" in planned.stdout
