"""WorkerService: the service core draining an SQS queue, scaled on the backlog per task.

No load balancer and no port: the tasks pull their work. A message is deleted only once a task
has processed it, so a task that stops (scale-in, deployment, Fargate Spot interruption)
loses nothing: what it had not finished becomes visible again after the visibility timeout.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import defaults
from ..autoscaling import BacklogScaling, ScalingOptions
from ..deployment.strategy import DeploymentStrategy
from ..errors import Problems, checked
from ..messaging import (
    QueueOptions,
    QueueSource,
    check_queue,
    check_sources,
    grant_consume,
    subscribe,
    work_queue,
)
from ..monitoring.queue import dead_letters_arriving_alarm
from ..monitoring.thresholds import MonitoringThresholds
from ..network import VpcEndpoints
from ..task_definition import HardenedTaskDefinition
from .backend import BackendService
from .core import CoreService, ServiceCore

_WORKER_SCALING = ScalingOptions(cpu_target_percent=None, backlog=BacklogScaling())


class _QueueFrontDoor:
    """A queue the tasks pull from: no traffic to admit or shift (rolling deployments only)."""

    traffic = None
    admits = "nobody (it pulls its work from its queue)"
    requests_per_target = None

    def __init__(self, options: QueueOptions, sources: Sequence[QueueSource]) -> None:
        self.options = options
        self.sources = sources
        self.queue: sqs.IQueue | None = None
        self.dead_letter_queue: sqs.IQueue | None = None

    def check(self, problems: Problems, core: ServiceCore) -> None:
        definition = core.task_definition
        backlog = core.scaling.backlog if core.scaling is not None else None
        check_queue(
            problems,
            self.options,
            stop_timeout=definition.stop_timeout,
            processing_time=backlog.processing_time if backlog is not None else None,
            taken=definition.variables,
        )
        check_sources(problems, self.sources)
        given = self.options.queue
        problems.require(
            not (self.sources and given is not None and not isinstance(given, sqs.Queue)),
            "sources",
            "need a queue policy that admits them, and an imported queue's policy cannot be "
            "changed here (its subscriptions would be refused at run time)",
            given.node.path if given is not None else None,
            "subscribe the queue where it is defined, or let the worker create it",
        )
        if core.scaling is not None:
            problems.require(
                not core.scaling.requests_per_target,
                "scaling.requests_per_target",
                "needs requests, and a worker receives none: it pulls messages",
                core.scaling.requests_per_target,
                "scale on the backlog (scaling.backlog) and, if you like, CPU",
            )
        if backlog is not None:
            _check_container_insights(problems, core.cluster)
        if core.endpoints is not None and core.https_egress is not None:
            problems.require(
                "sqs" in core.endpoints.interface_endpoints,
                "endpoints",
                "have no SQS endpoint, and the restricted https_egress leaves the tasks no "
                "other way to their queue",
                sorted(core.endpoints.interface_endpoints),
                "add 'sqs' to the VpcEndpoints services (SecureVpc(endpoints=[..., 'sqs']))",
            )

    def grace_period(self, core: ServiceCore) -> None:
        return None  # no load balancer health checks to wait for

    def prepare(self, scope: Construct, core: ServiceCore) -> list[cloudwatch.IAlarm]:
        self.queue, self.dead_letter_queue = work_queue(
            scope, self.options, core.task_definition.stop_timeout
        )
        subscribe(scope, self.queue, self.dead_letter_queue, self.sources)
        if core.topic is None or self.dead_letter_queue is None:
            return []
        name = core.service_name or scope.node.id
        return [dead_letters_arriving_alarm(scope, self.dead_letter_queue, core.topic, name)]

    def attach(self, scope: Construct, core: ServiceCore) -> None:
        assert self.queue is not None
        definition = core.task_definition
        grant_consume(self.queue, definition.task_role)
        definition.add_variable(self.options.url_variable, self.queue.queue_url)
        return None


def _check_container_insights(problems: Problems, cluster: ecs.ICluster) -> None:
    """Backlog scaling divides by Container Insights' task count: the cluster must send it."""
    resource = cluster.node.default_child
    if not isinstance(resource, ecs.CfnCluster):
        cdk.Annotations.of(cluster).add_warning_v2(
            "ecs-patterns-plus:container-insights-unknown",
            "Backlog scaling reads Container Insights' DesiredTaskCount of the service: make "
            "sure Container Insights is on for this imported cluster, or the service never "
            "scales (target tracking does nothing without data).",
        )
        return
    settings = cdk.Stack.of(cluster).resolve(resource.cluster_settings) or []
    enabled = any(
        item.get("name") == "containerInsights" and item.get("value") in ("enabled", "enhanced")
        for item in settings
    )
    problems.require(
        enabled,
        "scaling.backlog",
        "divides the backlog by Container Insights' task count, and the cluster has Container "
        "Insights off: the policy would have no data and never scale",
        cluster.node.path,
        "use a HardenedCluster (Container Insights on), or turn it on for the cluster",
    )


