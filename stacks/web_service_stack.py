"""WebServiceStack: the brief's `myapp-svc` web service, the backend it calls and the worker
that sends order emails, end to end."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from ecs_patterns_plus import (
    AlbFargateService,
    BackendService,
    BacklogScaling,
    DomainOptions,
    HardenedTaskDefinition,
    HealthCheckOptions,
    LogOptions,
    QueueSource,
    ScalingOptions,
    SecretValue,
    SecureLoadBalancer,
    ServiceMonitoring,
    TargetHealthCheck,
    VpcEndpoints,
    WorkerService,
    publish,
)

from .config import Images, StageConfig

HEALTH_PATH = "/actuator/health"
"""Where the web service answers its load balancer's (and the deploy check's) health checks."""


class WebServiceStack(cdk.Stack):
    """The brief's ``myapp-svc``: 2 tasks behind an HTTPS load balancer, CPU + request scaling.

    The task is the brief's ``myapp-task`` in hardened form: ``web`` container on an ECR
    image, ``SPRING_PROFILES_ACTIVE=prod``, ``DB_PASSWORD`` from Secrets Manager, logs to
    ``/ecs/myapp``, a ``curl`` health check with a 60 s start period, ECS Exec prepared.
    Deployments follow the brief's sequence: 10 % canary, then promote (``deployment``).
    The web service calls ``myapp-orders``, a backend service with no load balancer, over
    Service Connect (``ORDERS_URL=http://orders:8080``); only the web service may reach it.
    The web service publishes order events to ``OrderEvents`` (``ORDER_EVENTS_TOPIC_ARN``);
    ``myapp-order-emails``, a worker subscribed to ``order.placed`` events, sends the emails
    and scales on its backlog per task.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        images: Images,
        cluster: ecs.ICluster,
        endpoints: VpcEndpoints | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        repository = images.repository(self)
        self.config, self.images = config, images
        self.orders = self._orders(repository, cluster, endpoints)
        db_password = secretsmanager.Secret.from_secret_name_v2(self, "DbPassword", "myapp/db-pass")
        task = HardenedTaskDefinition(
            self,
            "Task",
            family="myapp-task",
            cpu=256,
            memory_mib=512,
            container_name="web",
            image=images.image(repository, "web"),
            container_port=80,
            port_name="web",
            environment={"SPRING_PROFILES_ACTIVE": "prod", "ORDERS_URL": self.orders.endpoint},
            secrets={"DB_PASSWORD": SecretValue.from_secrets_manager(db_password)},
            logging=LogOptions(log_group_name="/ecs/myapp", retention=config.log_retention_days),
            health_check=HealthCheckOptions(
                command=["CMD-SHELL", "curl -fsS http://localhost/actuator/health || exit 1"],
                start_period=cdk.Duration.seconds(60),
            ),
            enable_exec=True,
        )
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=config.hosted_zone_id, zone_name=config.hosted_zone_name
        )
        load_balancer = SecureLoadBalancer(
            self,
            "LoadBalancer",
            vpc=cluster.vpc,
            internet_facing=True,
            domain=DomainOptions(domain_name=config.domain_name, hosted_zone=zone),
            deletion_protection=config.deletion_protection,
        )
        self.web = AlbFargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            load_balancer=load_balancer,
            service_name="myapp-svc",
            desired_count=config.desired_count,
            health_check=TargetHealthCheck(path=HEALTH_PATH),
            health_check_grace_period=cdk.Duration.seconds(120),
            deployment=config.deployment_strategy,
            enable_exec=True,
            endpoints=endpoints,
            scaling=ScalingOptions(
                cpu_target_percent=50, requests_per_target=1000, max_capacity=config.max_count
            ),
            connects_to=[self.orders],
        )
        self.monitoring = ServiceMonitoring.for_service(
            self, "Monitoring", service=self.web, service_name="myapp-svc"
        )
        order_events = publish(
            self, "OrderEvents", publishers=[self.web], variable="ORDER_EVENTS_TOPIC_ARN"
        )
        self.order_emails = self._order_emails(repository, cluster, endpoints, order_events)

        cluster_name = cluster.cluster_name
        service_name = self.web.service.service_name
        cdk.CfnOutput(self, "ServiceUrl", value=self.web.url)
        cdk.CfnOutput(
            self,
            "HealthCheckUrl",
            description="The web service's health path through its load balancer",
            value=load_balancer.url + HEALTH_PATH,
        )
        cdk.CfnOutput(
            self,
            "ForceNewDeploymentCommand",
            description="Restart every task on the current task definition",
            value=cdk.Fn.join(
                "",
                [
                    "aws ecs update-service --cluster ",
                    cluster_name,
                    " --service ",
                    service_name,
                    " --force-new-deployment --region ",
                    self.region,
                ],
            ),
        )
        cdk.CfnOutput(
            self,
            "RollbackCommand",
            description="Roll the service back to the previous task definition revision",
            value=cdk.Fn.join(
                "",
                [
                    "aws ecs update-service --cluster ",
                    cluster_name,
                    " --service ",
                    service_name,
                    ' --task-definition "$(aws ecs list-task-definitions --family-prefix ',
                    task.task_definition.family,
                    " --sort DESC --max-items 2 --query 'taskDefinitionArns[1]' --output text",
                    " --region ",
                    self.region,
                    ')" --region ',
                    self.region,
                ],
            ),
        )
        cdk.CfnOutput(
            self,
            "ExecuteCommand",
            description="Open a shell in a running task (replace <task-id>)",
            value=cdk.Fn.join(
                "",
                [
                    "aws ecs execute-command --cluster ",
                    cluster_name,
                    " --task <task-id> --container web --interactive --command /bin/sh",
                    " --region ",
                    self.region,
                ],
            ),
        )
        cdk.CfnOutput(self, "LogGroupName", value=task.log_group.log_group_name)
        cdk.CfnOutput(
            self,
            "OrdersEndpoint",
            description="What the web service calls over Service Connect",
            value=self.orders.endpoint,
        )
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)

    def _orders(
        self, repository: ecr.IRepository, cluster: ecs.ICluster, endpoints: VpcEndpoints | None
    ) -> BackendService:
        """``myapp-orders``: an internal HTTP API on port 8080, published as ``orders``."""
        task = HardenedTaskDefinition(
            self,
            "OrdersTask",
            family="myapp-orders-task",
            container_name="orders",
            image=self.images.image(repository, "orders"),
            container_port=8080,
            port_name="orders",
            environment={"SPRING_PROFILES_ACTIVE": "prod"},
            logging=LogOptions(
                log_group_name="/ecs/myapp-orders", retention=self.config.log_retention_days
            ),
            health_check=HealthCheckOptions(
                command=["CMD-SHELL", "curl -fsS http://localhost:8080/actuator/health || exit 1"],
                start_period=cdk.Duration.seconds(60),
            ),
        )
        orders = BackendService(
            self,
            "Orders",
            cluster=cluster,
            task_definition=task,
            service_name="myapp-orders",
            endpoints=endpoints,
            scaling=ScalingOptions(cpu_target_percent=50, requests_per_target=1000),
        )
        self.orders_monitoring = ServiceMonitoring.for_service(
            self, "OrdersMonitoring", service=orders, service_name="myapp-orders"
        )
        return orders

    def _order_emails(
        self,
        repository: ecr.IRepository,
        cluster: ecs.ICluster,
        endpoints: VpcEndpoints | None,
        order_events: sns.ITopic,
    ) -> WorkerService:
        """``myapp-order-emails``: sends an email for every ``order.placed`` event, on Spot."""
        task = HardenedTaskDefinition(
            self,
            "OrderEmailsTask",
            family="myapp-order-emails-task",
            container_name="emails",
            image=self.images.image(repository, "emails"),
            logging=LogOptions(
                log_group_name="/ecs/myapp-order-emails", retention=self.config.log_retention_days
            ),
        )
        emails = WorkerService(
            self,
            "OrderEmails",
            cluster=cluster,
            task_definition=task,
            service_name="myapp-order-emails",
            sources=[
                QueueSource(
                    topic=order_events,
                    filter_policy={
                        "type": sns.SubscriptionFilter.string_filter(allowlist=["order.placed"])
                    },
                )
            ],
            desired_count=self.config.desired_count,
            capacity_provider_strategy=[
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)
            ],
            endpoints=endpoints,
            scaling=ScalingOptions(
                cpu_target_percent=None,
                max_capacity=5,
                backlog=BacklogScaling(
                    acceptable_latency=cdk.Duration.minutes(1),
                    processing_time=cdk.Duration.seconds(2),
                ),
            ),
        )
        self.order_emails_monitoring = ServiceMonitoring.for_service(
            self, "OrderEmailsMonitoring", service=emails, service_name="myapp-order-emails"
        )
        return emails
