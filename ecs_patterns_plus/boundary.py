"""IAM an organisation controls: roles it made, and a permissions boundary on every role.

``apply_permissions_boundary`` puts a managed policy as the permissions boundary (and
optionally a path) on every IAM role in a scope at synthesis. ``AdoptedRole`` lets a
``HardenedTaskDefinition`` use an execution or task role the caller made instead of creating
one, without losing a permission silently.

What this relies on (AWS documentation):

- IAM permissions boundaries: a managed policy (AWS or customer managed) that sets the maximum
  permissions identity-based policies can grant a user or role; it grants nothing itself, so
  a role's effective permissions are what both its policies and its boundary allow. Resource
  policies are not limited by it.
- ``AWS::IAM::Role`` ``Path``: 1-512 characters, ``/`` alone or starting and ending with
  ``/`` with printable ASCII ``!`` (U+0021) to ``~`` (U+007E) between (pattern
  ``(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)``); changing it replaces the role.
  ``PermissionsBoundary`` is the ARN of a managed policy.
- ECS: the task execution role and the task role are assumed by the service principal
  ``ecs-tasks.amazonaws.com``, which the role's trust policy must allow; ECS recommends
  separate roles, and ``aws:SourceAccount`` / ``aws:SourceArn`` conditions against confused
  deputies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
import constructs
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk.interfaces import aws_iam as iam_refs
from constructs import Construct, IConstruct

from . import compliance
from .errors import Problems, checked, is_token
from .iam import Route, exec_session_log_statement, route_statement

ECS_TASKS = "ecs-tasks.amazonaws.com"
"""The service principal that assumes task and execution roles."""

_ROLE_PATH = re.compile(r"/|/[\x21-\x7e]+/")
_MANAGED_POLICY_ARN = re.compile(
    r"arn:aws[a-z-]*:iam::(\d{12}|aws):policy/([A-Za-z0-9.,+@=_-]+/)*[\w+=,.@-]{1,128}", re.ASCII
)
_ROLE_TYPE = "AWS::IAM::Role"
_WITHOUT = {
    "execution role": "the tasks do not start (the ECS agent pulls, logs and reads with it)",
    "task role": "the application's calls are denied",
}
"""What happens when a given role lacks a permission, by its purpose."""


# --- A permissions boundary (and path) on every role ----------------------------------------


@checked
def apply_permissions_boundary(
    scope: IConstruct, boundary: iam.IManagedPolicy | str, *, path: str | None = None
) -> None:
    """Put ``boundary`` as the permissions boundary, and ``path`` as the path, on every IAM role
    in ``scope``: those of the library, the app's own, and CDK's (custom-resource providers),
    L2 ``iam.Role`` and L1 ``CfnRole`` alike, including roles created after this call (a CDK
    Aspect applies both at synthesis). Call it on the app or the stack to cover CDK's own
    custom-resource roles, which live at the stack's root.

    A boundary only limits: a role can do only what both its policies and the boundary allow,
    so the boundary must allow everything the tasks, the ECS agent and CDK's custom resources
    do (for example ``ssmmessages:*`` with ECS Exec). Like ``iam.PermissionsBoundary``, it
    replaces any boundary a role had; a call on an inner scope wins there. Roles the app
    imports (``Role.from_role_arn``) are not changed.

    Args:
        scope: the app, a stack or any construct whose roles get the boundary.
        boundary: the managed policy: ``iam.ManagedPolicy.from_managed_policy_arn(...)``,
            ``from_managed_policy_name(...)``, an ``iam.ManagedPolicy`` of the app, or its ARN.
            An inline ``iam.Policy`` cannot be a boundary.
        path: the IAM path of every role, e.g. ``/ecs/``: ``/`` alone, or 1-512 printable
            ASCII characters that start and end with ``/``. Changing it replaces the roles
            (CloudFormation: update requires replacement), so roles with a fixed ``role_name``
            cannot move. CDK does not know this path: a role referenced from another account
            or region by its generated name is addressed without it (set ``path`` on such an
            ``iam.Role`` itself). Default: each role keeps its own (``/`` unless set).
    """
    problems = Problems.named("apply_permissions_boundary")
    arn = boundary if isinstance(boundary, str) else boundary.managed_policy_arn
    if not is_token(arn):
        problems.require(
            bool(_MANAGED_POLICY_ARN.fullmatch(arn)),
            "boundary",
            "is not the ARN of a managed policy (arn:<partition>:iam::<account or aws>:policy/"
            "<path><name>)",
            arn,
            "pass iam.ManagedPolicy.from_managed_policy_arn(...) or from_managed_policy_name(...),"
            " or the policy's ARN",
        )
    if path is not None and not is_token(path):
        problems.require(
            1 <= len(path) <= 512 and bool(_ROLE_PATH.fullmatch(path)),
            "path",
            "must be '/' or 1-512 printable ASCII characters (! to ~) that start and end with '/'",
            path,
            "pass e.g. '/ecs/' or '/teams/payments/'",
        )
    problems.raise_if_any()
    cdk.Aspects.of(scope).add(_BoundRoles(arn, path), priority=cdk.AspectPriority.MUTATING)


@jsii.implements(cdk.IAspect)
class _BoundRoles:
    """Sets ``PermissionsBoundary`` (and ``Path``) on every ``AWS::IAM::Role`` resource it visits:
    by resource type, so L1 roles and CDK's own ``CfnResource`` roles are covered too."""

    def __init__(self, boundary_arn: str, path: str | None) -> None:
        self._boundary_arn = boundary_arn
        self._path = path

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, cdk.CfnResource) or node.cfn_resource_type != _ROLE_TYPE:
            return
        node.add_property_override("PermissionsBoundary", self._boundary_arn)
        if self._path is not None:
            node.add_property_override("Path", self._path)


