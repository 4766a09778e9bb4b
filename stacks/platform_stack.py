"""PlatformStack: the HardenedCluster that example services and jobs run on."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from ecs_patterns_plus import HardenedCluster


class PlatformStack(cdk.Stack):
    """An ECS cluster with Container Insights, audited ECS Exec, FARGATE and FARGATE_SPOT."""

    def __init__(
        self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.platform = HardenedCluster(self, "Platform", vpc=vpc)
        self.cluster = self.platform.cluster
        cdk.CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        cdk.CfnOutput(self, "ExecLogGroupName", value=self.platform.exec_log_group.log_group_name)
