"""Scenarios for BackendService and Service Connect between services."""

import aws_cdk as cdk
from aws_cdk import aws_acmpca as acmpca
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    AlbFargateService,
    BackendService,
    DeploymentStrategy,
    HardenedCluster,
    HardenedTaskDefinition,
    HealthCheckOptions,
    NamespaceOptions,
    ScalingOptions,
    SecureLoadBalancer,
    ServiceConnectOptions,
    ServiceConnectTls,
)

from . import scenario
from .common import certificate, existing_vpc

CA_ARN = (
    "arn:aws:acm-pca:ap-northeast-2:111122223333:certificate-authority/"
    "11111111-2222-3333-4444-555555555555"
)


def _task(
    stack: cdk.Stack,
    construct_id: str,
    *,
    port_name: str | None,
    app_protocol: ecs.AppProtocol | None = ecs.AppProtocol.http,
) -> HardenedTaskDefinition:
    repository = ecr.Repository.from_repository_name(
        stack, f"{construct_id}Repository", construct_id.lower()
    )
    return HardenedTaskDefinition(
        stack,
        construct_id,
        image=ecs.ContainerImage.from_ecr_repository(repository, "2.0.1"),
        container_port=8080,
        port_name=port_name,
        app_protocol=app_protocol,
        health_check=HealthCheckOptions(
            command=["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"]
        ),
    )


@scenario("BackendDefaults")
def backend_defaults(stack: cdk.Stack) -> None:
    """An ALB web service that calls a backend service over Service Connect."""
    vpc = existing_vpc(stack)
    platform = HardenedCluster(stack, "Platform", vpc=vpc)
    orders = BackendService(
        stack,
        "Orders",
        cluster=platform.cluster,
        task_definition=_task(stack, "OrdersTask", port_name="orders"),
    )
    load_balancer = SecureLoadBalancer(
        stack, "LoadBalancer", vpc=vpc, certificate=certificate(stack)
    )
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=_task(stack, "WebTask", port_name="web"),
        load_balancer=load_balancer,
        connects_to=[orders],
    )


@scenario("BackendOptions")
def backend_options(stack: cdk.Stack) -> None:
    """A private DNS namespace; a gRPC service with TLS and tuned timeouts that scales on
    requests and rolls out as a canary; a TCP service it calls."""
    platform = HardenedCluster(
        stack,
        "Platform",
        vpc=existing_vpc(stack),
        namespace=NamespaceOptions(name="shop.internal", private_dns=True),
    )
    ledger = BackendService(
        stack,
        "Ledger",
        cluster=platform.cluster,
        task_definition=_task(stack, "LedgerTask", port_name="ledger", app_protocol=None),
        service_connect=ServiceConnectOptions(
            dns_name="ledger.shop", port=5432, idle_timeout=cdk.Duration.hours(1)
        ),
        scaling=None,
    )
    BackendService(
        stack,
        "Inventory",
        cluster=platform.cluster,
        task_definition=_task(
            stack, "InventoryTask", port_name="inventory", app_protocol=ecs.AppProtocol.grpc
        ),
        service_connect=ServiceConnectOptions(
            discovery_name="inventory-prod",
            per_request_timeout=cdk.Duration.seconds(5),
            tls=ServiceConnectTls(
                authority=acmpca.CertificateAuthority.from_certificate_authority_arn(
                    stack, "Authority", CA_ARN
                )
            ),
        ),
        connects_to=[ledger],
        deployment=DeploymentStrategy.canary(percent=10),
        scaling=ScalingOptions(max_capacity=6, requests_per_target=600),
    )