# --- A role the caller made ------------------------------------------------------------------


def is_immutable(role: iam.IRole) -> bool:
    """True for roles CDK never changes: ``Role.from_role_arn(..., mutable=False)``, a role of
    another account, ``role.without_policy_updates()``. CDK drops every statement granted to
    them without a word; each stands in for another construct (its dependency root)."""
    roots = constructs.Dependable.of(role).dependency_roots
    return any(root.node.path != role.node.path for root in roots)


def check_given_role(
    problems: Problems,
    argument: str,
    role: iam.IRole | None,
    *,
    refused: Sequence[tuple[bool, str]] = (),
) -> None:
    """Record problems with a role the caller gives a task definition: a role of this app must
    trust ``ecs-tasks.amazonaws.com``; an immutable role cannot take the grants ``refused``
    lists (``(needed, what)`` pairs) because the library could not add them."""
    if role is None:
        return
    role = role.role if isinstance(role, AdoptedRole) else role
    if isinstance(role, iam.Role):
        problems.require(
            _trusts_ecs_tasks(role),
            argument,
            f"does not trust {ECS_TASKS}: ECS cannot give it to the tasks",
            role.node.path,
            f"build it with assumed_by=iam.ServicePrincipal({ECS_TASKS!r})",
        )
    if is_immutable(role):
        for needed, what in refused:
            problems.require(
                not needed,
                argument,
                f"is immutable (imported with mutable=False, or of another account): CDK would "
                f"drop {what} without a word",
                role.node.path,
                "import it with mutable=True so the library can attach the exact grants, or let "
                "the library create the role",
            )


def _trusts_ecs_tasks(role: iam.Role) -> bool:
    """True when the role's trust policy allows ``ecs-tasks.amazonaws.com`` to assume it (or
    names the service with a token, which cannot be checked)."""
    trust = role.assume_role_policy
    document = cdk.Stack.of(role).resolve(trust.to_json()) if trust is not None else {}
    for statement in document.get("Statement", []):
        actions = _as_list(statement.get("Action"))
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        assumes = {"sts:AssumeRole", "sts:*", "*"} & {a for a in actions if isinstance(a, str)}
        if statement.get("Effect") != "Allow" or not assumes:
            continue
        if ECS_TASKS in services or any(not isinstance(s, str) for s in services):
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def warn_if_shared(
    scope: Construct, execution_role: iam.IRole | None, task_role: iam.IRole | None
) -> None:
    """Warn when one given role is both the execution role and the task role: the application
    then holds the agent's permissions (image pulls, every secret of the task)."""
    if execution_role is None or task_role is None:
        return
    arns = (execution_role.role_arn, task_role.role_arn)
    same = execution_role is task_role or (not any(map(is_token, arns)) and arns[0] == arns[1])
    if same:
        cdk.Annotations.of(scope).add_warning_v2(
            "ecs-patterns-plus:shared-task-execution-role",
            "The same role is the execution role and the task role: the application can use "
            "the ECS agent's permissions (pull the images, read every secret of the task). "
            "Give the task a role of its own.",
        )


