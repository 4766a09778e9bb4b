"""Intent tests: secrets reach containers only through ECS secrets, with exact grants."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_patterns_plus import HardenedTaskDefinition, SecretValue, ValidationError
from ecs_patterns_plus.task_definition import looks_like_secret_name
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors

STACK = "TaskDefSecrets"


def _logical_id(synth: Synthesized, resource_type: str, prefix: str) -> str:
    (logical_id,) = [k for k in resources_of(synth, STACK, resource_type) if k.startswith(prefix)]
    return logical_id


def _execution_statements(synth: Synthesized) -> list[dict[str, Any]]:
    policy = _logical_id(synth, "AWS::IAM::Policy", "TaskExecutionRoleDefaultPolicy")
    return resources_of(synth, STACK, "AWS::IAM::Policy")[policy]["Properties"]["PolicyDocument"][
        "Statement"
    ]


def _statement(synth: Synthesized, action: str) -> dict[str, Any]:
    (statement,) = [s for s in _execution_statements(synth) if action in s["Action"]]
    return statement


def _arn(service: str, resource: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [f"arn:aws:{service}:ap-northeast-2:", {"Ref": "AWS::AccountId"}, resource],
        ]
    }


def _value_from(synth: Synthesized) -> dict[str, Any]:
    (task,) = resources_of(synth, STACK, "AWS::ECS::TaskDefinition").values()
    (app,) = task["Properties"]["ContainerDefinitions"]
    return {s["Name"]: s["ValueFrom"] for s in app["Secrets"]}


@pytest.mark.scenarios(STACK)
def test_secrets_are_injected_by_ecs_never_as_plain_environment(scenarios: Synthesized) -> None:
    (task,) = resources_of(scenarios, STACK, "AWS::ECS::TaskDefinition").values()
    (app,) = task["Properties"]["ContainerDefinitions"]
    assert "Environment" not in app
    assert len(app["Secrets"]) == 6


@pytest.mark.scenarios(STACK)
def test_value_from_for_each_kind_of_secret(scenarios: Synthesized) -> None:
    created = _logical_id(scenarios, "AWS::SecretsManager::Secret", "DbSecret")
    flags = _logical_id(scenarios, "AWS::SSM::Parameter", "FeatureFlags")
    assert _value_from(scenarios) == {
        "DB_CREDENTIALS": {"Ref": created},
        "DB_PASSWORD": {"Fn::Join": ["", [{"Ref": created}, ":password::"]]},
        "API_KEY_PREVIOUS": _arn("secretsmanager", ":secret:myapp/api::AWSPREVIOUS:"),
        "API_KEY": _arn(
            "secretsmanager", ":secret:myapp/api:key::0123456789abcdef0123456789abcdef"
        ),
        "FEATURE_FLAGS": {
            "Fn::Join": [
                "",
                [
                    "arn:aws:ssm:ap-northeast-2:",
                    {"Ref": "AWS::AccountId"},
                    ":parameter/",
                    {"Ref": flags},
                ],
            ]
        },
        "LICENSE_KEY": _arn("ssm", ":parameter/myapp/license"),
    }


@pytest.mark.scenarios(STACK)
def test_execution_role_reads_exactly_the_referenced_secrets(scenarios: Synthesized) -> None:
    created = _logical_id(scenarios, "AWS::SecretsManager::Secret", "DbSecret")
    statement = _statement(scenarios, "secretsmanager:GetSecretValue")
    assert statement["Resource"] == [
        _arn("secretsmanager", ":secret:myapp/api-??????"),
        {"Ref": created},
    ]
    assert all(action.startswith("secretsmanager:") for action in statement["Action"])


@pytest.mark.scenarios(STACK)
def test_execution_role_reads_exactly_the_referenced_parameters(scenarios: Synthesized) -> None:
    statement = _statement(scenarios, "ssm:GetParameters")
    assert len(statement["Resource"]) == 2
    assert _arn("ssm", ":parameter/myapp/license") in statement["Resource"]
    assert all(
        action.startswith("ssm:Get") or action == "ssm:DescribeParameters"
        for action in statement["Action"]
    )


@pytest.mark.scenarios(STACK)
def test_kms_decrypt_only_on_the_secrets_key(scenarios: Synthesized) -> None:
    key = _logical_id(scenarios, "AWS::KMS::Key", "SecretsKey")
    kms_statements = [s for s in _execution_statements(scenarios) if str(s["Action"]).count("kms:")]
    assert kms_statements == [
        {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": {"Fn::GetAtt": [key, "Arn"]}}
    ]


@pytest.mark.scenarios(STACK)
def test_no_wildcard_resource_in_the_execution_default_policy(scenarios: Synthesized) -> None:
    assert all(statement["Resource"] != "*" for statement in _execution_statements(scenarios))


@pytest.mark.scenarios(STACK)
def test_the_applications_secret_is_rotated_by_the_application(scenarios: Synthesized) -> None:
    created = _logical_id(scenarios, "AWS::SecretsManager::Secret", "DbSecret")
    (rotation,) = resources_of(scenarios, STACK, "AWS::SecretsManager::RotationSchedule").values()
    assert rotation["Properties"]["SecretId"] == {"Ref": created}
    acknowledged = [
        path
        for path, _ in scenarios.metadata_entries(STACK, "aws:cdk:acknowledged-rules")
        if path.startswith(f"/{STACK}/DbSecret")
    ]
    assert acknowledged == []


def test_no_finding_is_acknowledged_on_a_secret_the_application_created() -> None:
    stack = stack_for_errors()
    secret = secretsmanager.Secret(stack, "Secret")  # no rotation: the rule packs report it
    SecretValue.from_secrets_manager(secret).to_ecs_secret()
    SecretValue.from_secrets_manager(secret, field="password").to_ecs_secret()
    assert [m for m in secret.node.metadata if m.type == "aws:cdk:acknowledged-rules"] == []


@pytest.mark.scenarios("BriefTaskDefinition")
def test_brief_secret_from_secrets_manager_by_name(scenarios: Synthesized) -> None:
    (task,) = resources_of(scenarios, "BriefTaskDefinition", "AWS::ECS::TaskDefinition").values()
    (web,) = task["Properties"]["ContainerDefinitions"]
    assert web["Secrets"] == [
        {"Name": "DB_PASSWORD", "ValueFrom": _arn("secretsmanager", ":secret:myapp/db-pass")}
    ]


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "dbPassword",
        "MYSQL_PASSWD",
        "JWT_SECRET",
        "GITHUB_TOKEN",
        "STRIPE_API_KEY",
        "TLS_PRIVATE_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "ECS_ENGINE_AUTH_DATA",
        "GOOGLE_APPLICATION_CREDENTIALS_JSON",
    ],
)
def test_secret_like_names_are_recognised(name: str) -> None:
    assert looks_like_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "SPRING_PROFILES_ACTIVE",
        "DB_HOST",
        "DB_SECRET_ARN",
        "DB_PASSWORD_FILE",
        "TOKEN_ENDPOINT",
        "SECRET_NAME",
        "KEYCLOAK_URL",
        "LOG_LEVEL",
    ],
)
def test_configuration_names_are_allowed(name: str) -> None:
    assert not looks_like_secret_name(name)


# --- Bad input ---------------------------------------------------------------------------------


def _build(secrets: dict[str, Any]) -> None:
    stack = stack_for_errors()
    repository = ecr.Repository.from_repository_name(stack, "Repository", "myapp")
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecs.ContainerImage.from_ecr_repository(repository, "v1"),
        secrets=secrets,
    )


def _imported() -> secretsmanager.ISecret:
    stack = stack_for_errors()
    return secretsmanager.Secret.from_secret_name_v2(stack, "Imported", "myapp/api")


@pytest.mark.parametrize(
    ("value", "argument", "fragment"),
    [
        (
            lambda: SecretValue.from_secrets_manager(
                _imported(), version_stage="AWSCURRENT", version_id="0" * 32
            ),
            "secrets['API_KEY'].version_stage",
            "mutually exclusive",
        ),
        (
            lambda: SecretValue.from_secrets_manager(_imported(), version_id="v1"),
            "secrets['API_KEY'].version_id",
            "32 to 64",
        ),
        (
            lambda: SecretValue.from_secrets_manager(_imported(), version_stage="not a label"),
            "secrets['API_KEY'].version_stage",
            "staging label",
        ),
        (
            lambda: SecretValue.from_secrets_manager(_imported(), field="a:b"),
            "secrets['API_KEY'].field",
            "without ':'",
        ),
        (
            lambda: SecretValue.from_secrets_manager(_imported(), field=""),
            "secrets['API_KEY'].field",
            "non-empty",
        ),
        (lambda: SecretValue(), "secrets['API_KEY']", "exactly one secret or parameter"),
    ],
)
def test_bad_secret_references_name_the_argument(value: Any, argument: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        _build({"API_KEY": value()})
    assert any(p.startswith(f"{argument}:") and fragment in p for p in error.value.problems), (
        error.value.problems
    )
