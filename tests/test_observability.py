"""The FireLens log router and the OpenTelemetry collector: what each guarantee looks like in
the template, and the mistakes refused."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose

from ecs_patterns_plus import (
    HardenedTaskDefinition,
    LogRouter,
    OpenTelemetryCollector,
    SidecarOptions,
    ValidationError,
)
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors

CLOUDWATCH = "LogRouterCloudWatch"
FIREHOSE = "LogRouterFirehose"
TELEMETRY = "TelemetryCollector"
DIGEST = "sha256:" + "0123456789abcdef" * 4
FLUENT_BIT = f"public.ecr.aws/aws-observability/aws-for-fluent-bit@{DIGEST}"
COLLECTOR = f"public.ecr.aws/aws-observability/aws-otel-collector@{DIGEST}"


def _containers(synth: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    (definition,) = resources_of(synth, stack, "AWS::ECS::TaskDefinition").values()
    return {c["Name"]: c for c in definition["Properties"]["ContainerDefinitions"]}


def _log_group(synth: Synthesized, stack: str) -> str:
    (log_group,) = resources_of(synth, stack, "AWS::Logs::LogGroup")
    return log_group


def _task_role_statements(synth: Synthesized, stack: str) -> list[dict[str, Any]]:
    """Every statement any policy gives the task role (inline and managed)."""
    (role,) = [
        key
        for key, role in resources_of(synth, stack, "AWS::IAM::Role").items()
        if "/TaskRole/" in role["Metadata"]["aws:cdk:path"]
    ]
    policies = [
        *resources_of(synth, stack, "AWS::IAM::Policy").values(),
        *resources_of(synth, stack, "AWS::IAM::ManagedPolicy").values(),
    ]
    return [
        statement
        for policy in policies
        if {"Ref": role} in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _hardened(container: dict[str, Any], user: str) -> None:
    assert container["ReadonlyRootFilesystem"] is True
    assert container["User"] == user
    assert container["Privileged"] is False
    assert container["LinuxParameters"] == {
        "Capabilities": {"Drop": ["ALL"]},
        "InitProcessEnabled": True,
    }
    assert container["Essential"] is True
    assert [m["ContainerPath"] for m in container["MountPoints"]] == ["/tmp"]
    assert "@sha256:" in container["Image"]


# --- The log router --------------------------------------------------------------------------


@pytest.mark.scenarios(CLOUDWATCH)
def test_log_router_is_a_fluent_bit_firelens_container_the_application_starts_after(
    scenarios: Synthesized,
) -> None:
    containers = _containers(scenarios, CLOUDWATCH)
    router = containers["log-router"]
    assert router["FirelensConfiguration"] == {"Type": "fluentbit"}
    assert router["Image"] == FLUENT_BIT
    assert containers["app"]["DependsOn"] == [{"Condition": "START", "ContainerName": "log-router"}]
    (definition,) = resources_of(scenarios, CLOUDWATCH, "AWS::ECS::TaskDefinition").values()
    names = [c["Name"] for c in definition["Properties"]["ContainerDefinitions"]]
    assert names == ["app", "log-router"]  # CDK added no (unpinned) router of its own


@pytest.mark.scenarios(CLOUDWATCH)
def test_log_router_is_hardened_and_not_root(scenarios: Synthesized) -> None:
    router = _containers(scenarios, CLOUDWATCH)["log-router"]
    _hardened(router, "1000:1000")
    assert router["Memory"] == 128
    # The application gets what the router leaves of the task's memory.
    assert _containers(scenarios, CLOUDWATCH)["app"]["Memory"] == 512 - 128


@pytest.mark.scenarios(CLOUDWATCH)
def test_application_logs_through_firelens_to_the_task_log_group_without_creating_one(
    scenarios: Synthesized,
) -> None:
    app = _containers(scenarios, CLOUDWATCH)["app"]
    assert app["LogConfiguration"] == {
        "LogDriver": "awsfirelens",
        "Options": {
            "Name": "cloudwatch_logs",
            "region": "ap-northeast-2",
            "log_group_name": {"Ref": _log_group(scenarios, CLOUDWATCH)},
            "log_stream_prefix": "app/",
            "auto_create_group": "false",
        },
    }


@pytest.mark.scenarios(CLOUDWATCH)
def test_router_keeps_its_own_logs_in_the_task_log_group(scenarios: Synthesized) -> None:
    router = _containers(scenarios, CLOUDWATCH)["log-router"]
    assert router["LogConfiguration"]["LogDriver"] == "awslogs"
    options = router["LogConfiguration"]["Options"]
    assert options["awslogs-group"] == {"Ref": _log_group(scenarios, CLOUDWATCH)}
    assert options["awslogs-stream-prefix"] == "log-router"
    assert len(resources_of(scenarios, CLOUDWATCH, "AWS::Logs::LogGroup")) == 1


@pytest.mark.scenarios(CLOUDWATCH)
def test_cloudwatch_router_may_write_only_the_task_log_group(scenarios: Synthesized) -> None:
    assert _task_role_statements(scenarios, CLOUDWATCH) == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [_log_group(scenarios, CLOUDWATCH), "Arn"]},
        }
    ]


@pytest.mark.scenarios(FIREHOSE)
def test_firehose_router_sends_to_the_stream_and_may_put_batches_there_only(
    scenarios: Synthesized,
) -> None:
    assert _containers(scenarios, FIREHOSE)["app"]["LogConfiguration"] == {
        "LogDriver": "awsfirelens",
        "Options": {
            "Name": "kinesis_firehose",
            "region": "ap-northeast-2",
            "delivery_stream": "orders-logs",
        },
    }
    (statement,) = _task_role_statements(scenarios, FIREHOSE)
    assert statement["Action"] == "firehose:PutRecordBatch"
    assert statement["Resource"]["Fn::Join"][1][-1] == ":deliverystream/orders-logs"


# --- The collector ---------------------------------------------------------------------------


def _collector_configuration(synth: Synthesized) -> dict[str, Any]:
    """AOT_CONFIG_CONTENT with the log group's Ref written as ``<LogGroup>``."""
    (variable,) = _containers(synth, TELEMETRY)["otel-collector"]["Environment"]
    assert variable["Name"] == "AOT_CONFIG_CONTENT"
    parts = variable["Value"]["Fn::Join"][1]
    log_group = _log_group(synth, TELEMETRY)
    text = "".join("<LogGroup>" if part == {"Ref": log_group} else part for part in parts)
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.mark.scenarios(TELEMETRY)
def test_collector_is_hardened_healthy_and_started_before_the_application(
    scenarios: Synthesized,
) -> None:
    containers = _containers(scenarios, TELEMETRY)
    collector = containers["otel-collector"]
    _hardened(collector, "4317:4317")
    assert collector["Image"] == COLLECTOR
    assert collector["HealthCheck"]["Command"] == ["CMD", "/healthcheck"]
    assert "PortMappings" not in collector  # loopback only
    assert {"Condition": "START", "ContainerName": "otel-collector"} in containers["app"][
        "DependsOn"
    ]
    assert containers["app"]["Memory"] == 1024 - 128 - 128