@jsii.implements(iam.IRole)
class AdoptedRole(cdk.Resource):
    """A role the caller made, used by a task definition in place of the one it would create.

    Grants to it (CDK's image pulls, log writes and secret reads, a queue's consume, ECS Exec,
    ``bucket.grant_read(task_definition.task_role)``) land as follows:

    - a role of this app or a mutable import: statements on ``Resource: *`` go to the stack's
      shared, acknowledged policies (``EcrAuthPolicy``, ``ExecPolicy``) attached to it; the
      others to one ARN-scoped inline ``DefaultPolicy`` of this construct attached to it (as
      CDK does for a role it creates), so the caller's own constructs stay untouched;
    - an immutable role: nothing is added; one warning at synthesis
      (``ecs-patterns-plus:immutable-role-permissions``) lists every statement the role must
      already allow.

    Attributes:
        role: the role as given. mutable: False for an immutable role.
        missing: the statements an immutable role was not given.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: iam.IRole,
        purpose: str,
        routes: Sequence[Route] = (),
        exec_logging: bool = False,
    ) -> None:
        given: iam.IRole = role.role if isinstance(role, AdoptedRole) else role
        super().__init__(scope, construct_id, account=given.env.account, region=given.env.region)
        self.role: iam.IRole = given
        self.mutable = not is_immutable(given)
        self.missing: list[iam.PolicyStatement] = []
        self._purpose = purpose
        self._routes = tuple(routes)
        self._exec_logging = exec_logging
        self._attached: set[str] = set()
        self._policy: iam.Policy | None = None
        self._dropped: list[str] = []
        if not self.mutable:
            cdk.Aspects.of(self).add(_ReportMissing(self))

    # IRole, as the given role
    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    @property
    def role_name(self) -> str:
        return self.role.role_name

    @property
    def role_ref(self) -> iam_refs.RoleReference:
        return self.role.role_ref

    @property
    def assume_role_action(self) -> str:
        return self.role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return self.role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        return self.role.principal_account

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self

    def grant(self, grantee: iam.IPrincipal, *actions: str) -> iam.Grant:
        return self.role.grant(grantee, *actions)

    def grant_pass_role(self, grantee: iam.IPrincipal) -> iam.Grant:
        return self.role.grant_pass_role(grantee)

    def grant_assume_role(self, grantee: iam.IPrincipal) -> iam.Grant:
        return self.role.grant_assume_role(grantee)

    def apply_removal_policy(self, policy: cdk.RemovalPolicy) -> None:
        self.role.apply_removal_policy(policy)

    # Where grants go
    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        if not self.mutable:
            self.missing.append(statement)
            return self.role.add_to_principal_policy(statement)
        if self._exec_logging:
            statement = exec_session_log_statement(statement) or statement
        routed = route_statement(self, self.role, self._routes, self._attached, statement)
        if routed is not None:
            return routed
        if self._policy is None:
            self._policy = iam.Policy(self, "DefaultPolicy", roles=[self.role])
            compliance.GRANT_DEFAULT_POLICY.apply(self._policy)
        self._policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._policy)

    def attach_inline_policy(self, policy: iam.Policy) -> None:
        if not self.mutable:
            self._dropped.append(f"inline policy {policy.node.path}")
        self.role.attach_inline_policy(policy)

    def add_managed_policy(self, policy: iam.IManagedPolicy) -> None:
        if not self.mutable:
            self._dropped.append(f"managed policy {_render(self, policy.managed_policy_arn)}")
        self.role.add_managed_policy(policy)

    def report(self) -> None:
        """Warn about what an immutable role was not given (at synthesis: grants come late)."""
        statements = {_render(self, s.to_statement_json()): None for s in self.missing}
        wanted = [*statements, *self._dropped]
        if not wanted:
            return
        cdk.Annotations.of(self).add_warning_v2(
            "ecs-patterns-plus:immutable-role-permissions",
            f"The {self._purpose} {_render(self, self.role_arn)} is immutable: the library added "
            f"none of these permissions to it. Make sure it already allows them, or "
            f"{_WITHOUT.get(self._purpose, 'they are denied')}: {'; '.join(wanted)}",
        )


@jsii.implements(cdk.IAspect)
class _ReportMissing:
    def __init__(self, role: AdoptedRole) -> None:
        self._role = role

    def visit(self, node: IConstruct) -> None:
        if node.node.path == self._role.node.path:
            self._role.report()


def _render(scope: IConstruct, value: Any) -> str:
    """A value for a message: tokens as the CloudFormation they become."""
    resolved = cdk.Stack.of(scope).resolve(value)
    return resolved if isinstance(resolved, str) else json.dumps(resolved, sort_keys=True)
