"""Scenarios for SecureLoadBalancer."""

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from ecs_patterns_plus import DomainOptions, SecureLoadBalancer

from . import scenario
from .common import certificate, existing_vpc, hosted_zone


@scenario("LoadBalancerInternal")
def internal(stack: cdk.Stack) -> None:
    vpc = existing_vpc(stack)
    SecureLoadBalancer(
        stack,
        "Web",
        vpc=vpc,
        certificate=certificate(stack),
        allowed_sources=[ec2.Peer.ipv4("10.0.0.0/16")],
    )


@scenario("LoadBalancerPublicWithRedirect")
def public_with_redirect(stack: cdk.Stack) -> None:
    vpc = existing_vpc(stack)
    SecureLoadBalancer(
        stack,
        "Web",
        vpc=vpc,
        internet_facing=True,
        http_redirect=True,
        domain=DomainOptions(domain_name="app.example.com", hosted_zone=hosted_zone(stack)),
    )


@scenario("LoadBalancerNoDeletionProtection", compliant=False)
def no_deletion_protection(stack: cdk.Stack) -> None:
    vpc = existing_vpc(stack)
    SecureLoadBalancer(
        stack, "Web", vpc=vpc, certificate=certificate(stack), deletion_protection=False
    )


@scenario("LoadBalancerAuthentication")
def authentication(stack: cdk.Stack) -> None:
    """An OIDC route for a portal and a Cognito route for an API, both rolling (ECS's
    traffic-shifting strategies are refused on authenticated routes)."""
    from aws_cdk import aws_cognito as cognito
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from aws_cdk import aws_secretsmanager as secretsmanager

    from ecs_patterns_plus import AlbFargateService, ListenerRouting, RouteAuthentication

    from .service import _internal_load_balancer, _platform, _task

    vpc, platform = _platform(stack)
    load_balancer = _internal_load_balancer(stack, vpc)

    def service(name: str, routing: ListenerRouting, **options: object) -> None:
        AlbFargateService(
            stack,
            name,
            cluster=platform.cluster,
            task_definition=_task(stack, f"{name}Task", name=name.lower()),
            load_balancer=load_balancer,
            routing=routing,
            **options,
        )

    login = "https://login.example.com/oauth2"
    oidc = RouteAuthentication.oidc(
        issuer="https://login.example.com",
        authorization_endpoint=f"{login}/authorize",
        token_endpoint=f"{login}/token",
        user_info_endpoint=f"{login}/userinfo",
        client_id="portal",
        client_secret=secretsmanager.Secret.from_secret_name_v2(
            stack, "PortalOidcSecret", "myapp/portal-oidc"
        ),
        client_secret_field="client_secret",
    )
    service(
        "Portal",
        ListenerRouting(priority=10, path_patterns=["/portal/*"], authentication=oidc),
    )
    user_pool = cognito.UserPool.from_user_pool_id(stack, "UserPool", "ap-northeast-2_AbCdEfGhI")
    users = RouteAuthentication.cognito(
        user_pool=user_pool,
        user_pool_client=cognito.UserPoolClient.from_user_pool_client_id(
            stack, "UserPoolClient", "1example23456789abcdefghij"
        ),
        user_pool_domain=cognito.UserPoolDomain.from_domain_name(
            stack, "UserPoolDomain", "myapp-auth"
        ),
        session_timeout=cdk.Duration.minutes(30),
        on_unauthenticated_request=elbv2.UnauthenticatedAction.DENY,
    )
    service("Api", ListenerRouting(priority=20, path_patterns=["/api/*"], authentication=users))


SHARED_LOAD_BALANCER_ARN = (
    "arn:aws:elasticloadbalancing:ap-northeast-2:111122223333:"
    "loadbalancer/app/shared-web/50dc6c495c0c9188"
)
SHARED_LISTENER_ARN = (
    "arn:aws:elasticloadbalancing:ap-northeast-2:111122223333:"
    "listener/app/shared-web/50dc6c495c0c9188/f2f7dc8efc522ab2"
)
SHARED_TEST_LISTENER_ARN = (
    "arn:aws:elasticloadbalancing:ap-northeast-2:111122223333:"
    "listener/app/shared-web/50dc6c495c0c9188/0e1f2a3b4c5d6e7f"
)
SHARED_SECURITY_GROUP_ID = "sg-0e0000000000000e1"


@scenario("LoadBalancerImported")
def imported(stack: cdk.Stack) -> None:
    """Two services on another team's ALB and HTTPS listener: one rolling by path and scaling
    on requests, one canary by host through the owner's test listener. Nothing is created for
    the load balancer."""
    from ecs_patterns_plus import (
        AlbFargateService,
        DeploymentStrategy,
        ImportedLoadBalancer,
        ListenerRouting,
        ScalingOptions,
    )

    from .service import _platform, _task

    vpc, platform = _platform(stack)
    shared = ImportedLoadBalancer(
        stack,
        "SharedLoadBalancer",
        load_balancer_arn=SHARED_LOAD_BALANCER_ARN,
        listener_arn=SHARED_LISTENER_ARN,
        test_listener_arn=SHARED_TEST_LISTENER_ARN,
        security_group_id=SHARED_SECURITY_GROUP_ID,
        vpc=vpc,
        url="https://shared.example.com",
    )
    for name, routing, options in (
        (
            "Orders",
            ListenerRouting(priority=310, path_patterns=["/orders/*"]),
            {"scaling": ScalingOptions(requests_per_target=1000)},
        ),
        (
            "Payments",
            ListenerRouting(priority=320, host_headers=["payments.example.com"]),
            {"deployment": DeploymentStrategy.canary()},
        ),
    ):
        AlbFargateService(
            stack,
            name,
            cluster=platform.cluster,
            task_definition=_task(stack, f"{name}Task", name=name.lower()),
            load_balancer=shared,
            routing=routing,
            **options,
        )