@pytest.mark.scenarios(TELEMETRY)
def test_application_is_told_where_to_export_metrics_and_not_to_export_traces(
    scenarios: Synthesized,
) -> None:
    environment = {
        v["Name"]: v["Value"] for v in _containers(scenarios, TELEMETRY)["app"]["Environment"]
    }
    assert environment == {
        "OTEL_SERVICE_NAME": "orders",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }


@pytest.mark.scenarios(TELEMETRY)
def test_collector_sends_metrics_as_emf_to_the_task_log_group_in_its_namespace(
    scenarios: Synthesized,
) -> None:
    configuration = _collector_configuration(scenarios)
    protocols = configuration["receivers"]["otlp"]["protocols"]
    assert protocols == {
        "grpc": {"endpoint": "127.0.0.1:4317"},
        "http": {"endpoint": "127.0.0.1:4318"},
    }
    assert configuration["exporters"] == {
        "awsemf": {
            "namespace": "MyCompany/Orders",
            "region": "ap-northeast-2",
            "log_group_name": "<LogGroup>",
            "log_stream_name": "otel-metrics/{TaskId}",
            "dimension_rollup_option": "NoDimensionRollup",
        }
    }
    assert list(configuration["service"]["pipelines"]) == ["metrics"]  # no traces: no X-Ray
    assert configuration["extensions"]["health_check"] == {"endpoint": "127.0.0.1:13133"}
    assert "memory_limiter" in configuration["service"]["pipelines"]["metrics"]["processors"]


@pytest.mark.scenarios(TELEMETRY)
def test_collector_and_router_share_one_log_group_grant_and_nothing_on_resource_star(
    scenarios: Synthesized,
) -> None:
    statements = _task_role_statements(scenarios, TELEMETRY)
    assert statements == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [_log_group(scenarios, TELEMETRY), "Arn"]},
        }
    ]
    (task_role,) = [
        role
        for role in resources_of(scenarios, TELEMETRY, "AWS::IAM::Role").values()
        if "/TaskRole/" in role["Metadata"]["aws:cdk:path"]
    ]
    assert "ManagedPolicyArns" not in task_role["Properties"]  # no AWS managed policy either


# --- Valid edges -----------------------------------------------------------------------------


def _image(stack: cdk.Stack) -> ecs.ContainerImage:
    repository = stack.node.try_find_child("Repository") or ecr.Repository.from_repository_name(
        stack, "Repository", "myapp"
    )
    return ecs.ContainerImage.from_ecr_repository(repository, "1.0.0")  # type: ignore[arg-type]


def _router(**options: Any) -> LogRouter:
    return LogRouter(image=ecs.ContainerImage.from_registry(FLUENT_BIT), **options)


def _collector(**options: Any) -> OpenTelemetryCollector:
    return OpenTelemetryCollector(image=ecs.ContainerImage.from_registry(COLLECTOR), **options)


