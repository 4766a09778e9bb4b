"""ExampleStage: every example stack of one environment, as one ``cdk.Stage``."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from ecs_patterns_plus import enable_preflight

from .batch_stack import BatchStack
from .broker_stack import BrokerStack
from .config import Images, StageConfig
from .network_stack import NetworkStack
from .platform_stack import PlatformStack
from .web_service_stack import WebServiceStack

STACKS = ("Network", "Platform", "Batch", "WebService", "Broker")
"""The stacks of a stage, in deployment order."""


class ExampleStage(cdk.Stage):
    """The example app in one environment: ``config`` decides its account and region, task
    counts, NAT gateways, deletion protection, log retention and deployment strategy.

    Preflight runs on every stack (``production`` stages also warn about one task or one AZ),
    and every resource is tagged with the project and the stage.
    """

    def __init__(self, scope: Construct, *, config: StageConfig, images: Images) -> None:
        super().__init__(scope, config.construct_id, env=config.env)
        enable_preflight(self, production=config.production)
        network = NetworkStack(
            self,
            "Network",
            nat_gateways=config.nat_gateways,
            stack_name=config.stack_name("network"),
        )
        platform = PlatformStack(
            self, "Platform", vpc=network.vpc, stack_name=config.stack_name("platform")
        )
        endpoints = network.network.endpoints
        self.stacks: dict[str, cdk.Stack] = {
            "Network": network,
            "Platform": platform,
            "Batch": BatchStack(
                self,
                "Batch",
                vpc=network.vpc,
                cluster=platform.cluster,
                endpoints=endpoints,
                images=images,
                log_retention_days=config.log_retention_days,
                stack_name=config.stack_name("batch"),
            ),
            "WebService": WebServiceStack(
                self,
                "WebService",
                config=config,
                images=images,
                cluster=platform.cluster,
                endpoints=endpoints,
                stack_name=config.stack_name("web"),
            ),
            "Broker": BrokerStack(
                self,
                "Broker",
                config=config,
                images=images,
                cluster=platform.cluster,
                endpoints=endpoints,
                stack_name=config.stack_name("broker"),
            ),
        }
        cdk.Tags.of(self).add("project", "ecs-patterns-plus")
        cdk.Tags.of(self).add("stage", config.name)
