"""The example app: the library's constructs composed into deployable stacks."""

from __future__ import annotations

import aws_cdk as cdk

from ecs_patterns_plus import enable_compliance_checks, enable_preflight

from .batch_stack import BatchStack
from .broker_stack import BrokerStack
from .config import AppConfig
from .network_stack import NetworkStack
from .platform_stack import PlatformStack
from .web_service_stack import WebServiceStack


def build_app(app: cdk.App) -> dict[str, cdk.Stack]:
    """Add every example stack to ``app`` (with the rule packs on) and return them by id."""
    config = AppConfig.from_context(app)
    enable_compliance_checks(app)
    enable_preflight(app, production=config.stage == "prod")
    env = config.env
    network = NetworkStack(app, "Network", env=env, stack_name=config.stack_name("network"))
    platform = PlatformStack(
        app, "Platform", vpc=network.vpc, env=env, stack_name=config.stack_name("platform")
    )
    stacks: dict[str, cdk.Stack] = {"Network": network, "Platform": platform}
    stacks["Batch"] = BatchStack(
        app,
        "Batch",
        vpc=network.vpc,
        cluster=platform.cluster,
        endpoints=network.network.endpoints,
        env=env,
        stack_name=config.stack_name("batch"),
    )
    stacks["WebService"] = WebServiceStack(
        app,
        "WebService",
        config=config,
        cluster=platform.cluster,
        endpoints=network.network.endpoints,
        deployment=config.deployment_strategy,
        env=env,
        stack_name=config.stack_name("web"),
    )
    stacks["Broker"] = BrokerStack(
        app,
        "Broker",
        config=config,
        cluster=platform.cluster,
        endpoints=network.network.endpoints,
        env=env,
        stack_name=config.stack_name("broker"),
    )
    for stack in stacks.values():
        cdk.Tags.of(stack).add("project", "ecs-patterns-plus")
        cdk.Tags.of(stack).add("stage", config.stage)
    return stacks
