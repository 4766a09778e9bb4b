"""Fleets of web services for ``make bench``: what a stack holds, and what a fleet costs to synthesize.

Every service is built as the README shows: a ``HardenedTaskDefinition`` and an
``AlbFargateService`` routed by path on a shared ``SecureLoadBalancer``, admitted to the
VPC endpoints, with default autoscaling. The plain counterpart is the same number of
``aws_ecs_patterns.ApplicationLoadBalancedFargateService`` (HTTPS, same image, size and
task count), each with the load balancer that pattern creates for itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REGION = "ap-northeast-2"
IMAGE = "public.ecr.aws/nginx/nginx@sha256:" + "0" * 64
CERTIFICATE_ARN = (
    "arn:aws:acm:ap-northeast-2:111122223333:certificate/11111111-2222-3333-4444-555555555555"
)
CONTAINER_PORT = 8080
STACK_RESOURCE_LIMIT = 500
"""CloudFormation's resources-per-stack quota."""

SERVICES_PER_LOAD_BALANCER = 50
"""Half of an ALB's 100 target groups (a fixed quota): room for a second, green target group
per service when it deploys blue/green, canary or linear."""


@dataclass
class Platform:
    """What services share: the VPC and its endpoints, the cluster, the load balancers."""

    network: Any
    cluster: Any
    load_balancers: list[Any]


def build_platform(stack: Any, load_balancers: int = 1) -> Platform:
    """SecureVpc, HardenedCluster and ``load_balancers`` internet-facing SecureLoadBalancers."""
    from aws_cdk import aws_certificatemanager as acm

    from ecs_patterns_plus import HardenedCluster, SecureLoadBalancer, SecureVpc

    network = SecureVpc(stack, "Network")
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    certificate = acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN)
    balancers = [
        SecureLoadBalancer(
            stack,
            "LoadBalancer" if index == 0 else f"LoadBalancer{index + 1}",
            vpc=network.vpc,
            certificate=certificate,
            internet_facing=True,
        )
        for index in range(load_balancers)
    ]
    return Platform(network=network, cluster=platform.cluster, load_balancers=balancers)


def add_services(stack: Any, platform: Platform, first: int, count: int) -> None:
    """Services ``first`` .. ``first + count - 1``, each on ``/svc<n>/*`` of its load balancer."""
    from aws_cdk import aws_ecs as ecs

    from ecs_patterns_plus import AlbFargateService, HardenedTaskDefinition, ListenerRouting

    for number in range(first, first + count):
        task = HardenedTaskDefinition(
            stack,
            f"Task{number}",
            image=ecs.ContainerImage.from_registry(IMAGE),
            container_port=CONTAINER_PORT,
        )
        balancer = platform.load_balancers[number // SERVICES_PER_LOAD_BALANCER]
        AlbFargateService(
            stack,
            f"Service{number}",
            cluster=platform.cluster,
            task_definition=task,
            load_balancer=balancer,
            routing=ListenerRouting(
                priority=1 + number % SERVICES_PER_LOAD_BALANCER,
                path_patterns=[f"/svc{number}/*"],
            ),
            endpoints=platform.network.endpoints,
        )


def fleet(app: Any, services: int) -> None:
    """One stack: the platform and ``services`` web services."""
    import aws_cdk as cdk

    stack = cdk.Stack(app, "Fleet", env=cdk.Environment(region=REGION))
    add_services(stack, build_platform(stack), 0, services)


def fleet_plain(app: Any, services: int) -> None:
    """One stack: ``ec2.Vpc``, ``ecs.Cluster`` and ``services`` plain aws_ecs_patterns services."""
    import aws_cdk as cdk
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_ecs_patterns as ecs_patterns
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2

    from ecs_patterns_plus import defaults

    stack = cdk.Stack(app, "FleetPlain", env=cdk.Environment(region=REGION))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    certificate = acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN)
    for number in range(services):
        ecs_patterns.ApplicationLoadBalancedFargateService(
            stack,
            f"Service{number}",
            cluster=cluster,
            cpu=defaults.TASK_CPU,
            memory_limit_mib=defaults.TASK_MEMORY_MIB,
            desired_count=defaults.DESIRED_COUNT,
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_registry(IMAGE), container_port=CONTAINER_PORT
            ),
            certificate=certificate,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            public_load_balancer=True,
            min_healthy_percent=100,
        )


def fleet_across_stacks(app: Any, services: int, per_stack: int) -> None:
    """A platform stack (VPC, cluster, a load balancer per 50 services) and service stacks of
    ``per_stack`` services each that reference it: the pattern for fleets beyond one stack."""
    import aws_cdk as cdk

    env = cdk.Environment(region=REGION)
    platform_stack = cdk.Stack(app, "FleetPlatform", env=env)
    platform = build_platform(
        platform_stack, load_balancers=-(-services // SERVICES_PER_LOAD_BALANCER)
    )
    for index, first in enumerate(range(0, services, per_stack)):
        stack = cdk.Stack(app, f"FleetServices{index + 1}", env=env)
        add_services(stack, platform, first, min(per_stack, services - first))


# --- Footprint: resources per service and per stack, without timing --------------------------


def _resources(app: Any) -> dict[str, dict[str, int]]:
    """Resource counts by type in each stack's synthesized template, by stack id."""
    from collections import Counter

    assembly = app.synth()
    return {
        stack.stack_name: dict(
            Counter(item["Type"] for item in stack.template["Resources"].values())
        )
        for stack in assembly.stacks
    }


def footprint(services_in_one_stack: int = 25, across_stacks: int = 100) -> dict[str, Any]:
    """What one more service adds to a stack, how many fit under the limit, and a fleet of
    ``across_stacks`` services split over stacks (platform stack + service stacks of 25)."""
    from tests.synth import new_app

    counts: dict[int, dict[str, int]] = {}
    for services in (0, 1, 2):
        app = new_app()
        fleet(app, services)
        counts[services] = _resources(app)["Fleet"]
    total = {services: sum(by_type.values()) for services, by_type in counts.items()}
    app = new_app()
    fleet(app, services_in_one_stack)
    try:
        one_stack: dict[str, Any] = {"resources": sum(_resources(app)["Fleet"].values())}
    except RuntimeError as error:  # CDK refuses a stack over the limit
        one_stack = {"error": str(error).split(":")[0] + ": " + str(error).split(":")[2].strip()}
    further = counts[2]
    added = {
        kind: further.get(kind, 0) - counts[1].get(kind, 0)
        for kind in sorted(set(further) | set(counts[1]))
        if further.get(kind, 0) != counts[1].get(kind, 0)
    }
    per_service = total[2] - total[1]
    result: dict[str, Any] = {
        "platform_resources": total[0],
        "first_service_resources": total[1] - total[0],
        "further_service_resources": per_service,
        "further_service_by_type": added,
        "keys_per_service": added.get("AWS::KMS::Key", 0),
        "one_stack": {"services": services_in_one_stack, **one_stack},
        "max_services_per_stack": 1 + (STACK_RESOURCE_LIMIT - total[1]) // max(per_service, 1),
    }
    app = new_app()
    fleet_across_stacks(app, across_stacks, services_in_one_stack)
    stacks = _resources(app)
    result["across_stacks"] = {
        "services": across_stacks,
        "resources": {name: sum(by_type.values()) for name, by_type in stacks.items()},
        "keys": {name: by_type.get("AWS::KMS::Key", 0) for name, by_type in stacks.items()},
    }
    return result
