"""ScheduledTask and OneOffTask: batch and cron work as ECS RunTask, on Fargate or EC2 capacity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from . import compliance, defaults
from .encryption import create_key
from .errors import Problems, is_token
from .launch import TaskDefinitionLike, check_launch, unwrap_task_definition
from .monitoring.notifications import allow_notifications, notification_topic


def _check_subnets(
    problems: Problems, cluster: ecs.ICluster, subnets: ec2.SubnetSelection | None
) -> None:
    vpc = cluster.vpc
    problems.require(
        subnets is not None or bool(vpc.private_subnets or vpc.isolated_subnets),
        "subnets",
        "the cluster's VPC has no private subnets, and tasks never get public IPs",
        None,
        "pass subnets=ec2.SubnetSelection(...) or use a VPC with private subnets (SecureVpc)",
    )


def _default_subnets(cluster: ecs.ICluster) -> ec2.SubnetSelection:
    vpc = cluster.vpc
    return ec2.SubnetSelection(subnets=vpc.private_subnets or vpc.isolated_subnets)


def _task_security_group(scope: Construct, vpc: ec2.IVpc, what: str) -> ec2.SecurityGroup:
    group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=f"{what}: no inbound; HTTPS out (add more with connections.allow_to)",
        allow_all_outbound=False,
    )
    group.add_egress_rule(
        ec2.Peer.any_ipv4(),
        ec2.Port.tcp(defaults.JOB_EGRESS_PORT),
        "HTTPS to AWS APIs (ECR, logs, secrets) and HTTPS services",
    )
    return group


def _security_groups(
    scope: Construct, vpc: ec2.IVpc, given: Sequence[ec2.ISecurityGroup] | None, what: str
) -> tuple[ec2.SecurityGroup | None, list[ec2.ISecurityGroup]]:
    """The passed groups, or a new restricted one (returned first, as the construct's own)."""
    if given:
        return None, list(given)
    group = _task_security_group(scope, vpc, what)
    return group, [group]


@jsii.implements(ec2.IConnectable)
class ScheduledTask(Construct):
    """An ECS task that EventBridge Scheduler runs on a schedule, retried, dead-lettered and alarmed.

    Tasks run in private subnets without public IPs, on FARGATE_SPOT by default (batch work
    tolerates interruption and costs up to 70% less) or on the EC2 capacity you name. The
    schedule, its dead-letter queue and its alarm topic are encrypted with a customer managed
    key; the queue accepts only TLS. The scheduler's own role may run this task definition
    in this cluster, pass its two roles, tag the tasks it starts and write to the queue,
    nothing else. One alarm fires when invocations fail (target errors, dropped or
    undeliverable events), another when anything lands in the dead-letter queue, and an
    EventBridge rule tells the same topic when a started task exits non-zero, fails to
    start or loses its Spot capacity.

    Args:
        cluster: the cluster to run in (``HardenedCluster(...).cluster``); its VPC must be known.
        task_definition: a ``HardenedTaskDefinition`` or any awsvpc ``ecs.TaskDefinition``.
        schedule: when to run: ``scheduler.ScheduleExpression.cron(minute="0", hour="3",
            time_zone=cdk.TimeZone.ASIA_SEOUL)``, ``.rate(cdk.Duration.hours(1))`` or
            ``.at(datetime, time_zone)`` (one time).
        capacity_provider_strategy: where tasks run; Fargate providers or EC2 capacity
            providers (``Ec2Capacity.strategy()``), not both. Default: FARGATE_SPOT, weight 1
            (required for EC2-only task definitions).
        subnets: where tasks run. Default: the VPC's private subnets.
        security_groups: the tasks' security groups. Default: a new group (child id
            ``SecurityGroup``) with no inbound rules and HTTPS (443) out only.
        placement_strategies: EC2 capacity only, e.g. ``ecs.PlacementStrategy.packed_by_cpu()``.
            Default: none (ECS spreads over AZs).
        placement_constraints: EC2 capacity only, e.g.
            ``ecs.PlacementConstraint.member_of("attribute:ecs.instance-type =~ g5.*")``.
            Default: none.
        task_count: tasks started per invocation, 1 to 10. Default: 1.
        retry_attempts: retries when RunTask fails, 0 to 185. Default: 3.
        max_event_age: how long an invocation may keep retrying, 1 minute to 24 hours.
            Default: 1 hour.
        flexible_window: run within this window after the scheduled time (spreads load),
            1 minute to 24 hours; ``None`` runs on time. Default: ``None``.
        enabled: whether the schedule is on. Default: True.
        description: the schedule's description. Default: none.
        dead_letter_retention: how long failed invocations stay in the dead-letter queue,
            1 minute to 14 days. Default: 14 days.
        alarm_topic: where alarms and task failures are notified; its policy must let this
            account's CloudWatch alarms and EventBridge rules publish (as
            ``monitoring.notification_topic`` does). Default: a new SSL-only topic (child id
            ``AlarmTopic``) encrypted with ``encryption_key``; subscribe to it.
        encryption_key: KMS key for the schedule, the dead-letter queue and the alarm topic;
            CloudWatch and EventBridge may use it. Default: a new rotating key (child id ``Key``).
        notify_task_failures: notify ``alarm_topic`` when a task stops with a non-zero exit
            code, fails to start or is interrupted on Spot (undeliverable notifications go
            to the dead-letter queue). Default: True.

    Attributes:
        schedule, schedule_group, role (the scheduler's execution role), role_policy (its
        only policy), task_definition,
        dead_letter_queue, encryption_key, alarm_topic, failure_alarm, dead_letter_alarm,
        task_failed_rule (``None`` when off),
        security_group (``None`` when groups were passed), connections, fargate (bool).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        task_definition: TaskDefinitionLike,
        schedule: scheduler.ScheduleExpression,
        capacity_provider_strategy: Sequence[ecs.CapacityProviderStrategy] | None = None,
        subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        placement_strategies: Sequence[ecs.PlacementStrategy] = (),
        placement_constraints: Sequence[ecs.PlacementConstraint] = (),
        task_count: int = 1,
        retry_attempts: int = defaults.JOB_RETRY_ATTEMPTS,
        max_event_age: cdk.Duration = defaults.JOB_MAX_EVENT_AGE,
        flexible_window: cdk.Duration | None = None,
        enabled: bool = True,
        description: str | None = None,
        dead_letter_retention: cdk.Duration = defaults.JOB_DEAD_LETTER_RETENTION,
        alarm_topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        notify_task_failures: bool = True,
    ) -> None:
        problems = Problems(scope, construct_id)
        launch = check_launch(
            problems,
            task_definition,
            capacity_provider_strategy,
            defaults.JOB_CAPACITY_PROVIDER_STRATEGY,
            bool(placement_strategies or placement_constraints),
        )
        problems.require(
            isinstance(schedule, scheduler.ScheduleExpression),
            "schedule",
            "must be a scheduler.ScheduleExpression",
            type(schedule).__name__,
            "use scheduler.ScheduleExpression.cron(...), .rate(...) or .at(...)",
        )
        _check_subnets(problems, cluster, subnets)
        if description is not None and not is_token(description):
            problems.require(
                len(description) <= 512,
                "description",
                "must be at most 512 characters",
                f"{len(description)} characters",
                "shorten it",
            )
        problems.in_range("task_count", task_count, 1, 10)
        problems.in_range("retry_attempts", retry_attempts, 0, 185)
        problems.seconds_in_range("max_event_age", max_event_age, 60, 86400)
        problems.seconds_in_range("flexible_window", flexible_window, 60, 86400)
        problems.seconds_in_range("dead_letter_retention", dead_letter_retention, 60, 1209600)
        if flexible_window is not None and not is_token(flexible_window.to_seconds()):
            problems.require(
                flexible_window.to_seconds() % 60 == 0,
                "flexible_window",
                "must be whole minutes",
                flexible_window,
                "pass cdk.Duration.minutes(n)",
            )
        problems.raise_if_any()
        assert launch is not None
        super().__init__(scope, construct_id)

        definition = unwrap_task_definition(task_definition)
        assert definition is not None
        self.task_definition = definition
        self.fargate = launch.fargate
        self.security_group, groups = _security_groups(
            self, cluster.vpc, security_groups, f"Scheduled task {self.node.path}"
        )
        self._connections = ec2.Connections(security_groups=groups)

        self.encryption_key = encryption_key or create_key(
            self, "Key", description="Scheduled task: schedule, dead-letter queue, alarm topic"
        )
        allow_notifications(self.encryption_key)  # CloudWatch alarms and EventBridge rules
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.encryption_key,
            enforce_ssl=True,
            retention_period=dead_letter_retention,
        )
        compliance.DEAD_LETTER_QUEUE.apply(self.dead_letter_queue)

        self.schedule_group = scheduler.ScheduleGroup(self, "Group")
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: run one task definition in one cluster",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": stack.account,
                        "aws:SourceArn": self.schedule_group.schedule_group_arn,
                    }
                },
            ),
        )
        self.role_policy = iam.ManagedPolicy(
            self.role,
            "RunTaskPolicy",
            description="Run one task definition in one cluster, tag it, dead-letter failures",
            roles=[self.role],
            statements=self._role_statements(cluster, definition),
        )
        compliance.TASK_TAGGING.apply(self.role_policy)

        common: dict[str, Any] = {
            "task_definition": definition,
            # The policy above is the whole grant: CDK's own additions would be broader.
            "role": self.role.without_policy_updates(),
            "dead_letter_queue": self.dead_letter_queue,
            "retry_attempts": retry_attempts,
            "max_event_age": max_event_age,
            "capacity_provider_strategies": launch.strategy,
            "vpc_subnets": subnets or _default_subnets(cluster),
            "security_groups": groups,
            "task_count": task_count,
            "propagate_tags": True,
            "enable_ecs_managed_tags": True,
        }
        target: scheduler.IScheduleTarget
        if launch.fargate:
            target = targets.EcsRunFargateTask(cluster, assign_public_ip=False, **common)
        else:
            target = targets.EcsRunEc2Task(
                cluster,
                placement_strategies=list(placement_strategies) or None,
                placement_constraints=list(placement_constraints) or None,
                **common,
            )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=schedule,
            target=target,
            schedule_group=self.schedule_group,
            key=self.encryption_key,
            enabled=enabled,
            description=description,
            time_window=scheduler.TimeWindow.flexible(flexible_window)
            if flexible_window
            else scheduler.TimeWindow.off(),
        )
        self.alarm_topic = alarm_topic or notification_topic(
            self, "AlarmTopic", encryption_key=self.encryption_key
        )
        self.failure_alarm, self.dead_letter_alarm = self._alarms()
        self.task_failed_rule = (
            self._task_failed_rule(cluster, definition) if notify_task_failures else None
        )

    def _role_statements(
        self, cluster: ecs.ICluster, definition: ecs.TaskDefinition
    ) -> list[iam.PolicyStatement]:
        roles = [definition.task_role]
        if definition.execution_role is not None:
            roles.append(definition.execution_role)
        return [
            iam.PolicyStatement(
                sid="RunTheTask",
                actions=["ecs:RunTask"],
                resources=[definition.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
            ),
            iam.PolicyStatement(
                sid="PassItsRoles",
                actions=["iam:PassRole"],
                resources=[role.role_arn for role in roles],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="TagTasksItStarts",  # task ARNs do not exist before RunTask
                actions=["ecs:TagResource"],
                resources=["*"],
                conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}},
            ),
            iam.PolicyStatement(
                sid="DeadLetterFailures",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="ScheduleAndQueueEncryption",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.encryption_key.key_arn],
            ),
        ]

    def _alarms(self) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm]:
        period = defaults.JOB_ALARM_PERIOD
        group = self.schedule_group
        failures = cloudwatch.MathExpression(
            expression="FILL(errors, 0) + FILL(dropped, 0) + FILL(undeliverable, 0)",
            using_metrics={
                "errors": group.metric_target_errors(period=period),
                "dropped": group.metric_dropped(period=period),
                "undeliverable": group.metric_failed_to_be_sent_to_dlq(period=period),
            },
            label="Failed invocations",
            period=period,
        )
        failure_alarm = failures.create_alarm(
            self,
            "FailureAlarm",
            alarm_description="RunTask failed for the scheduled task (see the dead-letter queue)",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dead_letter_alarm = self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period, statistic="Maximum"
        ).create_alarm(
            self,
            "DeadLetterAlarm",
            alarm_description="Failed invocations or undelivered failure notifications of the "
            "scheduled task are waiting in its dead-letter queue",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(self.alarm_topic)
        for alarm in (failure_alarm, dead_letter_alarm):
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        return failure_alarm, dead_letter_alarm

    def _task_failed_rule(
        self, cluster: ecs.ICluster, definition: ecs.TaskDefinition
    ) -> events.Rule:
        """Notify the alarm topic when a task of this job stops without finishing its work."""
        rule = events.Rule(
            self,
            "TaskFailed",
            description="A scheduled task exited non-zero, failed to start or lost its Spot capacity",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [cluster.cluster_arn],
                    "taskDefinitionArn": [definition.task_definition_arn],
                    "lastStatus": ["STOPPED"],
                    "$or": [
                        {
                            "stopCode": ["EssentialContainerExited"],
                            "containers": {"exitCode": [{"anything-but": 0}]},
                        },
                        {"stopCode": ["TaskFailedToStart", "SpotInterruption"]},
                    ],
                },
            ),
        )
        field = events.EventField.from_path
        rule.add_target(
            events_targets.SnsTopic(
                self.alarm_topic,
                message=events.RuleTargetInput.from_text(
                    f"[{self.node.path}] Task {field('$.detail.taskArn')} stopped: "
                    f"{field('$.detail.stopCode')}, {field('$.detail.stoppedReason')}. Read its "
                    "last log lines; TaskFailedToStart: check the image, the secrets and the "
                    "VPC endpoints; SpotInterruption: the next run retries, or use FARGATE."
                ),
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=defaults.JOB_RETRY_ATTEMPTS,
            )
        )
        return rule

    @property
    def connections(self) -> ec2.Connections:
        """The tasks' security groups: ``allow_to`` a database, ``allow_from`` nothing."""
        return self._connections


@jsii.implements(ec2.IConnectable)
class OneOffTask(Construct):
    """Everything to run a task on demand (``aws ecs run-task``), and the exact command line.

    For database migrations before a deploy, backfills and admin jobs: a security group with
    no inbound rules and HTTPS out only (open more with ``connections.allow_to``), the
    private subnets, and ``run_task_command``, the brief's ``aws ecs run-task`` with the real
    cluster, task definition, subnets and security group, for a stack to output. Nothing
    runs at deploy time. ``grant_run`` lets a pipeline role start exactly this task.

    Args:
        cluster: the cluster to run in (``HardenedCluster(...).cluster``); its VPC must be known.
        task_definition: a ``HardenedTaskDefinition`` or any awsvpc ``ecs.TaskDefinition``.
        capacity_provider_strategy: Fargate or EC2 capacity providers. Default: none, which
            runs Fargate task definitions with ``--launch-type FARGATE`` (on-demand: a
            migration should not be interrupted) and requires a strategy for EC2-only ones.
        subnets: where the task runs. Default: the VPC's private subnets.
        security_groups: the task's security groups. Default: a new group (child id
            ``SecurityGroup``) with no inbound rules and HTTPS (443) out only.
        placement_strategies / placement_constraints: EC2 capacity only. Default: none.

    Attributes:
        task_definition, cluster, security_group (``None`` when groups were passed),
        connections, subnet_ids, network_configuration (the ``--network-configuration``
        value), run_task_command (tokens resolve in a ``CfnOutput``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        task_definition: TaskDefinitionLike,
        capacity_provider_strategy: Sequence[ecs.CapacityProviderStrategy] | None = None,
        subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        placement_strategies: Sequence[ecs.PlacementStrategy] = (),
        placement_constraints: Sequence[ecs.PlacementConstraint] = (),
    ) -> None:
        problems = Problems(scope, construct_id)
        launch = check_launch(
            problems,
            task_definition,
            capacity_provider_strategy,
            (),
            bool(placement_strategies or placement_constraints),
        )
        _check_subnets(problems, cluster, subnets)
        problems.raise_if_any()
        assert launch is not None
        super().__init__(scope, construct_id)

        definition = unwrap_task_definition(task_definition)
        assert definition is not None
        self.task_definition = definition
        self.cluster = cluster
        self.security_group, groups = _security_groups(
            self, cluster.vpc, security_groups, f"One-off task {self.node.path}"
        )
        self._connections = ec2.Connections(security_groups=groups)
        selection = subnets or _default_subnets(cluster)
        self.subnet_ids = cluster.vpc.select_subnets(**selection._values).subnet_ids
        self.network_configuration = (
            "awsvpcConfiguration={"
            f"subnets=[{cdk.Fn.join(',', self.subnet_ids)}],"
            f"securityGroups=[{cdk.Fn.join(',', [g.security_group_id for g in groups])}],"
            "assignPublicIp=DISABLED}"
        )
        parts = [
            "aws ecs run-task",
            f"--cluster {cluster.cluster_name}",
            f"--task-definition {definition.task_definition_arn}",
        ]
        if launch.strategy:
            parts.append(
                "--capacity-provider-strategy "
                + " ".join(_render_strategy(item) for item in launch.strategy)
            )
        else:
            parts.append("--launch-type FARGATE")
        parts.append(f'--network-configuration "{self.network_configuration}"')
        if placement_constraints:
            rendered = " ".join(
                _render_shorthand(item) for c in placement_constraints for item in c.to_json()
            )
            parts.append(f"--placement-constraints {rendered}")
        if placement_strategies:
            rendered = " ".join(
                _render_shorthand(item) for s in placement_strategies for item in s.to_json()
            )
            parts.append(f"--placement-strategy {rendered}")
        self.run_task_command = " ".join(parts)

    @property
    def connections(self) -> ec2.Connections:
        """The tasks' security groups: ``allow_to`` a database, ``allow_from`` nothing."""
        return self._connections

    def grant_run(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run this task definition in this cluster (and pass its two roles).

        For a pipeline that runs ``run_task_command``; waiting for the task to stop
        (``aws ecs wait tasks-stopped``) also needs ``ecs:DescribeTasks``.
        """
        definition = self.task_definition
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ecs:RunTask"],
            resource_arns=[definition.task_definition_arn],
            conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
        )
        roles = [definition.task_role]
        if definition.execution_role is not None:
            roles.append(definition.execution_role)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[role.role_arn for role in roles],
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        )
        principal = grantee.grant_principal
        policy = (
            principal.node.try_find_child("DefaultPolicy")
            if isinstance(principal, iam.Role)
            else None
        )
        if policy is not None:  # the role's policy written by this grant
            compliance.GRANT_DEFAULT_POLICY.apply(policy)
        return grant


def _render_strategy(item: ecs.CapacityProviderStrategy) -> str:
    text = f"capacityProvider={item.capacity_provider},weight={item.weight or 0}"
    return text + (f",base={item.base}" if item.base else "")


def _render_shorthand(item: object) -> str:
    """A placement strategy or constraint in the AWS CLI's shorthand syntax, quoted."""
    fields = {
        key: value
        for key, value in (
            ("type", getattr(item, "type", None)),
            ("field", getattr(item, "field", None)),
            ("expression", getattr(item, "expression", None)),
        )
        if value
    }
    return "'" + ",".join(f"{key}={value}" for key, value in fields.items()) + "'"
