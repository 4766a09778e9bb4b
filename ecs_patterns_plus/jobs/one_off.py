"""OneOffTask: everything to run a task on demand, and its exact ``aws ecs run-task`` command."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import defaults
from ..errors import checked, is_token
from ..iam import acknowledge_default_policy, run_task_permissions
from ..launch import TaskDefinitionLike
from ..network import VpcEndpoints
from .base import RunTaskJob


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

    Attributes:
        task_definition, cluster, security_group (``None`` when groups were passed),
        connections, subnet_ids, network_configuration (the ``--network-configuration``
        value), run_task_command (tokens resolve in a ``CfnOutput``).
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
    ) -> None:
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
        )
        definition = self.task_definition
        launch = self._launch
        groups = self._security_groups
        self.cluster = cluster
        self.subnet_ids = cluster.vpc.select_subnets(**self._subnets._values).subnet_ids
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


def _render_strategy(item: ecs.CapacityProviderStrategy) -> str:
    text = f"capacityProvider={item.capacity_provider},weight={_number(item.weight or 0)}"
    return text + (f",base={_number(item.base)}" if item.base else "")


def _number(value: float) -> str:
    """A number in the command line; a token resolves in the ``CfnOutput``."""
    return cdk.Token.as_string(value) if is_token(value) else str(value)


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
