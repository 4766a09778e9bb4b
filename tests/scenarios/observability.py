"""Scenarios for the observability sidecars: a FireLens log router to each destination the
library allows, and an OpenTelemetry collector for the application's metrics and traces."""

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from ecs_patterns_plus import HardenedTaskDefinition, LogRouter, OpenTelemetryCollector

from . import scenario
from .task_definition import DIGEST, OTEL_COLLECTOR, ecr_image

FLUENT_BIT = f"public.ecr.aws/aws-observability/aws-for-fluent-bit@{DIGEST}"


@scenario("LogRouterCloudWatch")
def log_router_cloudwatch(stack: cdk.Stack) -> None:
    """A web application whose output a Fluent Bit log router sends to the task's own log
    group."""
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        container_port=8080,
        log_router=LogRouter(
            image=ecs.ContainerImage.from_registry(FLUENT_BIT), cloudwatch_logs=True
        ),
    )


@scenario("LogRouterFirehose")
def log_router_firehose(stack: cdk.Stack) -> None:
    """A job whose output goes to an existing Firehose delivery stream (imported by name)."""
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        log_router=LogRouter(
            image=ecs.ContainerImage.from_registry(FLUENT_BIT),
            firehose_delivery_stream=firehose.DeliveryStream.from_delivery_stream_name(
                stack, "Stream", "orders-logs"
            ),
        ),
    )


@scenario("TelemetryCollector")
def telemetry_collector(stack: cdk.Stack) -> None:
    """A web application exporting OTLP metrics to a collector, in its own namespace, with
    its output through the log router to the task's log group."""
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        container_port=8080,
        memory_mib=1024,
        environment={"OTEL_SERVICE_NAME": "orders"},
        log_router=LogRouter(
            image=ecs.ContainerImage.from_registry(FLUENT_BIT), cloudwatch_logs=True
        ),
        telemetry=OpenTelemetryCollector(
            image=ecs.ContainerImage.from_registry(OTEL_COLLECTOR), namespace="MyCompany/Orders"
        ),
    )


@scenario("LogRouterS3")
def log_router_s3(stack: cdk.Stack) -> None:
    """A job whose output goes as gzip objects to an existing, KMS-encrypted bucket (imported
    with its key) under its own prefix."""
    key = kms.Key.from_key_arn(
        stack,
        "LogsKey",
        "arn:aws:kms:ap-northeast-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecr_image(stack),
        log_router=LogRouter(
            image=ecs.ContainerImage.from_registry(FLUENT_BIT),
            s3_bucket=s3.Bucket.from_bucket_attributes(
                stack, "Logs", bucket_name="orders-logs", encryption_key=key
            ),
            s3_prefix="jobs/orders-report",
        ),
    )


@scenario("TelemetryTraces")
def telemetry_traces(stack: cdk.Stack) -> None:
    """Two applications exporting OTLP metrics and traces to their collectors, which send the
    traces to X-Ray through the stack's one X-Ray policy."""
    for name in ("Api", "Worker"):
        HardenedTaskDefinition(
            stack,
            name,
            image=ecr_image(stack),
            memory_mib=1024,
            environment={"OTEL_SERVICE_NAME": name.lower()},
            telemetry=OpenTelemetryCollector(
                image=ecs.ContainerImage.from_registry(OTEL_COLLECTOR), traces=True
            ),
        )
