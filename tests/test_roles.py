"""Your own roles and a permissions boundary: what each guarantee looks like in the template,
and every bad input refused before anything is built."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_patterns_plus import (
    HardenedTaskDefinition,
    SecretValue,
    ValidationError,
    apply_permissions_boundary,
)
from ecs_patterns_plus.boundary import is_immutable
from tests.scenarios.boundary import (
    BOUNDARY_ARN,
    EXECUTION_ROLE_ARN,
    REPORT_TASK_ROLE_ARN,
    ROLE_PATH,
    TASK_ROLE_ARN,
)
from tests.scenarios.task_definition import ecr_image
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

BOUNDED = "PermissionsBoundary"
OWN = "OwnRoles"
IMMUTABLE = "OwnRolesImmutable"
ROLE = "AWS::IAM::Role"
IMPORTED = "arn:aws:iam::111122223333:role/apps/imported"


def _by_path(synth: Synthesized, stack: str, path: str) -> dict[str, Any]:
    """The resource whose construct path is exactly ``<stack>/<path>``."""
    (found,) = [
        resource
        for resource in synth.template_json(stack)["Resources"].values()
        if resource.get("Metadata", {}).get("aws:cdk:path") == f"{stack}/{path}"
    ]
    return found


def _task_definition(synth: Synthesized, stack: str, task: str) -> dict[str, Any]:
    return _by_path(synth, stack, f"{task}/TaskDefinition/Resource")["Properties"]


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return resource["Properties"]["PolicyDocument"]["Statement"]


def _warnings(synth: Synthesized, stack: str, path: str) -> list[str]:
    return [
        data
        for where, data in synth.metadata_entries(stack, "aws:cdk:warning")
        if where == f"/{stack}/{path}"
    ]


# --- A permissions boundary on every role ----------------------------------------------------


@pytest.mark.scenarios(BOUNDED)
def test_every_role_in_the_stack_has_the_boundary_and_the_path(scenarios: Synthesized) -> None:
    roles = resources_of(scenarios, BOUNDED, ROLE)
    assert len(roles) == 8  # flow log, custom resource, 2 x 2 task roles, scheduler, L1
    for logical, role in roles.items():
        assert role["Properties"]["PermissionsBoundary"] == BOUNDARY_ARN, logical
        assert role["Properties"]["Path"] == ROLE_PATH, logical


@pytest.mark.scenarios(BOUNDED)
def test_roles_made_before_and_after_the_call_are_bounded(scenarios: Synthesized) -> None:
    before = _by_path(scenarios, BOUNDED, "Network/FlowLog/IAMRole/Resource")
    after = _by_path(scenarios, BOUNDED, "OrdersTask/TaskRole/Resource")
    for role in (before, after):
        assert role["Properties"]["PermissionsBoundary"] == BOUNDARY_ARN


@pytest.mark.scenarios(BOUNDED)
def test_cdk_internal_and_l1_roles_are_bounded(scenarios: Synthesized) -> None:
    provider = _by_path(
        scenarios, BOUNDED, "Custom::VpcRestrictDefaultSGCustomResourceProvider/Role"
    )
    l1 = _by_path(scenarios, BOUNDED, "AuditorRole")
    for role in (provider, l1):
        assert role["Properties"]["PermissionsBoundary"] == BOUNDARY_ARN
        assert role["Properties"]["Path"] == ROLE_PATH


@pytest.mark.scenarios(BOUNDED)
def test_an_app_role_given_as_task_role_is_used_bounded_and_passed_by_the_scheduler(
    scenarios: Synthesized,
) -> None:
    role = logical_id(scenarios, BOUNDED, "ReportRole")
    assert _task_definition(scenarios, BOUNDED, "ReportTask")["TaskRoleArn"] == {
        "Fn::GetAtt": [role, "Arn"]
    }
    paths = [
        r.get("Metadata", {}).get("aws:cdk:path")
        for r in resources_of(scenarios, BOUNDED, ROLE).values()
    ]
    assert f"{BOUNDED}/ReportTask/TaskRole/Resource" not in paths  # no role created for it
    scheduler = _by_path(scenarios, BOUNDED, "Nightly/SchedulerRole/RunTaskPolicy/Resource")
    (pass_role,) = [s for s in _statements(scheduler) if s["Action"] == "iam:PassRole"]
    assert {"Fn::GetAtt": [role, "Arn"]} in pass_role["Resource"]


# --- Roles the organisation made --------------------------------------------------------------


@pytest.mark.scenarios(OWN)
def test_given_roles_are_used_and_no_role_is_created(scenarios: Synthesized) -> None:
    assert resources_of(scenarios, OWN, ROLE) == {}
    orders = _task_definition(scenarios, OWN, "OrdersTask")
    report = _task_definition(scenarios, OWN, "ReportTask")
    assert (orders["ExecutionRoleArn"], orders["TaskRoleArn"]) == (
        EXECUTION_ROLE_ARN,
        TASK_ROLE_ARN,
    )
    assert (report["ExecutionRoleArn"], report["TaskRoleArn"]) == (
        EXECUTION_ROLE_ARN,
        REPORT_TASK_ROLE_ARN,
    )


@pytest.mark.scenarios(OWN)
def test_a_mutable_execution_role_gets_exactly_the_tasks_grants_in_the_librarys_policy(
    scenarios: Synthesized,
) -> None:
    policy = _by_path(scenarios, OWN, "OrdersTask/ExecutionRole/DefaultPolicy/Resource")
    assert policy["Type"] == "AWS::IAM::Policy"
    assert policy["Properties"]["Roles"] == ["ecs-task-execution"]  # the name, without the path
    statements = _statements(policy)
    actions = {action for s in statements for action in _as_list(s["Action"])}
    assert {"ecr:BatchGetImage", "logs:PutLogEvents", "secretsmanager:GetSecretValue"} <= actions
    assert all(s["Resource"] != "*" for s in statements)
    log_group = logical_id(scenarios, OWN, "OrdersTask/LogGroup")
    assert {"Fn::GetAtt": [log_group, "Arn"]} in [s["Resource"] for s in statements]


@pytest.mark.scenarios(OWN)
def test_resource_star_grants_go_to_the_shared_acknowledged_policies_once_per_role(
    scenarios: Synthesized,
) -> None:
    ecr_auth = _by_path(scenarios, OWN, "EcsPatternsPlus/EcrAuthPolicy/Resource")
    exec_policy = _by_path(scenarios, OWN, "EcsPatternsPlus/ExecPolicy/Resource")
    # Two task definitions share the platform execution role: attached once.
    assert ecr_auth["Properties"]["Roles"] == ["ecs-task-execution"]
    assert exec_policy["Properties"]["Roles"] == ["orders-worker"]


@pytest.mark.scenarios(OWN)
def test_a_mutable_task_role_gets_the_queue_and_exec_session_log_grants(
    scenarios: Synthesized,
) -> None:
    policy = _by_path(scenarios, OWN, "OrdersTask/TaskRole/DefaultPolicy/Resource")
    assert policy["Properties"]["Roles"] == ["orders-worker"]
    by_resource = {str(s["Resource"]): s for s in _statements(policy)}
    queue = logical_id(scenarios, OWN, "Orders/Queue")
    session_logs = logical_id(scenarios, OWN, "Platform/ExecLogGroup")
    assert "sqs:ReceiveMessage" in by_resource[str({"Fn::GetAtt": [queue, "Arn"]})]["Action"]
    assert "logs:PutLogEvents" in by_resource[str({"Fn::GetAtt": [session_logs, "Arn"]})]["Action"]
    assert all(s["Resource"] != "*" for s in _statements(policy))


@pytest.mark.scenarios(IMMUTABLE)
def test_an_immutable_role_gets_nothing_attached(scenarios: Synthesized) -> None:
    types = {r["Type"] for r in scenarios.template_json(IMMUTABLE)["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::IAM::")}


@pytest.mark.scenarios(IMMUTABLE)
def test_an_immutable_execution_role_is_warned_with_every_permission_it_must_allow(
    scenarios: Synthesized,
) -> None:
    (warning,) = _warnings(scenarios, IMMUTABLE, "ReportTask/ExecutionRole")
    log_group = logical_id(scenarios, IMMUTABLE, "ReportTask/LogGroup")
    assert "ecs-report-execution is immutable" in warning
    for needed in (
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "logs:PutLogEvents",
        log_group,
    ):
        assert needed in warning
    assert "ecs-patterns-plus:immutable-role-permissions" in warning


@pytest.mark.scenarios(IMMUTABLE)
def test_a_grant_made_later_to_an_immutable_task_role_is_warned(scenarios: Synthesized) -> None:
    (warning,) = _warnings(scenarios, IMMUTABLE, "ReportTask/TaskRole")
    topic = logical_id(scenarios, IMMUTABLE, "ReportsReady")
    assert "sns:Publish" in warning and topic in warning


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- Bad inputs, and edges that must be accepted -----------------------------------------------


def test_a_boundary_that_is_not_a_managed_policy_is_refused() -> None:
    stack = stack_for_errors()
    inline = iam.Policy(
        stack,
        "Inline",
        statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])],
    )
    with pytest.raises(
        ValidationError, match=r"boundary: expected an iam\.IManagedPolicy or a str"
    ):
        apply_permissions_boundary(stack, inline)  # type: ignore[arg-type]
    for arn in (
        "WorkloadBoundary",
        "arn:aws:iam::111122223333:role/WorkloadBoundary",
        "arn:aws:iam::111122223333:policy/Boundary\n",
    ):
        with pytest.raises(ValidationError, match="boundary: is not the ARN of a managed policy"):
            apply_permissions_boundary(stack, arn)
    imported = iam.ManagedPolicy.from_managed_policy_arn(stack, "Bad", "arn:aws:s3:::bucket")
    with pytest.raises(ValidationError, match="boundary: is not the ARN of a managed policy"):
        apply_permissions_boundary(stack, imported)


@pytest.mark.parametrize(
    "path", ["", "ecs", "/ecs", "ecs/", "/with space/", "/ecs/\n", "/" + "a" * 511 + "/"]
)
def test_a_bad_role_path_is_refused(path: str) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match="path: must be '/' or 1-512 printable ASCII"):
        apply_permissions_boundary(stack, BOUNDARY_ARN, path=path)


def test_every_problem_of_one_call_is_reported_together() -> None:
    with pytest.raises(ValidationError, match="2 invalid arguments") as raised:
        apply_permissions_boundary(stack_for_errors(), "nope", path="nope")
    assert "boundary:" in str(raised.value) and "path:" in str(raised.value)


def test_tokens_and_edge_values_are_accepted() -> None:
    stack = stack_for_errors()
    boundary = cdk.CfnParameter(stack, "Boundary").value_as_string
    path = cdk.CfnParameter(stack, "Path").value_as_string
    apply_permissions_boundary(stack, boundary, path=path)
    apply_permissions_boundary(
        stack, iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")
    )
    apply_permissions_boundary(
        stack,
        iam.ManagedPolicy.from_managed_policy_name(stack, "ByName", "WorkloadBoundary"),
        path="/",
    )
    apply_permissions_boundary(
        stack, "arn:aws-us-gov:iam::111122223333:policy/a/b/Boundary", path="/" + "a" * 510 + "/"
    )
    apply_permissions_boundary(stack.node.root, BOUNDARY_ARN, path="/a$b{c}~!/")


def test_an_immutable_execution_role_is_refused_with_secrets() -> None:
    stack = stack_for_errors()
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Db", "orders/db")
    role = iam.Role.from_role_arn(stack, "Execution", IMPORTED, mutable=False)
    with pytest.raises(
        ValidationError,
        match=r"execution_role: is immutable .* drop read access to the secrets without a word",
    ):
        HardenedTaskDefinition(
            stack,
            "Task",
            image=ecr_image(stack),
            secrets={"DB_PASSWORD": SecretValue.from_secrets_manager(secret)},
            execution_role=role,
        )
    assert stack.node.try_find_child("Task") is None


@pytest.mark.parametrize("kind", ["mutable=False", "another account", "without_policy_updates"])
def test_an_immutable_task_role_is_refused_with_ecs_exec(kind: str) -> None:
    stack = stack_for_errors()
    app = stack.node.root
    assert isinstance(app, cdk.App)
    stack_in_account = cdk.Stack(app, "InAccount", env=cdk.Environment(account="444455556666"))
    scope = stack_in_account if kind == "another account" else stack
    role = {
        "mutable=False": lambda: iam.Role.from_role_arn(scope, "Role", IMPORTED, mutable=False),
        "another account": lambda: iam.Role.from_role_arn(scope, "Role", IMPORTED),
        "without_policy_updates": lambda: iam.Role(
            scope, "Role", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
        ).without_policy_updates(),
    }[kind]()
    assert is_immutable(role)
    with pytest.raises(ValidationError, match=r"task_role: is immutable .* ECS Exec permissions"):
        HardenedTaskDefinition(
            scope, "Task", image=ecr_image(scope), enable_exec=True, task_role=role
        )


def test_mutable_roles_are_not_immutable_and_an_ecs_trusting_app_role_is_accepted() -> None:
    stack = stack_for_errors()
    app_role = iam.Role(
        stack,
        "App",
        assumed_by=iam.CompositePrincipal(
            iam.ServicePrincipal("lambda.amazonaws.com"),
            iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        ),
    )
    assert not is_immutable(app_role)
    assert not is_immutable(iam.Role.from_role_arn(stack, "Imported", IMPORTED))
    task = HardenedTaskDefinition(stack, "Task", image=ecr_image(stack), task_role=app_role)
    assert task.task_role.role_arn == app_role.role_arn


def test_an_app_role_that_does_not_trust_ecs_tasks_is_refused() -> None:
    stack = stack_for_errors()
    role = iam.Role(stack, "Lambda", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.assume_role_policy.add_statements(  # type: ignore[union-attr]
        iam.PolicyStatement(actions=["sts:AssumeRole"], principals=[iam.StarPrincipal()])
    )
    with pytest.raises(
        ValidationError, match=r"execution_role: does not trust ecs-tasks\.amazonaws\.com"
    ):
        HardenedTaskDefinition(stack, "Task", image=ecr_image(stack), execution_role=role)


def test_a_role_arn_string_is_refused_with_the_type() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"task_role: expected an iam\.IRole"):
        HardenedTaskDefinition(stack, "Task", image=ecr_image(stack), task_role=IMPORTED)  # type: ignore[arg-type]


def test_one_role_for_both_warns() -> None:
    stack = stack_for_errors()
    role = iam.Role.from_role_arn(stack, "Both", IMPORTED)
    task = HardenedTaskDefinition(
        stack, "Task", image=ecr_image(stack), execution_role=role, task_role=role
    )
    warnings = [str(m.data) for m in task.node.metadata if m.type == "aws:cdk:warning"]
    assert any("ecs-patterns-plus:shared-task-execution-role" in w for w in warnings)