def test_the_application_s_own_variables_win_and_http_uses_port_4318() -> None:
    stack = stack_for_errors()
    task = HardenedTaskDefinition(
        stack,
        "Task",
        image=_image(stack),
        environment={"OTEL_TRACES_EXPORTER": "console"},
        telemetry=_collector(protocol="http/protobuf"),
    )
    # The container definitions as CloudFormation gets them, without synthesizing the app.
    definition = task.task_definition.node.default_child
    assert isinstance(definition, ecs.CfnTaskDefinition)
    app = stack.resolve(definition.container_definitions)[0]
    environment = {v["name"]: v["value"] for v in app["environment"]}
    assert environment["OTEL_TRACES_EXPORTER"] == "console"
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert environment["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert app["logConfiguration"]["logDriver"] == "awslogs"  # no router: awslogs as before


def test_a_root_log_router_is_allowed_but_warned_about() -> None:
    stack = stack_for_errors()
    task = HardenedTaskDefinition(
        stack, "Task", image=_image(stack), log_router=_router(cloudwatch_logs=True, user="0")
    )
    warnings = [str(entry.data) for entry in task.node.metadata if entry.type == "aws:cdk:warning"]
    assert any("Container 'log-router' runs as root" in w for w in warnings), warnings


# --- Refused ---------------------------------------------------------------------------------


def _refused(message: str, **options: Any) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        HardenedTaskDefinition(stack, "Task", image=_image(stack), **options)
    assert message in str(raised.value)
    assert stack.node.try_find_child("Task") is None


def test_a_log_router_without_a_destination_is_refused() -> None:
    _refused("log_router: routes to no destination", log_router=_router())


def test_a_log_router_with_two_destinations_is_refused() -> None:
    stack = stack_for_errors()
    stream = firehose.DeliveryStream.from_delivery_stream_name(stack, "Stream", "logs")
    with pytest.raises(ValidationError) as raised:
        HardenedTaskDefinition(
            stack,
            "Task",
            image=_image(stack),
            log_router=_router(cloudwatch_logs=True, firehose_delivery_stream=stream),
        )
    assert (
        "log_router: routes to 2 destinations (cloudwatch_logs, firehose_delivery_stream)"
        in str(raised.value)
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {
                "log_router": LogRouter(
                    image=ecs.ContainerImage.from_registry(
                        "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
                    ),
                    cloudwatch_logs=True,
                )
            },
            "log_router.image: a registry tag can be re-pointed at another image",
        ),
        (
            {
                "telemetry": OpenTelemetryCollector(
                    image=ecs.ContainerImage.from_registry(
                        "public.ecr.aws/aws-observability/aws-otel-collector:latest"
                    )
                )
            },
            "telemetry.image: ':latest' moves",
        ),
        (
            {"log_router": _router(cloudwatch_logs=True, memory_limit_mib=32)},
            "log_router.memory_limit_mib: must be at least 50 MiB",
        ),
        (
            {"telemetry": _collector(namespace="AWS/ECS")},
            "telemetry.namespace: must be 1-255 letters, digits, spaces or . - _ / # :",
        ),
        (
            {"telemetry": _collector(protocol="http")},
            "telemetry.protocol: is not an OTLP transport the collector receives; got 'http'",
        ),
        (
            {
                "log_router": _router(cloudwatch_logs=True),
                "sidecars": [
                    SidecarOptions(
                        name="log-router", image=ecs.ContainerImage.from_registry(FLUENT_BIT)
                    )
                ],
            },
            "sidecars: container names must be unique in the task (repeated: log-router)",
        ),
        (
            {
                "memory_mib": 512,
                "log_router": _router(cloudwatch_logs=True, memory_limit_mib=256),
                "telemetry": _collector(memory_limit_mib=256),
            },
            "their hard memory limits (512 MiB) leave the application 0 of the task's 512 MiB",
        ),
        (
            {"log_router": "aws-for-fluent-bit"},
            "log_router: expected a LogRouter; got str 'aws-for-fluent-bit'",
        ),
    ],
    ids=[
        "router tag",
        "collector latest",
        "router memory",
        "namespace",
        "protocol",
        "name taken",
        "no memory left",
        "type",
    ],
)
def test_bad_observability_options_are_refused(options: dict[str, Any], message: str) -> None:
    _refused(message, **options)


def test_an_immutable_task_role_cannot_take_the_router_s_grant() -> None:
    stack = stack_for_errors()
    role = iam.Role.from_role_arn(
        stack, "Given", "arn:aws:iam::111122223333:role/app", mutable=False
    )
    with pytest.raises(ValidationError) as raised:
        HardenedTaskDefinition(
            stack,
            "Task",
            image=_image(stack),
            task_role=role,
            log_router=_router(cloudwatch_logs=True),
        )
    assert "task_role: is immutable" in str(raised.value)
    assert "the log router's or collector's write permissions" in str(raised.value)
