"""The run-task base of ScheduledTask and OneOffTask: checked launch, private subnets, security group."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .. import defaults
from ..errors import Problems
from ..launch import (
    TaskDefinitionLike,
    check_launch,
    check_subnets,
    private_subnets,
    unwrap_task_definition,
)
from ..network import VpcEndpoints, check_endpoints, egress_only_security_group
from ..storage import admit_to_file_systems, check_same_vpc
from .limits import JobLimits, JobRetries, add_state_machine, run_task_arguments


@jsii.implements(ec2.IConnectable)
class RunTaskJob(Construct):
    """Tasks started with ECS RunTask, in private subnets without public IPs.

    Checks where the tasks run (task definition, capacity provider strategy, placement,
    subnets) and ``check``'s own arguments, and raises every problem at once before anything
    is created. Without ``security_groups`` the tasks get a new group (child id
    ``SecurityGroup``) with no inbound rules and HTTPS out only.

    Attributes:
        task_definition, cluster, subnet_ids, security_group (``None`` when groups were
        passed), connections; state_machine, state_machine_role and state_machine_log_group
        once ``_add_limits`` made them (``None`` before and without).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        task_definition: TaskDefinitionLike,
        capacity_provider_strategy: Sequence[ecs.CapacityProviderStrategy] | None,
        subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        placement_strategies: Sequence[ecs.PlacementStrategy],
        placement_constraints: Sequence[ecs.PlacementConstraint],
        default_strategy: Sequence[ecs.CapacityProviderStrategy],
        kind: str,
        check: Callable[[Problems], None] | None = None,
        endpoints: VpcEndpoints | None = None,
    ) -> None:
        problems = Problems(scope, construct_id)
        launch = check_launch(
            problems,
            task_definition,
            capacity_provider_strategy,
            default_strategy,
            bool(placement_strategies or placement_constraints),
        )
        check_subnets(problems, "subnets", cluster.vpc, subnets, what="tasks")
        check_endpoints(problems, endpoints, cluster.vpc)
        check_same_vpc(problems, getattr(task_definition, "efs_volumes", ()), cluster.vpc)
        if check is not None:
            check(problems)
        problems.raise_if_any()
        assert launch is not None  # no launch without a problem
        super().__init__(scope, construct_id)

        self.task_definition = unwrap_task_definition(task_definition)
        self.cluster = cluster
        self._launch = launch
        self._subnets = subnets or private_subnets(cluster.vpc)
        self.subnet_ids: list[str] = cluster.vpc.select_subnets(**self._subnets._values).subnet_ids
        self._placement_strategies = list(placement_strategies)
        self._placement_constraints = list(placement_constraints)
        self.security_group: ec2.SecurityGroup | None = None
        self._security_groups = list(security_groups or ())
        if not self._security_groups:
            self.security_group = egress_only_security_group(
                self,
                cluster.vpc,
                description=f"{kind} {self.node.path}: no inbound; HTTPS out "
                "(add more with connections.allow_to)",
                port=defaults.JOB_EGRESS_PORT,
                egress_description="HTTPS to AWS APIs (ECR, logs, secrets) and HTTPS services",
            )
            self._security_groups = [self.security_group]
        self._connections = ec2.Connections(security_groups=self._security_groups)
        admit_to_file_systems(getattr(task_definition, "file_systems", ()), self)
        if endpoints is not None:
            # The job's own group sends HTTPS anywhere already: it needs admitting only.
            endpoints.allow_from(self, egress=self.security_group is None)

        self.state_machine: sfn.StateMachine | None = None
        self.state_machine_role: iam.Role | None = None
        self.state_machine_log_group: logs.LogGroup | None = None

    def _add_limits(
        self, max_run_time: cdk.Duration | None, retries: JobRetries | None, start_retries: int
    ) -> JobLimits | None:
        """The state machine that enforces ``max_run_time`` and ``retries``, running the task as
        RunTask would (``None`` without either): sets the ``state_machine*`` attributes."""
        if max_run_time is None and retries is None:
            return None
        limits = add_state_machine(
            self,
            cluster=self.cluster,
            definition=self.task_definition,
            run_task=run_task_arguments(
                cluster=self.cluster,
                definition=self.task_definition,
                fargate=self._launch.fargate,
                strategy=self._launch.strategy,
                subnet_ids=self.subnet_ids,
                security_group_ids=[g.security_group_id for g in self._security_groups],
                placement_constraints=self._placement_constraints,
                placement_strategies=self._placement_strategies,
            ),
            max_run_time=max_run_time,
            retries=retries,
            start_retries=start_retries,
        )
        self.state_machine = limits.state_machine
        self.state_machine_role = limits.role
        self.state_machine_log_group = limits.log_group
        return limits

    @property
    def connections(self) -> ec2.Connections:
        """The tasks' security groups: ``allow_to`` a database, ``allow_from`` nothing."""
        return self._connections
