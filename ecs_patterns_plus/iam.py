"""IAM shared by the constructs: role routing for ``Resource: *`` grants, RunTask permissions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import compliance
from .encryption import shared_scope

EXEC_ACTIONS = frozenset(
    {
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "logs:DescribeLogGroups",
    }
)
"""What ECS Exec needs on ``Resource: *`` (the SSM channels; the session-log group lookup)."""

EXEC_LOG_ACTIONS = frozenset(
    {"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}
)
"""What ECS Exec needs on the cluster's session-log group."""

_LOG_GROUP_NAME_ARN = re.compile(r":log-group:\$\{Token\[[^\]]+\]\}:\*$")


@dataclass(frozen=True)
class Route:
    """Statements of these actions on ``Resource: *`` go to one acknowledged policy per stack.

    The statements are the same for every role (``ecr:GetAuthorizationToken``, the ECS Exec
    channels), so one managed policy in the stack's ``EcsPatternsPlus`` construct holds them
    and is attached to each role that needs them.
    """

    policy_id: str
    description: str
    actions: frozenset[str]
    acknowledgement: compliance.Acknowledgement

    def policy(self, scope: Construct) -> iam.ManagedPolicy:
        """The stack's policy for this route (created on first use)."""
        shared = shared_scope(scope)
        policy = shared.node.try_find_child(self.policy_id)
        if isinstance(policy, iam.ManagedPolicy):
            return policy
        policy = iam.ManagedPolicy(shared, self.policy_id, description=self.description)
        self.acknowledgement.apply(policy)
        return policy

    def matches(self, statement: iam.PolicyStatement) -> bool:
        return (
            statement.effect == iam.Effect.ALLOW
            and list(statement.resources) == ["*"]
            and bool(statement.actions)
            and set(statement.actions) <= self.actions
            and not statement.has_principal
            and not statement.conditions
        )


class RoutedRole(iam.Role):
    """A role that keeps statements needing ``Resource: *`` out of its DefaultPolicy.

    CDK grants (``repository.grant_pull``, ECS Exec) add such statements to the role's
    DefaultPolicy; here each goes into a small managed policy of its own, acknowledged for
    exactly that reason, so the DefaultPolicy stays ARN-scoped.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assumed_by: iam.IPrincipal,
        description: str,
        routes: Sequence[Route],
        exec_logging: bool = False,
    ) -> None:
        super().__init__(scope, construct_id, assumed_by=assumed_by, description=description)
        self._routes = tuple(routes)
        self._exec_logging = exec_logging
        self._attached: set[str] = set()

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        if self._exec_logging:
            statement = exec_session_log_statement(statement) or statement
        routed = route_statement(self, self, self._routes, self._attached, statement)
        return routed if routed is not None else super().add_to_principal_policy(statement)


def route_statement(
    scope: Construct,
    role: iam.IRole,
    routes: Sequence[Route],
    attached: set[str],
    statement: iam.PolicyStatement,
) -> iam.AddToPrincipalPolicyResult | None:
    """Put ``statement`` into the stack's policy of the first route it matches, attached to
    ``role`` once (``attached`` remembers the routes already attached); None if none matches."""
    for route in routes:
        if route.matches(statement):
            policy = route.policy(scope)
            if route.policy_id not in attached:
                policy.attach_to_role(role)
                attached.add(route.policy_id)
            _add_once(policy, statement)
            return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=policy)
    return None


def _add_once(policy: iam.ManagedPolicy, statement: iam.PolicyStatement) -> None:
    """Add ``statement`` to ``policy`` unless an equal one is there (every role adds it)."""
    present = (policy.document.to_json() or {}).get("Statement", [])
    if statement.to_statement_json() not in present:
        policy.add_statements(statement)


def exec_session_log_statement(statement: iam.PolicyStatement) -> iam.PolicyStatement | None:
    """CDK's ECS Exec session-log statement, scoped by the log group's own ``Arn`` attribute.

    A service with ECS Exec on a cluster that logs sessions to CloudWatch grants the task role
    ``logs:CreateLogStream/DescribeLogStreams/PutLogEvents`` on the literal
    ``arn:...:log-group:<name>:*``. That is exactly the log group's ``Arn`` attribute, which
    names the group instead of spelling a wildcard.
    """
    if set(statement.actions) != EXEC_LOG_ACTIONS or len(statement.resources) != 1:
        return None
    resource = statement.resources[0]
    if not _LOG_GROUP_NAME_ARN.search(resource):
        return None
    targets = [
        token.target
        for token in cdk.Tokenization.reverse_string(resource).tokens
        if isinstance(token, cdk.Reference)
        and token.display_name == "Ref"
        and isinstance(token.target, logs.CfnLogGroup)
    ]
    if len(targets) != 1:
        return None
    return iam.PolicyStatement(actions=sorted(EXEC_LOG_ACTIONS), resources=[targets[0].attr_arn])


ECR_AUTH_ROUTE = Route(
    policy_id="EcrAuthPolicy",
    description="ecr:GetAuthorizationToken, which has no resource-level permissions",
    actions=frozenset({"ecr:GetAuthorizationToken"}),
    acknowledgement=compliance.ECR_AUTH_TOKEN,
)
EXEC_ROUTE = Route(
    policy_id="ExecPolicy",
    description="ECS Exec session channels, which have no resource-level permissions",
    actions=EXEC_ACTIONS,
    acknowledgement=compliance.EXEC_SSM_MESSAGES,
)
XRAY_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    }
)
"""What X-Ray tracing needs on ``Resource: *`` (traces, sampling): no resource-level permissions."""
XRAY_ROUTE = Route(
    policy_id="XRayPolicy",
    description="X-Ray trace and sampling calls, which have no resource-level permissions",
    actions=XRAY_ACTIONS,
    acknowledgement=compliance.XRAY_TRACING,
)
LOG_DELIVERY_ACTIONS = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)
"""What vended-log delivery (Step Functions logging) needs on ``Resource: *``: "Logging using
CloudWatch Logs" in the Step Functions developer guide lists these actions on ``*``."""
LOG_DELIVERY_ROUTE = Route(
    policy_id="LogDeliveryPolicy",
    description="CloudWatch Logs delivery set-up, which has no resource-level permissions",
    actions=LOG_DELIVERY_ACTIONS,
    acknowledgement=compliance.LOG_DELIVERY,
)


