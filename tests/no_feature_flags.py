"""An app with none of cdk.json's feature flags, which the synthesis worker builds when a test
asks for it (``no_feature_flags`` fixture): a platform stack and a service stack that
references it, with every rule pack."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    AlbFargateService,
    HardenedCluster,
    HardenedTaskDefinition,
    ListenerRouting,
    SecureLoadBalancer,
    SecureVpc,
    enable_compliance_checks,
)
from tests.scenarios.common import CERTIFICATE_ARN


def build_app(outdir: Path) -> cdk.App:
    """The app, with only the context that asks CDK for its validation report."""
    app = cdk.App(outdir=str(outdir), context={"@aws-cdk/core:validationReportJson": True})
    enable_compliance_checks(app)
    env = cdk.Environment(region="ap-northeast-2")
    platform_stack = cdk.Stack(app, "Platform", env=env)
    network = SecureVpc(platform_stack, "Network")
    platform = HardenedCluster(platform_stack, "Platform", vpc=network.vpc)
    load_balancer = SecureLoadBalancer(
        platform_stack,
        "LoadBalancer",
        vpc=network.vpc,
        certificate=acm.Certificate.from_certificate_arn(
            platform_stack, "Certificate", CERTIFICATE_ARN
        ),
    )
    services = cdk.Stack(app, "Services", env=env)
    AlbFargateService(
        services,
        "Web",
        cluster=platform.cluster,
        task_definition=HardenedTaskDefinition(
            services,
            "Task",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx@sha256:" + "0" * 64),
            container_port=8080,
        ),
        load_balancer=load_balancer,
        routing=ListenerRouting(priority=10, path_patterns=["/web/*"]),
        endpoints=network.endpoints,
    )
    return app
