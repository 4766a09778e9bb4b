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
from aws_cdk import aws_s3 as s3

from ecs_patterns_plus import (
    HardenedTaskDefinition,
    LogRouter,
    OpenTelemetryCollector,
    SidecarOptions,
    ValidationError,
)
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

CLOUDWATCH = "LogRouterCloudWatch"
FIREHOSE = "LogRouterFirehose"
S3 = "LogRouterS3"
TELEMETRY = "TelemetryCollector"
TRACES = "TelemetryTraces"
XRAY_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]
DIGEST = "sha256:" + "0123456789abcdef" * 4
FLUENT_BIT = f"public.ecr.aws/aws-observability/aws-for-fluent-bit@{DIGEST}"
COLLECTOR = f"public.ecr.aws/aws-observability/aws-otel-collector@{DIGEST}"


def _containers(synth: Synthesized, stack: str, task: str = "Task") -> dict[str, dict[str, Any]]:
    definitions = resources_of(synth, stack, "AWS::ECS::TaskDefinition")
    definition = definitions[logical_id(synth, stack, f"{task}/TaskDefinition")]
    return {c["Name"]: c for c in definition["Properties"]["ContainerDefinitions"]}


def _log_group(synth: Synthesized, stack: str) -> str:
    (log_group,) = resources_of(synth, stack, "AWS::Logs::LogGroup")
    return log_group


def _task_role_statements(
    synth: Synthesized, stack: str, task: str = "Task"
) -> list[dict[str, Any]]:
    """Every statement any policy gives the task role of ``task`` (inline and managed)."""
    role = logical_id(synth, stack, f"{task}/TaskRole")
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


@pytest.mark.scenarios(S3)
def test_s3_router_puts_gzip_objects_under_the_prefix_in_the_bucket_s_region(
    scenarios: Synthesized,
) -> None:
    assert _containers(scenarios, S3)["app"]["LogConfiguration"] == {
        "LogDriver": "awsfirelens",
        "Options": {
            "Name": "s3",
            "region": "ap-northeast-2",
            "bucket": "orders-logs",
            "s3_key_format": "/jobs/orders-report/%Y/%m/%d/$TAG/%H%M%S-$UUID.gz",
            "store_dir": "/var/fluent-bit/s3",
            "total_file_size": "10M",
            "upload_timeout": "1m",
            "use_put_object": "On",
            "compression": "gzip",
            "store_dir_limit_size": "1G",
            "retry_limit": "5",
        },
    }


@pytest.mark.scenarios(S3)
def test_s3_router_buffers_in_a_writable_path_of_its_own_on_a_read_only_root(
    scenarios: Synthesized,
) -> None:
    containers = _containers(scenarios, S3)
    router = containers["log-router"]
    assert router["ReadonlyRootFilesystem"] is True
    assert router["User"] == "1000:1000"
    mounts = {m["ContainerPath"]: m for m in router["MountPoints"]}
    assert list(mounts) == ["/tmp", "/var/fluent-bit/s3"]
    store_dir = containers["app"]["LogConfiguration"]["Options"]["store_dir"]
    assert mounts[store_dir]["ReadOnly"] is False
    # Its own task volume, not shared with the application.
    assert store_dir not in [m["ContainerPath"] for m in containers["app"]["MountPoints"]]


@pytest.mark.scenarios(S3)
def test_s3_grant_is_put_object_under_the_task_role_s_tagged_bucket_and_prefix_only(
    scenarios: Synthesized,
) -> None:
    statements = {s["Action"]: s for s in _task_role_statements(scenarios, S3)}
    assert list(statements) == ["kms:GenerateDataKey", "s3:PutObject"]  # nothing else
    assert statements["s3:PutObject"] == {
        "Action": "s3:PutObject",
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":s3:::${aws:PrincipalTag/EcsPatternsPlusLogBucket}"
                    "/${aws:PrincipalTag/EcsPatternsPlusLogPrefix}/*",
                ],
            ]
        },
    }
    role = resources_of(scenarios, S3, "AWS::IAM::Role")[logical_id(scenarios, S3, "Task/TaskRole")]
    assert role["Properties"]["Tags"] == [
        {"Key": "EcsPatternsPlusLogBucket", "Value": "orders-logs"},
        {"Key": "EcsPatternsPlusLogPrefix", "Value": "jobs/orders-report"},
    ]
    # The bucket's key, only through S3.
    assert statements["kms:GenerateDataKey"] == {
        "Action": "kms:GenerateDataKey",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.ap-northeast-2.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": "arn:aws:kms:ap-northeast-2:111122223333:key/"
        "1234abcd-12ab-34cd-56ef-1234567890ab",
    }


