"""Scenarios for the observability sidecars: a FireLens log router to each destination the
library allows, and an OpenTelemetry collector for the application's metrics."""

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kinesisfirehose as firehose

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