class WorkerService(CoreService):
    """A service that drains an SQS queue, scaled on the backlog per task.

    The service core (``services.core``) with a queue instead of a load balancer: tasks in
    private subnets that admit nobody, every hardened default of ``AlbFargateService``, and a
    queue (KMS-encrypted with the stack's shared key, TLS-only, with a dead-letter queue)
    whose URL reaches the container in ``QUEUE_URL``. The task role may only receive, delete
    and change the visibility of this queue's messages, and decrypt them through SQS.

    Args:
        cluster: the ECS cluster, with Container Insights on (``HardenedCluster``): backlog
            scaling reads its ``DesiredTaskCount``.
        task_definition: a ``HardenedTaskDefinition``; no port needed. Its ``stop_timeout``
            is how long a stopping task may finish its message (at most 120 s).
        queue: the queue: a new one (retention, receives before dead-lettering, visibility
            timeout) or an existing one. Default: ``QueueOptions()``.
        sources: SNS topics (with filter policies, raw delivery) and EventBridge rules that
            feed the queue; its policy admits exactly them. Default: none.
        connects_to: backend services it calls over Service Connect. Default: none.
        desired_count: tasks to run; the minimum when autoscaling. 0 with
            ``BacklogScaling(scale_to_zero=True)``. Default: 2.
        service_name: Default: generated by CloudFormation.
        capacity_provider_strategy: e.g. FARGATE_SPOT (a Spot interruption loses no message).
            Default: Fargate.
        placement_strategies / placement_constraints: where tasks go on EC2 capacity.
            Default: none.
        deployment: rolling only (a worker has no traffic to shift). Default: rolling, min
            healthy 100 % / max 200 %, circuit breaker with rollback.
        rollback_alarms: roll a deployment back when messages move to the dead-letter queue
            (``DeadLetters``). Default: True.
        alarm_topic: SNS topic the rollback alarm notifies. Default: the stack's shared topic.
        alarm_thresholds: thresholds for ``ServiceMonitoring.for_service``.
            Default: ``MonitoringThresholds()``.
        deployment_alarms: more CloudWatch alarms that roll a deployment back. Default: none.
        enable_exec: allow ``aws ecs execute-command`` (task definition built with
            ``enable_exec=True``). Default: False.
        endpoints: VPC endpoints the tasks reach (``sqs`` among them with a restricted
            ``https_egress``). Default: none.
        https_egress: peers the tasks may reach on 443. Default: any IPv4 address.
        scaling: autoscaling. Default: backlog per task only, 10 messages per task
            (``ScalingOptions(cpu_target_percent=None, backlog=BacklogScaling())``),
            min = desired_count, max 10.
        vpc_subnets: where tasks run. Default: the VPC's private subnets.

    Attributes:
        service, security_group, task_definition, queue, dead_letter_queue (``None`` for an
        existing queue without a known one), scaling, rollback_alarms, alarm_topic,
        alarm_thresholds, deployment, deployment_resources.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        task_definition: HardenedTaskDefinition,
        queue: QueueOptions | None = None,
        sources: Sequence[QueueSource] = (),
        connects_to: Sequence[BackendService] = (),
        desired_count: int = defaults.DESIRED_COUNT,
        service_name: str | None = None,
        capacity_provider_strategy: Sequence[ecs.CapacityProviderStrategy] | None = None,
        placement_strategies: Sequence[ecs.PlacementStrategy] = (),
        placement_constraints: Sequence[ecs.PlacementConstraint] = (),
        deployment: DeploymentStrategy | None = None,
        rollback_alarms: bool = True,
        alarm_topic: sns.ITopic | None = None,
        alarm_thresholds: MonitoringThresholds | None = None,
        deployment_alarms: Sequence[cloudwatch.IAlarm] = (),
        enable_exec: bool = False,
        endpoints: VpcEndpoints | None = None,
        https_egress: Sequence[ec2.IPeer] | None = None,
        scaling: ScalingOptions | None = _WORKER_SCALING,
        vpc_subnets: ec2.SubnetSelection | None = None,
    ) -> None:
        core = ServiceCore.of(locals())
        door = _QueueFrontDoor(queue or QueueOptions(), sources)
        problems = Problems(scope, construct_id)
        core.check(problems, door=door)
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        core.build(self, door)
        assert door.queue is not None
        self._adopt(core)
        self.queue: sqs.IQueue = door.queue
        self.dead_letter_queue: sqs.IQueue | None = door.dead_letter_queue