@pytest.mark.scenarios(S3)
def test_s3_statement_lives_in_the_stack_s_one_acknowledged_policy(
    scenarios: Synthesized,
) -> None:
    policy = logical_id(scenarios, S3, "EcsPatternsPlus/LogRouterS3Policy")
    (statement,) = resources_of(scenarios, S3, "AWS::IAM::ManagedPolicy")[policy]["Properties"][
        "PolicyDocument"
    ]["Statement"]
    assert statement["Action"] == "s3:PutObject"
    acknowledged = [
        rule
        for path, data in scenarios.metadata_entries(S3, "aws:cdk:acknowledged-rules")
        if path.endswith("/EcsPatternsPlus/LogRouterS3Policy")
        for rule in data
    ]
    assert acknowledged == [
        "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
        "<aws:PrincipalTag/EcsPatternsPlusLogBucket>/<aws:PrincipalTag/EcsPatternsPlusLogPrefix>/*]"
    ]


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


@pytest.mark.scenarios(TRACES)
def test_traced_collector_sends_otlp_spans_to_x_ray_and_the_application_exports_them(
    scenarios: Synthesized,
) -> None:
    containers = _containers(scenarios, TRACES, "Api")
    environment = {v["Name"]: v["Value"] for v in containers["app"]["Environment"]}
    assert environment["OTEL_TRACES_EXPORTER"] == "otlp"
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4317"
    assert "AWS_XRAY_DAEMON_ADDRESS" not in environment  # no daemon: OTLP only
    (variable,) = containers["otel-collector"]["Environment"]
    text = "".join(
        p if isinstance(p, str) else "<LogGroup>" for p in variable["Value"]["Fn::Join"][1]
    )
    configuration = json.loads(text)
    assert configuration["service"]["pipelines"]["traces"] == {
        "receivers": ["otlp"],
        "processors": ["memory_limiter", "resourcedetection", "batch/traces"],
        "exporters": ["awsxray"],
    }
    assert configuration["exporters"]["awsxray"] == {"region": "ap-northeast-2"}
    assert configuration["processors"]["batch/traces"] == {"timeout": "1s", "send_batch_size": 50}
    assert list(configuration["service"]["pipelines"]) == ["metrics", "traces"]


@pytest.mark.scenarios(TRACES)
def test_x_ray_policy_is_shared_once_per_stack_and_attached_to_every_traced_task_role(
    scenarios: Synthesized,
) -> None:
    managed = resources_of(scenarios, TRACES, "AWS::IAM::ManagedPolicy")
    xray = [
        key
        for key, policy in managed.items()
        if "xray:PutTraceSegments" in json.dumps(policy["Properties"]["PolicyDocument"])
    ]
    assert xray == [logical_id(scenarios, TRACES, "EcsPatternsPlus/XRayPolicy")]
    properties = managed[xray[0]]["Properties"]
    assert properties["PolicyDocument"]["Statement"] == [
        {"Action": XRAY_ACTIONS, "Effect": "Allow", "Resource": "*"}
    ]
    assert properties["Roles"] == [
        {"Ref": logical_id(scenarios, TRACES, f"{task}/TaskRole")} for task in ("Api", "Worker")
    ]
    for task in ("Api", "Worker"):  # nothing else on Resource: *, nothing in the DefaultPolicy
        statements = _task_role_statements(scenarios, TRACES, task)
        assert [s["Resource"] for s in statements if s["Resource"] == "*"] == ["*"]
    acknowledged = [
        rule
        for path, data in scenarios.metadata_entries(TRACES, "aws:cdk:acknowledged-rules")
        if path.endswith("/EcsPatternsPlus/XRayPolicy")
        for rule in data
    ]
    assert acknowledged == ["Annotation::AwsSolutions-IAM5[Resource::*]"]


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


_BUCKET = s3.Bucket.from_bucket_name(stack_for_errors(), "Logs", "orders-logs")
"""A bucket for bad-input cases (from another app: they never get as far as using it)."""


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


def _resolved_roles(stack: cdk.Stack, policy_path: str) -> list[Any]:
    policy = stack.node.find_child("EcsPatternsPlus").node.find_child(policy_path)
    resource = policy.node.default_child
    assert isinstance(resource, iam.CfnManagedPolicy)
    return stack.resolve(resource.roles)  # type: ignore[no-any-return]


