"""NetworkStack: the SecureVpc every other example stack runs in."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from ecs_patterns_plus import SecureVpc, defaults


class NetworkStack(cdk.Stack):
    """A SecureVpc with flow logs and the Fargate VPC endpoints (plus ssmmessages for ECS Exec)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, nat_gateways: int, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = SecureVpc(
            self,
            "Network",
            nat_gateways=nat_gateways,
            endpoints=(*defaults.FARGATE_ENDPOINTS, *defaults.EXEC_ENDPOINTS),
        )
        self.vpc = self.network.vpc
        cdk.CfnOutput(self, "VpcId", value=self.vpc.vpc_id)
        cdk.CfnOutput(
            self,
            "PrivateSubnetIds",
            value=cdk.Fn.join(",", [subnet.subnet_id for subnet in self.vpc.private_subnets]),
        )
