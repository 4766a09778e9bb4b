"""BatchStack: cron and one-off work as ECS tasks, on Fargate and on EC2 GPU capacity."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from ecs_patterns_plus import (
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
    LogOptions,
    OneOffTask,
    ScheduledTask,
    VpcEndpoints,
)

from .config import Images


class BatchStack(cdk.Stack):
    """A nightly report on Fargate Spot, a one-off database migration and a GPU job on EC2 Spot.

    The report and the migration run on the platform's cluster; the GPU job has a cluster of
    its own whose GPU capacity scales from zero when the schedule starts a task. Outputs the
    migration's ``aws ecs run-task`` command line, to run before deploying a new release.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cluster: ecs.ICluster,
        images: Images,
        log_retention_days: int,
        endpoints: VpcEndpoints | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        repository = images.repository(self)
        logging = LogOptions(retention=log_retention_days)

        report_task = HardenedTaskDefinition(
            self,
            "ReportTask",
            family="nightly-report",
            image=images.image(repository, "report"),
            logging=logging,
            command=["report", "--yesterday"],
            cpu=512,
            memory_mib=1024,
        )
        self.nightly_report = ScheduledTask(
            self,
            "NightlyReport",
            cluster=cluster,
            task_definition=report_task,
            schedule=scheduler.ScheduleExpression.cron(
                minute="0", hour="3", time_zone=cdk.TimeZone.ASIA_SEOUL
            ),
            description="Daily report at 03:00 KST on Fargate Spot",
            endpoints=endpoints,
        )

        migrate_task = HardenedTaskDefinition(
            self,
            "MigrateTask",
            family="myapp-migrate",
            image=images.image(repository, "web"),
            logging=logging,
            command=["./migrate", "up"],
        )
        self.migrate = OneOffTask(
            self, "Migrate", cluster=cluster, task_definition=migrate_task, endpoints=endpoints
        )

        self.gpu = HardenedCluster(
            self,
            "Gpu",
            vpc=vpc,
            ec2_capacity=[Ec2CapacityOptions(name="gpu", gpu=True, spot=True, max_capacity=2)],
        )
        inference_task = HardenedTaskDefinition(
            self,
            "InferenceTask",
            family="weekly-inference",
            image=images.image(repository, "inference"),
            logging=logging,
            compatibility=ecs.Compatibility.EC2,
            gpu_count=1,
            cpu=4096,
            memory_mib=15360,
        )
        self.weekly_inference = ScheduledTask(
            self,
            "WeeklyInference",
            cluster=self.gpu.cluster,
            task_definition=inference_task,
            schedule=scheduler.ScheduleExpression.cron(
                minute="0", hour="2", week_day="SUN", time_zone=cdk.TimeZone.ASIA_SEOUL
            ),
            capacity_provider_strategy=[self.gpu.ec2_capacity["gpu"].strategy()],
            flexible_window=cdk.Duration.minutes(30),
            description="Weekly GPU batch inference on EC2 Spot",
            endpoints=endpoints,
        )
        if endpoints is not None:  # the rules live in this stack
            endpoints.allow_from(self.gpu.ec2_capacity["gpu"].security_group)

        cdk.CfnOutput(
            self,
            "MigrateCommand",
            value=self.migrate.run_task_command,
            description="Run the database migration before deploying a new release",
        )
        # The same run as MigrateCommand, for RunTask callers (`python -m stacks.deploy_check`).
        cdk.CfnOutput(
            self,
            "MigrateTaskDefinitionArn",
            value=self.migrate.task_definition.task_definition_arn,
            description="The migration's task definition (RunTask taskDefinition)",
        )
        cdk.CfnOutput(
            self,
            "MigrateNetworkConfiguration",
            value=self.to_json_string(
                {
                    "awsvpcConfiguration": {
                        "subnets": self.migrate.subnet_ids,
                        "securityGroups": [
                            group.security_group_id
                            for group in self.migrate.connections.security_groups
                        ],
                        "assignPublicIp": "DISABLED",
                    }
                }
            ),
            description="The migration's network (RunTask networkConfiguration, JSON)",
        )
        cdk.CfnOutput(
            self,
            "NightlyReportAlarmTopicArn",
            value=self.nightly_report.alarm_topic.topic_arn,
            description="Subscribe to hear about failed nightly reports",
        )
        cdk.CfnOutput(self, "GpuClusterName", value=self.gpu.cluster.cluster_name)