def test_a_given_task_role_gets_the_shared_x_ray_policy_like_ecs_exec() -> None:
    stack = stack_for_errors()
    own = iam.Role(stack, "Own", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    imported = iam.Role.from_role_arn(stack, "Imported", "arn:aws:iam::111122223333:role/app")
    tasks = [
        HardenedTaskDefinition(
            stack, name, image=_image(stack), task_role=role, telemetry=_collector(traces=True)
        )
        for name, role in (("Task", own), ("Other", imported))
    ]
    own_role = own.node.default_child
    assert isinstance(own_role, iam.CfnRole)
    # The role of this app by reference, the imported one by name.
    assert _resolved_roles(stack, "XRayPolicy") == [{"Ref": stack.get_logical_id(own_role)}, "app"]
    for task in tasks:  # and no X-Ray statement in the policy the library gives either role
        policy = task.task_role.node.find_child("DefaultPolicy")
        assert isinstance(policy, iam.Policy)
        assert "xray:" not in json.dumps(stack.resolve(policy.document.to_json()))
        assert "logs:PutLogEvents" in json.dumps(stack.resolve(policy.document.to_json()))


def test_a_given_task_role_gets_the_s3_grant_by_name_and_a_warning() -> None:
    stack = stack_for_errors()
    role = iam.Role(stack, "Own", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    bucket = s3.Bucket.from_bucket_name(stack, "Logs", "orders-logs")
    task = HardenedTaskDefinition(
        stack,
        "Task",
        image=_image(stack),
        task_role=role,
        log_router=_router(s3_bucket=bucket, s3_prefix="logs/orders/"),
    )
    policy = task.task_role.node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    statement = {
        "Action": "s3:PutObject",
        "Effect": "Allow",
        "Resource": "arn:aws:s3:::orders-logs/logs/orders/*",  # trailing "/" of the prefix once
    }
    assert statement in stack.resolve(policy.document.to_json())["Statement"]
    assert stack.node.find_child("EcsPatternsPlus").node.try_find_child("LogRouterS3Policy") is None
    warnings = [str(e.data) for e in task.task_role.node.metadata if e.type == "aws:cdk:warning"]
    assert any("s3:PutObject on the log bucket's prefix by name" in w for w in warnings), warnings


def test_a_token_prefix_is_accepted_and_one_s3_policy_serves_every_task_role() -> None:
    stack = stack_for_errors()
    prefix = cdk.CfnParameter(stack, "Prefix").value_as_string
    bucket = s3.Bucket.from_bucket_name(stack, "Logs", "orders-logs")
    tasks = [
        HardenedTaskDefinition(
            stack,
            name,
            image=_image(stack),
            log_router=_router(s3_bucket=bucket, s3_prefix=value),
        )
        for name, value in (("Task", prefix), ("Other", "logs/other"))
    ]
    definition = tasks[0].task_definition.node.default_child
    assert isinstance(definition, ecs.CfnTaskDefinition)
    options = stack.resolve(definition.container_definitions)[0]["logConfiguration"]["options"]
    assert options["s3_key_format"] == {
        "Fn::Join": ["", ["/", {"Ref": "Prefix"}, "/%Y/%m/%d/$TAG/%H%M%S-$UUID.gz"]]
    }
    roles = [task.task_role.node.default_child for task in tasks]
    assert _resolved_roles(stack, "LogRouterS3Policy") == [
        {"Ref": stack.get_logical_id(role)}  # type: ignore[arg-type]
        for role in roles
    ]


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


def test_a_log_router_to_s3_and_another_destination_is_refused() -> None:
    stack = stack_for_errors()
    stream = firehose.DeliveryStream.from_delivery_stream_name(stack, "Stream", "logs")
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", "logs")
    with pytest.raises(ValidationError) as raised:
        HardenedTaskDefinition(
            stack,
            "Task",
            image=_image(stack),
            log_router=_router(
                cloudwatch_logs=True,
                firehose_delivery_stream=stream,
                s3_bucket=bucket,
                s3_prefix="logs",
            ),
        )
    assert (
        "log_router: routes to 3 destinations (cloudwatch_logs, firehose_delivery_stream, "
        "s3_bucket); a router sends the application's lines to exactly one" in str(raised.value)
    )
    assert stack.node.try_find_child("Task") is None


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
        (
            {"log_router": _router(s3_bucket=_BUCKET, s3_prefix="")},
            "log_router.s3_prefix: is required with s3_bucket, and not empty or '/' (the whole "
            "bucket); got ''",
        ),
        (
            {"log_router": _router(s3_bucket=_BUCKET, s3_prefix="/")},
            "log_router.s3_prefix: is required with s3_bucket, and not empty or '/' (the whole "
            "bucket); got '/'",
        ),
        (
            {"log_router": _router(s3_bucket=_BUCKET)},
            "log_router.s3_prefix: is required with s3_bucket, and not empty or '/' (the whole "
            "bucket); got None",
        ),
        (
            {"log_router": _router(s3_bucket=_BUCKET, s3_prefix="logs/*")},
            "log_router.s3_prefix: must not hold a wildcard (* or ?): the grant would reach "
            "beyond one prefix; got 'logs/*'",
        ),
        (
            {"log_router": _router(s3_bucket=_BUCKET, s3_prefix="/logs//%Y")},
            "log_router.s3_prefix: must be key path segments of letters, digits",
        ),
        (
            {"log_router": _router(cloudwatch_logs=True, s3_prefix="logs")},
            "log_router.s3_prefix: names the key prefix of the S3 destination, which is not "
            "chosen; got 'logs'",
        ),
        (
            {"log_router": _router(s3_bucket="orders-logs", s3_prefix="logs")},
            "log_router.s3_bucket: expected",
        ),
        (
            {"telemetry": _collector(traces="yes")},
            "telemetry.traces: expected a bool",
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
        "empty prefix",
        "slash prefix",
        "no prefix",
        "wildcard prefix",
        "malformed prefix",
        "prefix without bucket",
        "bucket name",
        "traces type",
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
