"""Scenarios for WorkerService: one per kind of source (SNS topic, EventBridge rule, a queue
the app defines itself), publishing with ``publish``, and the worker's monitoring."""

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from ecs_patterns_plus import (
    BackendService,
    BacklogScaling,
    HardenedCluster,
    HardenedTaskDefinition,
    QueueOptions,
    QueueSource,
    ScalingOptions,
    ServiceMonitoring,
    WorkerService,
    compliance,
    publish,
)
from ecs_patterns_plus.encryption import stack_key

from . import scenario
from .common import existing_vpc


def worker_task(stack: cdk.Stack, construct_id: str, **options: object) -> HardenedTaskDefinition:
    repository = ecr.Repository.from_repository_name(
        stack, f"{construct_id}Repository", construct_id.lower()
    )
    return HardenedTaskDefinition(
        stack,
        construct_id,
        image=ecs.ContainerImage.from_ecr_repository(repository, "1.4.0"),
        **options,  # type: ignore[arg-type]
    )


@scenario("WorkerTopicSource")
def worker_topic_source(stack: cdk.Stack) -> None:
    """A backend publishes order events to a topic; a worker subscribed with a filter policy
    sends the order emails and scales on its backlog, with its monitoring."""
    cluster = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack)).cluster
    orders = BackendService(
        stack,
        "Orders",
        cluster=cluster,
        task_definition=worker_task(stack, "OrdersTask", container_port=8080, port_name="orders"),
    )
    events_topic = publish(
        stack, "OrderEvents", publishers=[orders], variable="ORDER_EVENTS_TOPIC_ARN"
    )
    emails = WorkerService(
        stack,
        "OrderEmails",
        cluster=cluster,
        task_definition=worker_task(stack, "OrderEmailsTask"),
        sources=[
            QueueSource(
                topic=events_topic,
                filter_policy={
                    "type": sns.SubscriptionFilter.string_filter(allowlist=["order.placed"])
                },
            )
        ],
        scaling=ScalingOptions(
            cpu_target_percent=70,
            max_capacity=20,
            backlog=BacklogScaling(
                acceptable_latency=cdk.Duration.minutes(2), processing_time=cdk.Duration.seconds(4)
            ),
        ),
    )
    ServiceMonitoring.for_service(stack, "OrderEmailsMonitoring", service=emails)


@scenario("WorkerEventSource")
def worker_event_source(stack: cdk.Stack) -> None:
    """EventBridge events (S3 object uploads) feed a worker on Fargate Spot that scales to
    zero when its queue is empty."""
    cluster = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack)).cluster
    uploads = events.Rule(
        stack,
        "Uploads",
        description="Images uploaded to the uploads bucket",
        event_pattern=events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={"bucket": {"name": ["uploads-111122223333"]}},
        ),
    )
    WorkerService(
        stack,
        "Thumbnails",
        cluster=cluster,
        task_definition=worker_task(
            stack,
            "ThumbnailsTask",
            cpu=1024,
            memory_mib=2048,
            stop_timeout=cdk.Duration.seconds(110),
        ),
        queue=QueueOptions(
            max_receive_count=3,
            retention=cdk.Duration.days(1),
            visibility_timeout=cdk.Duration.minutes(5),
            url_variable="UPLOADS_QUEUE_URL",
        ),
        sources=[QueueSource(rule=uploads)],
        capacity_provider_strategy=[
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)
        ],
        desired_count=0,
        scaling=ScalingOptions(
            cpu_target_percent=None,
            max_capacity=5,
            backlog=BacklogScaling(messages_per_task=20, scale_to_zero=True),
        ),
    )


@scenario("WorkerOwnQueue")
def worker_own_queue(stack: cdk.Stack) -> None:
    """A worker drains a queue the app defines itself (encrypted, with its own dead-letter
    queue); a fixed task count, no scaling."""
    cluster = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack)).cluster
    dead_letters = sqs.Queue(
        stack,
        "WebhooksDeadLetterQueue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=stack_key(stack),
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    compliance.DEAD_LETTER_QUEUE.apply(dead_letters)  # the app's own acknowledgement
    webhooks = sqs.Queue(
        stack,
        "Webhooks",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=stack_key(stack),
        enforce_ssl=True,
        visibility_timeout=cdk.Duration.minutes(2),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=4),
    )
    WorkerService(
        stack,
        "WebhookSender",
        cluster=cluster,
        task_definition=worker_task(stack, "WebhookSenderTask"),
        queue=QueueOptions(queue=webhooks),
        scaling=None,
    )
