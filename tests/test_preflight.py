"""Preflight: each check of the troubleshooting guide, once where it must speak and once
where it must stay silent."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import cx_api

from ecs_patterns_plus import (
    AlbFargateService,
    BackendService,
    DeploymentStrategy,
    HardenedCluster,
    HealthCheckOptions,
    ScalingOptions,
    ScheduledTask,
    SecretValue,
    SecureLoadBalancer,
    TargetHealthCheck,
    VpcEndpoints,
)
from ecs_patterns_plus.preflight import METADATA_KEY, check_stack, enable_preflight
from tests.scenarios.common import certificate
from tests.util import hardened_task, stack_for_errors

HOURLY = scheduler.ScheduleExpression.rate(cdk.Duration.hours(1))


def _vpc(stack: cdk.Stack, *, isolated: bool = False, mask: int = 24) -> ec2.IVpc:
    """An imported VPC whose two task subnets have known CIDRs (``/mask``)."""
    kind = "isolated" if isolated else "private"
    subnets = {
        f"{kind}_subnet_ids": ["subnet-0a0000000000000a1", "subnet-0a0000000000000a2"],
        f"{kind}_subnet_route_table_ids": ["rtb-0a0000000000000a1", "rtb-0a0000000000000a2"],
        f"{kind}_subnet_ipv4_cidr_blocks": [f"10.0.0.0/{mask}", f"10.0.128.0/{mask}"],
    }
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Network",
        vpc_id="vpc-0a1b2c3d4e5f67890",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=["ap-northeast-2a", "ap-northeast-2c"],
        public_subnet_ids=["subnet-0b0000000000000b1", "subnet-0b0000000000000b2"],
        **subnets,  # type: ignore[arg-type]
    )


def _backend(stack: cdk.Stack, vpc: ec2.IVpc, **options: Any) -> BackendService:
    task_options = options.pop("task", {})
    return BackendService(
        stack,
        options.pop("name", "Orders"),
        cluster=HardenedCluster(stack, "Platform", vpc=vpc).cluster,
        task_definition=hardened_task(
            stack, container_port=8080, port_name="orders", **task_options
        ),
        **options,
    )


def _checks(stack: cdk.Stack, production: bool = False) -> dict[str, str]:
    return {f.check: f.message for f in check_stack(stack, production=production)}


def test_subnet_headroom_warns_at_the_peak_and_refuses_the_minimum() -> None:
    # Two /28 subnets: 2 x (16 - 5) = 22 addresses for tasks.
    stack = stack_for_errors()
    _backend(stack, _vpc(stack, mask=28), scaling=ScalingOptions(max_capacity=12))
    found = check_stack(stack)
    (peak,) = [f for f in found if f.check == "subnet-headroom"]
    assert not peak.error
    assert "runs up to 24 tasks at once" in peak.message
    assert "the subnets have 22 free addresses" in peak.message

    stack = stack_for_errors()
    _backend(stack, _vpc(stack, mask=28), desired_count=23, scaling=ScalingOptions(max_capacity=30))
    (minimum,) = [f for f in check_stack(stack) if f.check == "subnet-headroom"]
    assert minimum.error
    assert "need 23 for their minimum task count alone" in minimum.message


def test_subnet_headroom_is_silent_when_the_peak_fits() -> None:
    stack = stack_for_errors()
    _backend(stack, _vpc(stack, mask=28), scaling=ScalingOptions(max_capacity=11))  # 22 at peak
    assert "subnet-headroom" not in _checks(stack)


def test_an_isolated_vpc_without_the_endpoints_in_use_is_refused() -> None:
    stack = stack_for_errors()
    vpc = _vpc(stack, isolated=True)
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "db")
    endpoints = VpcEndpoints(stack, "Endpoints", vpc=vpc, services=["ecr_api", "ecr_dkr", "s3"])
    _backend(
        stack,
        vpc,
        endpoints=endpoints,
        task={"secrets": {"DB_PASSWORD": SecretValue.from_secrets_manager(secret)}},
    )
    (finding,) = [f for f in check_stack(stack) if f.check == "isolated-endpoints"]
    assert finding.error
    assert "it has none for logs, secretsmanager" in finding.message


def test_an_isolated_vpc_with_its_endpoints_passes() -> None:
    stack = stack_for_errors()
    vpc = _vpc(stack, isolated=True)
    endpoints = VpcEndpoints(
        stack, "Endpoints", vpc=vpc, services=["ecr_api", "ecr_dkr", "s3", "logs"]
    )
    _backend(stack, vpc, endpoints=endpoints)
    assert "isolated-endpoints" not in _checks(stack)
    # With NAT, no endpoint is needed at all.
    stack = stack_for_errors()
    _backend(stack, _vpc(stack))
    assert "isolated-endpoints" not in _checks(stack)


def _web(stack: cdk.Stack, **options: Any) -> AlbFargateService:
    vpc = _vpc(stack)
    task_options = options.pop("task", {})
    return AlbFargateService(
        stack,
        "Web",
        cluster=HardenedCluster(stack, "Platform", vpc=vpc).cluster,
        task_definition=hardened_task(stack, container_port=8080, **task_options),
        load_balancer=SecureLoadBalancer(stack, "Edge", vpc=vpc, certificate=certificate(stack)),
        **options,
    )


def test_a_grace_period_shorter_than_the_start_is_warned_about() -> None:
    stack = stack_for_errors()
    _web(stack, health_check_grace_period=cdk.Duration.seconds(30))
    # 60 s start period + 2 healthy checks x 10 s = 80 s.
    assert (
        "health_check_grace_period is 30 s, shorter than the container's start period plus "
        in (_checks(stack)["grace-period"])
    )
    stack = stack_for_errors()
    _web(stack)  # derived: start period + (threshold + 1) intervals
    assert "grace-period" not in _checks(stack)


def test_a_container_check_on_another_path_or_port_is_warned_about() -> None:
    check = HealthCheckOptions(
        command=["CMD-SHELL", "curl -fsS http://localhost:9090/actuator/health || exit 1"]
    )
    stack = stack_for_errors()
    _web(stack, health_check=TargetHealthCheck(path="/health"), task={"health_check": check})
    message = _checks(stack)["health-check-target"]
    assert "path /actuator/health (the target group probes /health)" in message
    assert "port 9090 (the target group probes 8080)" in message

    same = HealthCheckOptions(
        command=["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"]
    )
    stack = stack_for_errors()
    _web(stack, health_check=TargetHealthCheck(path="/health"), task={"health_check": same})
    assert "health-check-target" not in _checks(stack)


def test_a_spot_only_job_without_retries_is_warned_about() -> None:
    for retries, expected in ((0, True), (3, False)):
        stack = stack_for_errors()
        ScheduledTask(
            stack,
            "Report",
            cluster=HardenedCluster(stack, "Platform", vpc=_vpc(stack)).cluster,
            task_definition=hardened_task(stack),
            schedule=HOURLY,
            retry_attempts=retries,
        )
        assert ("spot-without-retries" in _checks(stack)) is expected


@pytest.mark.parametrize("production", [True, False])
def test_one_task_or_one_az_is_warned_about_in_production_only(production: bool) -> None:
    stack = stack_for_errors()
    vpc = _vpc(stack)
    _backend(
        stack,
        vpc,
        desired_count=1,
        scaling=None,
        vpc_subnets=ec2.SubnetSelection(subnets=[vpc.private_subnets[0]]),
        deployment=DeploymentStrategy.rolling(),
    )
    found = _checks(stack, production=production)
    assert ("single-task" in found) is production
    assert ("single-az" in found) is production
    if production:
        assert "keeps 1 task in production" in found["single-task"]
        assert "one Availability Zone (ap-northeast-2a)" in found["single-az"]


def test_enable_preflight_warns_at_synth_and_writes_the_findings_into_the_template() -> None:
    stack = stack_for_errors()
    _backend(stack, _vpc(stack, mask=28), scaling=ScalingOptions(max_capacity=12))
    enable_preflight(stack)
    app = stack.node.root
    assert isinstance(app, cdk.App)
    artifact = app.synth().get_stack_by_name("Errors")
    (finding,) = artifact.template["Metadata"][METADATA_KEY]
    assert finding["id"] == "ecs-patterns-plus:preflight-subnet-headroom"
    assert finding["path"] == "Errors/Orders"
    (warning,) = [
        m for m in artifact.messages if m.id == "/Errors/Orders" and "24 tasks" in str(m.entry.data)
    ]
    assert warning.level == cx_api.SynthesisMessageLevel.WARNING


def test_traces_in_an_isolated_vpc_need_the_xray_endpoint() -> None:
    from ecs_patterns_plus import OpenTelemetryCollector

    collector = "public.ecr.aws/aws-observability/aws-otel-collector@sha256:" + "ab" * 32
    for services, missing in (
        (["ecr_api", "ecr_dkr", "s3", "logs"], True),
        (["ecr_api", "ecr_dkr", "s3", "logs", "xray"], False),
    ):
        stack = stack_for_errors()
        vpc = _vpc(stack, isolated=True)
        _backend(
            stack,
            vpc,
            endpoints=VpcEndpoints(stack, "Endpoints", vpc=vpc, services=services),
            task={
                "memory_mib": 1024,
                "telemetry": OpenTelemetryCollector(
                    image=ecs.ContainerImage.from_registry(collector), traces=True
                ),
            },
        )
        found = _checks(stack)
        assert ("it has none for xray" in found.get("isolated-endpoints", "")) is missing
