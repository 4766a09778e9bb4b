"""ScheduledTask: an ECS task that EventBridge Scheduler runs, retried, dead-lettered and alarmed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from .. import compliance, defaults
from ..encryption import allow_notifications, stack_key
from ..errors import Problems, checked, is_token
from ..iam import run_task_statements
from ..launch import TaskDefinitionLike
from ..monitoring.alarms import notify
from ..monitoring.events import job_task_failed_rule
from ..monitoring.notifications import (
    Notifier,
    encrypted_dead_letter_queue,
    notification_topic,
    stack_alarm_topic,
    stack_notification_queue,
)
from ..network import VpcEndpoints
from .base import RunTaskJob
from .expressions import check_schedule_expression
from .limits import (
    JobRetries,
    check_limits,
    execution_failed_rule,
)

_ONE_MINUTE = cdk.Duration.minutes(1)
"""What CDK is given for a token flexible window, which it compares at synth time."""


class ScheduledTask(RunTaskJob):
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
            ``.at(datetime, time_zone)`` (one time, in the future); a cron expression's six
            fields, a rate's value and unit are checked.
        capacity_provider_strategy: where tasks run; Fargate providers or EC2 capacity
            providers (``Ec2Capacity.strategy()``), not both; FARGATE for ARM64 task
            definitions, which Fargate Spot does not run. Default: FARGATE_SPOT, weight 1
            (required for EC2-only task definitions).
        subnets: where tasks run. Default: the VPC's private subnets.
        security_groups: the tasks' security groups. Default: a new group (child id
            ``SecurityGroup``) with no inbound rules and HTTPS (443) out only.
        placement_strategies: EC2 capacity only, e.g. ``ecs.PlacementStrategy.packed_by_cpu()``.
            Default: none (ECS spreads over AZs).
        placement_constraints: EC2 capacity only, e.g.
            ``ecs.PlacementConstraint.member_of("attribute:ecs.instance-type =~ g5.*")``.
            Default: none.
        endpoints: VPC endpoints the tasks reach over HTTPS (admits their security groups).
            Default: none (admit them with ``endpoints.allow_from(job)``).
        task_count: tasks started per invocation, 1 to 10. Default: 1.
        retry_attempts: retries when RunTask fails, 0 to 185. Default: 3.
        max_event_age: how long an invocation may keep retrying, 1 minute to 24 hours.
            Default: 1 hour.
        flexible_window: run within this window after the scheduled time (spreads load),
            whole minutes, 1 minute to 24 hours (a token in minutes); ``None`` runs on time. Default: ``None``.
        enabled: whether the schedule is on. Default: True.
        description: the schedule's description. Default: none.
        dead_letter_retention: how long failed invocations stay in the dead-letter queue,
            1 minute to 14 days. Default: 14 days.
        alarm_topic: where alarms and task failures are notified; its policy must let this
            account's CloudWatch alarms and EventBridge rules publish (as
            ``monitoring.notification_topic`` does). Default: the stack's shared alarm topic
            (with ``encryption_key``: a new topic, child id ``AlarmTopic``, encrypted with it).
        encryption_key: KMS key for the schedule, the dead-letter queue and a topic of the
            job's own; CloudWatch and EventBridge may use it. Default: the stack's shared key.
        notify_task_failures: notify ``alarm_topic`` when a task stops with a non-zero exit
            code, fails to start or is interrupted on Spot (undeliverable notifications go
            to the stack's notification dead-letter queue, or with ``encryption_key`` to the
            job's own). Default: True.
        max_run_time: stop the task when it runs longer (from RunTask: start-up included),
            whole seconds, 1 minute to 365 days, and notify ``alarm_topic``. The schedule then
            starts a Step Functions state machine (child id ``StateMachine``) that runs the
            task with ``ecs:runTask.sync`` and this timeout, and retries RunTask failures (no
            capacity) ``retry_attempts`` times; ECS has no timeout of its own. Default: None
            (no limit, no state machine).
        retries: re-run the task after a Spot interruption or a failure
            (``JobRetries(spot_interruptions=2)``), counted by the same state machine; a
            failure, a timeout or the last retry notifies ``alarm_topic``. Default: None.

    Attributes:
        schedule, schedule_group, role (the scheduler's execution role), role_policy (its
        only policy), task_definition, cluster, subnet_ids,
        dead_letter_queue, encryption_key, alarm_topic, failure_alarm, dead_letter_alarm,
        task_failed_rule (``None`` when off),
        security_group (``None`` when groups were passed), connections, fargate (bool);
        with ``max_run_time`` or ``retries``: state_machine, state_machine_role,
        state_machine_log_group, execution_failed_rule (all ``None`` without).
    """

    @checked
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
        endpoints: VpcEndpoints | None = None,
        task_count: int = defaults.JOB_TASK_COUNT,
        retry_attempts: int = defaults.JOB_RETRY_ATTEMPTS,
        max_event_age: cdk.Duration = defaults.JOB_MAX_EVENT_AGE,
        flexible_window: cdk.Duration | None = None,
        enabled: bool = True,
        description: str | None = None,
        dead_letter_retention: cdk.Duration = defaults.JOB_DEAD_LETTER_RETENTION,
        alarm_topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        notify_task_failures: bool = True,
        max_run_time: cdk.Duration | None = None,
        retries: JobRetries | None = None,
    ) -> None:
        def check(problems: Problems) -> None:
            check_schedule_expression(problems, "schedule", schedule)
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
            problems.minutes_in_range("flexible_window", flexible_window, 1, 1440)
            problems.seconds_in_range("dead_letter_retention", dead_letter_retention, 60, 1209600)
            check_limits(
                problems,
                max_run_time=max_run_time,
                retries=retries,
                strategy=list(
                    defaults.JOB_CAPACITY_PROVIDER_STRATEGY
                    if capacity_provider_strategy is None
                    else capacity_provider_strategy
                ),
                task_count=task_count,
            )

        super().__init__(
            scope,
            construct_id,
            cluster=cluster,
            task_definition=task_definition,
            capacity_provider_strategy=capacity_provider_strategy,
            subnets=subnets,
            security_groups=security_groups,
            placement_strategies=placement_strategies,
            placement_constraints=placement_constraints,
            endpoints=endpoints,
            default_strategy=defaults.JOB_CAPACITY_PROVIDER_STRATEGY,
            kind="Scheduled task",
            check=check,
        )
        definition = self.task_definition
        self.fargate = self._launch.fargate
        self.retry_attempts = retry_attempts

        self.encryption_key: kms.IKey = encryption_key or stack_key(self)
        if encryption_key is not None:
            allow_notifications(encryption_key)  # CloudWatch alarms and EventBridge rules
        self.dead_letter_queue = encrypted_dead_letter_queue(
            self, self.encryption_key, dead_letter_retention
        )

        self.schedule_group = scheduler.ScheduleGroup(self, "Group")
        stack = cdk.Stack.of(self)
        self._add_limits(max_run_time, retries, retry_attempts)
        self.role = iam.Role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: run one task definition in one cluster"
            if self.state_machine is None
            else "EventBridge Scheduler: start the job's state machine",
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
        if self.state_machine is not None:
            self.role_policy = iam.ManagedPolicy(
                self.role,
                "StartExecutionPolicy",
                description="Start one state machine, dead-letter failures",
                roles=[self.role],
                statements=[
                    iam.PolicyStatement(
                        sid="StartTheStateMachine",
                        actions=["states:StartExecution"],
                        resources=[self.state_machine.state_machine_arn],
                    ),
                    *self._delivery_statements(),
                ],
            )
        else:
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
            # CDK compares these at synth time: tokens reach the schedule below.
            "retry_attempts": defaults.JOB_RETRY_ATTEMPTS
            if is_token(retry_attempts)
            else retry_attempts,
            "max_event_age": defaults.JOB_MAX_EVENT_AGE
            if max_event_age.is_unresolved()
            else max_event_age,
            "capacity_provider_strategies": self._launch.strategy,
            "vpc_subnets": self._subnets,
            "security_groups": self._security_groups,
            "task_count": task_count,
            "propagate_tags": True,
            "enable_ecs_managed_tags": True,
        }
        target: scheduler.IScheduleTarget
        if self.state_machine is not None:
            target = targets.StepFunctionsStartExecution(
                self.state_machine,
                role=common["role"],
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=common["retry_attempts"],
                max_event_age=common["max_event_age"],
            )
        elif self.fargate:
            target = targets.EcsRunFargateTask(cluster, assign_public_ip=False, **common)
        else:
            target = targets.EcsRunEc2Task(
                cluster,
                placement_strategies=self._placement_strategies or None,
                placement_constraints=self._placement_constraints or None,
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
            time_window=scheduler.TimeWindow.flexible(
                _ONE_MINUTE if flexible_window.is_unresolved() else flexible_window
            )
            if flexible_window
            else scheduler.TimeWindow.off(),
        )
        schedule_resource = self.schedule.node.default_child
        assert isinstance(schedule_resource, scheduler.CfnSchedule)
        for path, value, token in (
            ("Target.RetryPolicy.MaximumRetryAttempts", retry_attempts, is_token(retry_attempts)),
            (
                "Target.RetryPolicy.MaximumEventAgeInSeconds",
                max_event_age.to_seconds() if max_event_age.is_unresolved() else None,
                max_event_age.is_unresolved(),
            ),
            (
                "FlexibleTimeWindow.MaximumWindowInMinutes",
                flexible_window.to_minutes() if flexible_window else None,
                bool(flexible_window and flexible_window.is_unresolved()),
            ),
        ):
            if token:
                schedule_resource.add_property_override(path, value)
        if alarm_topic is not None:
            self.alarm_topic: sns.ITopic = alarm_topic
        elif encryption_key is not None:
            self.alarm_topic = notification_topic(self, "AlarmTopic", encryption_key=encryption_key)
        else:
            self.alarm_topic = stack_alarm_topic(self)
        self.failure_alarm, self.dead_letter_alarm = self._alarms()
        notifier = (
            Notifier(
                self,
                self.alarm_topic,
                self.dead_letter_queue
                if encryption_key is not None
                else stack_notification_queue(self),
                retry_attempts=defaults.JOB_RETRY_ATTEMPTS,
            )
            if notify_task_failures or self.state_machine is not None
            else None
        )
        self.task_failed_rule = (
            job_task_failed_rule(notifier, self.node.path, cluster, definition)
            if notifier is not None and notify_task_failures
            else None
        )
        self.execution_failed_rule = (
            execution_failed_rule(
                notifier, self.node.path, self.state_machine, max_run_time, retries
            )
            if notifier is not None and self.state_machine is not None
            else None
        )

    def _role_statements(
        self, cluster: ecs.ICluster, definition: ecs.TaskDefinition
    ) -> list[iam.PolicyStatement]:
        return [*run_task_statements(cluster, definition), *self._delivery_statements()]

    def _delivery_statements(self) -> list[iam.PolicyStatement]:
        """Dead-letter failed invocations; decrypt the schedule, encrypt the queue."""
        return [
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
        failure_alarm = self._any_failure(
            "FailureAlarm",
            failures,
            "RunTask failed for the scheduled task (see the dead-letter queue)",
        )
        dead_letter_alarm = self._any_failure(
            "DeadLetterAlarm",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=period, statistic="Maximum"
            ),
            "Failed invocations of the scheduled task are waiting in its dead-letter queue: "
            "redrive them once the cause is fixed",
        )
        return failure_alarm, dead_letter_alarm

    def _any_failure(
        self,
        construct_id: str,
        metric: cloudwatch.Metric | cloudwatch.MathExpression,
        description: str,
    ) -> cloudwatch.Alarm:
        """An alarm on one failure in a period, notifying the alarm topic on ALARM and OK."""
        result = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        notify(result, self.alarm_topic)
        return result
