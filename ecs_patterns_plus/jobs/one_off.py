"""OneOffTask: everything to run a task on demand, and its exact ``aws ecs run-task`` command
(or, with a maximum run time or retries, the ``aws stepfunctions start-execution`` command)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import defaults
from ..errors import Problems, ValidationError, checked, number_text
from ..iam import acknowledge_default_policy, run_task_permissions
from ..launch import TaskDefinitionLike
from ..monitoring.notifications import Notifier, stack_alarm_topic, stack_notification_queue
from ..network import VpcEndpoints
from .base import RunTaskJob
from .limits import (
    JobRetries,
    check_limits,
    execution_failed_rule,
)


class OneOffTask(RunTaskJob):
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
        endpoints: VPC endpoints the tasks reach over HTTPS (admits their security groups).
            Default: none (admit them with ``endpoints.allow_from(job)``).
        max_run_time: stop the task when it runs longer (from RunTask: start-up included),
            whole seconds, 1 minute to 365 days, and notify the stack's alarm topic. A Step
            Functions state machine (child id ``StateMachine``) then runs the task with
            ``ecs:runTask.sync`` and this timeout (ECS has none of its own): start it with
            ``start_execution_command`` (``grant_start``), not ``run_task_command``, which
            runs the task without the limit. Default: None (no limit, no state machine).
        retries: re-run the task after a Spot interruption or a failure, counted by the same
            state machine (``JobRetries(failures=1)``; Spot interruptions need a FARGATE_SPOT
            strategy). Default: None.

    Attributes:
        task_definition, cluster, security_group (``None`` when groups were passed),
        connections, subnet_ids, network_configuration (the ``--network-configuration``
        value), run_task_command (tokens resolve in a ``CfnOutput``); with ``max_run_time``
        or ``retries``: state_machine, state_machine_role, state_machine_log_group,
        execution_failed_rule and start_execution_command (all ``None`` without).
    """

    @checked
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
        endpoints: VpcEndpoints | None = None,
        max_run_time: cdk.Duration | None = None,
        retries: JobRetries | None = None,
    ) -> None:
        def check(problems: Problems) -> None:
            check_limits(
                problems,
                max_run_time=max_run_time,
                retries=retries,
                strategy=list(
                    defaults.ONE_OFF_CAPACITY_PROVIDER_STRATEGY
                    if capacity_provider_strategy is None
                    else capacity_provider_strategy
                ),
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
            default_strategy=defaults.ONE_OFF_CAPACITY_PROVIDER_STRATEGY,
            kind="One-off task",
            check=check,
        )
        definition = self.task_definition
        launch = self._launch
        groups = self._security_groups
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
        if self._placement_constraints:
            rendered = " ".join(
                _render_shorthand(item) for c in self._placement_constraints for item in c.to_json()
            )
            parts.append(f"--placement-constraints {rendered}")
        if self._placement_strategies:
            rendered = " ".join(
                _render_shorthand(item) for s in self._placement_strategies for item in s.to_json()
            )
            parts.append(f"--placement-strategy {rendered}")
        self.run_task_command = " ".join(parts)

        self.execution_failed_rule: events.Rule | None = None
        self.start_execution_command: str | None = None
        limits = self._add_limits(max_run_time, retries, defaults.JOB_RETRY_ATTEMPTS)
        if limits is not None:
            self.execution_failed_rule = execution_failed_rule(
                Notifier(
                    self,
                    stack_alarm_topic(self),
                    stack_notification_queue(self),
                    retry_attempts=defaults.JOB_RETRY_ATTEMPTS,
                ),
                self.node.path,
                limits.state_machine,
                max_run_time,
                retries,
            )
            self.start_execution_command = (
                "aws stepfunctions start-execution --state-machine-arn "
                f"{limits.state_machine.state_machine_arn}"
            )

    @checked
    def grant_run(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run this task definition in this cluster (and pass its two roles).

        For a pipeline that runs ``run_task_command``; waiting for the task to stop
        (``aws ecs wait tasks-stopped``) also needs ``ecs:DescribeTasks``.
        """
        run, pass_roles = run_task_permissions(self.cluster, self.task_definition)
        grant = run.grant(grantee)
        pass_roles.grant(grantee)
        acknowledge_default_policy(grantee.grant_principal)  # the policy written by this grant
        return grant

    @checked
    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start this job's state machine (``start_execution_command``) only.

        For a pipeline that runs the task with its maximum run time; waiting for the result
        (``aws stepfunctions describe-execution``) also needs ``states:DescribeExecution`` on
        its executions (``state_machine.grant_read``).
        """
        if self.state_machine is None:
            raise ValidationError(
                self.node.path,
                [
                    "grant_start: this one-off task has no state machine (no max_run_time or "
                    "retries); got no limits; pass max_run_time= or retries= to OneOffTask, "
                    "or use grant_run"
                ],
            )
        grant = self.state_machine.grant_start_execution(grantee)
        acknowledge_default_policy(grantee.grant_principal)  # the policy written by this grant
        return grant


def _render_strategy(item: ecs.CapacityProviderStrategy) -> str:
    text = f"capacityProvider={item.capacity_provider},weight={number_text(item.weight or 0)}"
    return text + (f",base={number_text(item.base)}" if item.base else "")


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
