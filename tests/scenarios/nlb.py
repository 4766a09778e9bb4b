"""Scenarios for SecureNetworkLoadBalancer and NlbFargateService."""

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    DeploymentStrategy,
    HardenedCluster,
    HardenedTaskDefinition,
    NlbFargateService,
    NlbHealthCheck,
    NlbListener,
    SecureNetworkLoadBalancer,
    TestTraffic,
)

from . import scenario
from .common import certificate, existing_vpc


def _task(
    stack: cdk.Stack,
    construct_id: str,
    port: int,
    protocol: ecs.Protocol = ecs.Protocol.TCP,
) -> HardenedTaskDefinition:
    repository = ecr.Repository.from_repository_name(
        stack, f"{construct_id}Repository", construct_id.lower()
    )
    return HardenedTaskDefinition(
        stack,
        construct_id,
        image=ecs.ContainerImage.from_ecr_repository(repository, "3.1.0"),
        container_port=port,
        port_protocol=protocol,
    )


def _broker(stack: cdk.Stack, **options: Any) -> None:
    """An internal MQTT broker: TLS 1.3 at the load balancer on 8883, TCP to the tasks."""
    vpc = existing_vpc(stack)
    platform = HardenedCluster(stack, "Platform", vpc=vpc)
    load_balancer = SecureNetworkLoadBalancer(
        stack,
        "LoadBalancer",
        vpc=vpc,
        certificate=certificate(stack),
        allowed_sources=[ec2.Peer.ipv4("10.0.0.0/16")],
    )
    NlbFargateService(
        stack,
        "Broker",
        cluster=platform.cluster,
        task_definition=_task(stack, "BrokerTask", 1883),
        load_balancer=load_balancer,
        listener=NlbListener(port=8883),
        **options,
    )


@scenario("NlbTls")
def nlb_tls(stack: cdk.Stack) -> None:
    """An internal MQTT broker, rolling."""
    _broker(stack)


@scenario("NlbTcpUdp", compliant=False)
def nlb_tcp_udp(stack: cdk.Stack) -> None:
    """Plain TCP and UDP listeners on one load balancer. Not compliant on purpose: the
    regulatory packs want TLS at the load balancer (ELBv2ACMCertificateRequired)."""
    vpc = existing_vpc(stack)
    platform = HardenedCluster(stack, "Platform", vpc=vpc)
    load_balancer = SecureNetworkLoadBalancer(
        stack, "LoadBalancer", vpc=vpc, allowed_sources=[ec2.Peer.ipv4("10.0.0.0/16")]
    )
    NlbFargateService(
        stack,
        "Grpc",
        cluster=platform.cluster,
        task_definition=_task(stack, "GrpcTask", 50051),
        load_balancer=load_balancer,
        listener=NlbListener(port=50051, protocol="TCP"),
        health_check=NlbHealthCheck(protocol="HTTP", port=8080, path="/healthz"),
        preserve_client_ip=True,
    )
    NlbFargateService(
        stack,
        "Telemetry",
        cluster=platform.cluster,
        task_definition=_task(stack, "TelemetryTask", 5683, ecs.Protocol.UDP),
        load_balancer=load_balancer,
        listener=NlbListener(port=5683, protocol="UDP"),
        health_check=NlbHealthCheck(port=8080),
        deregistration_delay=cdk.Duration.seconds(10),
    )


@scenario("NlbCanary")
def nlb_canary(stack: cdk.Stack) -> None:
    """The broker rolling out as a canary: green target group, TLS test listener."""
    _broker(
        stack,
        deployment=DeploymentStrategy.canary(
            percent=10, test_traffic=TestTraffic(sources=[ec2.Peer.ipv4("10.0.9.0/24")])
        ),
    )