def acknowledge_default_policy(principal: iam.IPrincipal) -> None:
    """Acknowledge the DefaultPolicy that CDK grants wrote on ``principal``, a role of this app."""
    policy = (
        principal.node.try_find_child("DefaultPolicy") if isinstance(principal, iam.Role) else None
    )
    if policy is not None:
        compliance.GRANT_DEFAULT_POLICY.apply(policy)


@dataclass(frozen=True)
class Permission:
    """One allow statement: written into a policy (with its ``sid``) or granted to a principal."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Any]

    def statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid=self.sid,
            actions=list(self.actions),
            resources=list(self.resources),
            conditions=dict(self.conditions),
        )

    def grant(self, grantee: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(self.actions),
            resource_arns=list(self.resources),
            conditions=dict(self.conditions),
        )


def run_task_permissions(
    cluster: ecs.ICluster, definition: ecs.TaskDefinition
) -> tuple[Permission, Permission]:
    """Run ``definition`` in ``cluster`` only, and pass its task and execution roles to ECS tasks."""
    roles = [definition.task_role]
    if definition.execution_role is not None:
        roles.append(definition.execution_role)
    return (
        Permission(
            sid="RunTheTask",
            actions=("ecs:RunTask",),
            resources=(definition.task_definition_arn,),
            conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
        ),
        Permission(
            sid="PassItsRoles",
            actions=("iam:PassRole",),
            resources=tuple(role.role_arn for role in roles),
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
    )


def run_task_statements(
    cluster: ecs.ICluster, definition: ecs.TaskDefinition
) -> list[iam.PolicyStatement]:
    """What starts ``definition`` in ``cluster`` (a scheduler or a state machine): the RunTask
    permissions, and tagging the tasks while RunTask creates them (their ARNs do not exist
    before, hence ``Resource: *`` with the ``ecs:CreateAction`` condition)."""
    return [
        *(permission.statement() for permission in run_task_permissions(cluster, definition)),
        iam.PolicyStatement(
            sid="TagTasksItStarts",
            actions=["ecs:TagResource"],
            resources=["*"],
            conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}},
        ),
    ]
