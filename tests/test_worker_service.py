"""WorkerService, its queue, sources, scaling and monitoring, and ``publish``: what each
guarantee looks like in the template."""

from __future__ import annotations

from typing import Any

import pytest

from tests.synth import Synthesized
from tests.util import logical_id, resources_of

TOPIC = "WorkerTopicSource"
EVENTS = "WorkerEventSource"
OWN = "WorkerOwnQueue"


def _resource(synth: Synthesized, stack: str, path: str) -> dict[str, Any]:
    """The properties of the resource at ``<stack>/<path>/Resource``."""
    template = synth.template_json(stack)["Resources"]
    return template[logical_id(synth, stack, path)]["Properties"]  # type: ignore[no-any-return]


def _by_path(synth: Synthesized, stack: str, path: str) -> dict[str, Any]:
    """The properties of the resource whose construct path is exactly ``<stack>/<path>``."""
    (found,) = [
        resource["Properties"]
        for resource in synth.template_json(stack)["Resources"].values()
        if resource.get("Metadata", {}).get("aws:cdk:path") == f"{stack}/{path}"
    ]
    return found  # type: ignore[no-any-return]


def _ref(synth: Synthesized, stack: str, path: str) -> dict[str, str]:
    return {"Ref": logical_id(synth, stack, path)}


def _arn(synth: Synthesized, stack: str, path: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id(synth, stack, path), "Arn"]}


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return policy["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def _queue_policy(synth: Synthesized, stack: str, queue: str) -> list[dict[str, Any]]:
    (policy,) = [
        p["Properties"]
        for p in resources_of(synth, stack, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [_ref(synth, stack, queue)]
    ]
    return _statements(policy)


def _allows(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if s["Effect"] == "Allow"]


@pytest.mark.scenarios(TOPIC)
def test_the_queue_is_encrypted_tls_only_and_dead_letters_after_five_receives(
    scenarios: Synthesized,
) -> None:
    queue = _resource(scenarios, TOPIC, "OrderEmails/Queue")
    key = _arn(scenarios, TOPIC, "EcsPatternsPlus/Key")
    assert queue["KmsMasterKeyId"] == key
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": _arn(scenarios, TOPIC, "OrderEmails/DeadLetterQueue"),
        "maxReceiveCount": 5,
    }
    assert queue["MessageRetentionPeriod"] == 4 * 24 * 3600
    dead = _resource(scenarios, TOPIC, "OrderEmails/DeadLetterQueue")
    assert dead["KmsMasterKeyId"] == key
    assert dead["MessageRetentionPeriod"] == 14 * 24 * 3600
    for path in ("OrderEmails/Queue", "OrderEmails/DeadLetterQueue"):
        (deny,) = [s for s in _queue_policy(scenarios, TOPIC, path) if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Action"] == "sqs:*"


@pytest.mark.scenarios(TOPIC, EVENTS)
def test_the_visibility_timeout_outlasts_the_stop_timeout(scenarios: Synthesized) -> None:
    # Default: twice the task's 30 s stop timeout; given: as given (5 minutes, stop 110 s).
    assert _resource(scenarios, TOPIC, "OrderEmails/Queue")["VisibilityTimeout"] == 60
    events_queue = _resource(scenarios, EVENTS, "Thumbnails/Queue")
    assert events_queue["VisibilityTimeout"] == 300
    (container,) = _resource_of_task(scenarios, EVENTS, "ThumbnailsTask")["ContainerDefinitions"]
    assert container["StopTimeout"] == 110


def _resource_of_task(synth: Synthesized, stack: str, task: str) -> dict[str, Any]:
    return _resource(synth, stack, f"{task}/TaskDefinition")


@pytest.mark.scenarios(TOPIC, EVENTS)
def test_the_queue_url_reaches_the_container_as_plain_configuration(
    scenarios: Synthesized,
) -> None:
    (container,) = _resource_of_task(scenarios, TOPIC, "OrderEmailsTask")["ContainerDefinitions"]
    assert {"Name": "QUEUE_URL", "Value": _ref(scenarios, TOPIC, "OrderEmails/Queue")} in container[
        "Environment"
    ]
    assert "Secrets" not in container
    (container,) = _resource_of_task(scenarios, EVENTS, "ThumbnailsTask")["ContainerDefinitions"]
    assert container["Environment"] == [
        {"Name": "UPLOADS_QUEUE_URL", "Value": _ref(scenarios, EVENTS, "Thumbnails/Queue")}
    ]


@pytest.mark.scenarios(TOPIC)
def test_the_task_role_may_only_consume_its_own_queue(scenarios: Synthesized) -> None:
    statements = _statements(
        _by_path(scenarios, TOPIC, "OrderEmailsTask/TaskRole/DefaultPolicy/Resource")
    )
    assert statements == [
        {
            "Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"],
            "Effect": "Allow",
            "Resource": _arn(scenarios, TOPIC, "OrderEmails/Queue"),
        },
        {
            "Action": "kms:Decrypt",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": {
                        "Fn::Join": ["", ["sqs.ap-northeast-2.", {"Ref": "AWS::URLSuffix"}]]
                    }
                }
            },
            "Effect": "Allow",
            "Resource": _arn(scenarios, TOPIC, "EcsPatternsPlus/Key"),
        },
    ]


@pytest.mark.scenarios(TOPIC)
def test_a_worker_admits_nobody_and_rolls_back_when_messages_dead_letter(
    scenarios: Synthesized,
) -> None:
    group = _resource(scenarios, TOPIC, "OrderEmails/SecurityGroup")
    assert "SecurityGroupIngress" not in group
    service = _by_path(scenarios, TOPIC, "OrderEmails/Service/Service")
    assert service.get("LoadBalancers", []) == []
    assert service.get("DeploymentController", {"Type": "ECS"}) == {"Type": "ECS"}
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    alarm = logical_id(scenarios, TOPIC, "OrderEmails/DeadLetters")
    assert service["DeploymentConfiguration"]["Alarms"]["AlarmNames"] == [{"Ref": alarm}]
    rollback = scenarios.template_json(TOPIC)["Resources"][alarm]["Properties"]
    (expression,) = [m for m in rollback["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "DIFF(FILL(dead, REPEAT))"
    (dead,) = [m for m in rollback["Metrics"] if m["Id"] == "dead"]
    assert dead["MetricStat"]["Metric"]["Dimensions"] == [
        {
            "Name": "QueueName",
            "Value": {
                "Fn::GetAtt": [
                    logical_id(scenarios, TOPIC, "OrderEmails/DeadLetterQueue"),
                    "QueueName",
                ]
            },
        }
    ]


def _policies(synth: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["PolicyName"]: resource["Properties"]
        for resource in resources_of(
            synth, stack, "AWS::ApplicationAutoScaling::ScalingPolicy"
        ).values()
    }


@pytest.mark.scenarios(TOPIC)
def test_backlog_per_task_is_tracked_by_metric_math_next_to_cpu(scenarios: Synthesized) -> None:
    policies = _policies(scenarios, TOPIC)
    (backlog,) = [p for name, p in policies.items() if "OrderEmails" in name and "Backlog" in name]
    tracking = backlog["TargetTrackingScalingPolicyConfiguration"]
    # 2 minutes of acceptable latency at 4 seconds a message: 30 messages per task.
    assert tracking["TargetValue"] == 30
    metrics = {m["Id"]: m for m in tracking["CustomizedMetricSpecification"]["Metrics"]}
    assert metrics["backlog"]["ReturnData"] is True
    assert metrics["backlog"]["Expression"] == (
        "IF(FILL(tasks, 0) > 0, FILL(visible, 0) / tasks, FILL(visible, 0))"
    )
    visible = metrics["visible"]["MetricStat"]["Metric"]
    assert (visible["Namespace"], visible["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    tasks = metrics["tasks"]["MetricStat"]["Metric"]
    assert (tasks["Namespace"], tasks["MetricName"]) == (
        "ECS/ContainerInsights",
        "DesiredTaskCount",
    )
    # CPU tracking alongside: Application Auto Scaling scales out when either policy asks
    # and in only when both allow it, so the two never fight.
    (cpu,) = [p for name, p in policies.items() if "OrderEmails" in name and "Cpu" in name]
    assert cpu["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70
    (target,) = [
        r["Properties"]
        for r in resources_of(
            scenarios, TOPIC, "AWS::ApplicationAutoScaling::ScalableTarget"
        ).values()
        if "OrderEmails" in r["Metadata"]["aws:cdk:path"]
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 20)


@pytest.mark.scenarios(EVENTS)
def test_a_worker_scaled_to_zero_wakes_up_when_a_message_arrives(scenarios: Synthesized) -> None:
    (target,) = resources_of(
        scenarios, EVENTS, "AWS::ApplicationAutoScaling::ScalableTarget"
    ).values()
    assert target["Properties"]["MinCapacity"] == 0
    service = _by_path(scenarios, EVENTS, "Thumbnails/Service/Service")
    assert "DesiredCount" not in service
    (wake,) = [p for name, p in _policies(scenarios, EVENTS).items() if "WakeUp" in name]
    assert wake["StepScalingPolicyConfiguration"]["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}
    ]
    (alarm,) = [
        a["Properties"]
        for a in resources_of(scenarios, EVENTS, "AWS::CloudWatch::Alarm").values()
        if "WakeUp" in a["Metadata"]["aws:cdk:path"]
    ]
    assert alarm["Threshold"] == 1
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    assert expression == "IF(FILL(tasks, 0) < 1, FILL(visible, 0), 0)"


@pytest.mark.scenarios(TOPIC)
def test_a_topic_source_delivers_raw_filtered_messages_and_only_it_may_send(
    scenarios: Synthesized,
) -> None:
    (subscription,) = resources_of(scenarios, TOPIC, "AWS::SNS::Subscription").values()
    topic = _ref(scenarios, TOPIC, "OrderEvents")
    assert subscription["Properties"] == {
        "Endpoint": _arn(scenarios, TOPIC, "OrderEmails/Queue"),
        "FilterPolicy": {"type": ["order.placed"]},
        "Protocol": "sqs",
        "RawMessageDelivery": True,
        "RedrivePolicy": {
            "deadLetterTargetArn": _arn(scenarios, TOPIC, "OrderEmails/DeadLetterQueue")
        },
        "TopicArn": topic,
    }
    (allow,) = _allows(_queue_policy(scenarios, TOPIC, "OrderEmails/Queue"))
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}


@pytest.mark.scenarios(EVENTS)
def test_an_eventbridge_source_is_the_only_rule_that_may_send(scenarios: Synthesized) -> None:
    rule = _arn(scenarios, EVENTS, "Uploads")
    for queue in ("Thumbnails/Queue", "Thumbnails/DeadLetterQueue"):
        (allow,) = _allows(_queue_policy(scenarios, EVENTS, queue))
        assert allow["Principal"] == {"Service": "events.amazonaws.com"}
        assert allow["Action"] == "sqs:SendMessage"
        assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": rule}}
    (target,) = _resource(scenarios, EVENTS, "Uploads")["Targets"]
    assert target["Arn"] == _arn(scenarios, EVENTS, "Thumbnails/Queue")
    assert target["DeadLetterConfig"] == {
        "Arn": _arn(scenarios, EVENTS, "Thumbnails/DeadLetterQueue")
    }


@pytest.mark.scenarios(TOPIC)
def test_sns_may_use_the_key_only_for_this_accounts_topics(scenarios: Synthesized) -> None:
    key = _resource(scenarios, TOPIC, "EcsPatternsPlus/Key")
    (statement,) = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "sns.amazonaws.com"}
    ]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


@pytest.mark.scenarios(TOPIC)
def test_publish_makes_an_encrypted_topic_only_the_publishers_may_use(
    scenarios: Synthesized,
) -> None:
    topic = _resource(scenarios, TOPIC, "OrderEvents")
    assert topic["KmsMasterKeyId"] == _arn(scenarios, TOPIC, "EcsPatternsPlus/Key")
    (policy,) = [
        p["Properties"]
        for p in resources_of(scenarios, TOPIC, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [_ref(scenarios, TOPIC, "OrderEvents")]
    ]
    (deny,) = _statements(policy)
    assert (deny["Effect"], deny["Condition"]) == (
        "Deny",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    statements = _statements(
        _by_path(scenarios, TOPIC, "OrdersTask/TaskRole/DefaultPolicy/Resource")
    )
    assert statements[0] == {
        "Action": "sns:Publish",
        "Effect": "Allow",
        "Resource": _ref(scenarios, TOPIC, "OrderEvents"),
    }
    assert statements[1]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statements[1]["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Join"][1][0] == (
        "sns.ap-northeast-2."
    )
    (container,) = _resource_of_task(scenarios, TOPIC, "OrdersTask")["ContainerDefinitions"]
    assert {"Name": "ORDER_EVENTS_TOPIC_ARN", "Value": _ref(scenarios, TOPIC, "OrderEvents")} in (
        container["Environment"]
    )


@pytest.mark.scenarios(TOPIC)
def test_monitoring_alarms_on_the_oldest_message_the_backlog_and_dead_letters(
    scenarios: Synthesized,
) -> None:
    alarms = {
        r["Metadata"]["aws:cdk:path"].split("/")[-2]: r["Properties"]
        for r in resources_of(scenarios, TOPIC, "AWS::CloudWatch::Alarm").values()
        if "/OrderEmailsMonitoring/" in r["Metadata"]["aws:cdk:path"]
    }
    oldest = alarms["OldestMessageAge"]
    assert (_metric(oldest)["MetricName"], oldest["Threshold"]) == (
        "ApproximateAgeOfOldestMessage",
        900,
    )
    backlog = alarms["QueueBacklog"]
    assert (_metric(backlog)["MetricName"], backlog["Threshold"]) == (
        "ApproximateNumberOfMessagesVisible",
        1000,
    )
    assert backlog["EvaluationPeriods"] == backlog["DatapointsToAlarm"] == 15
    dead = alarms["DeadLettersWaiting"]
    assert dead["Threshold"] == 1
    assert _metric(dead)["Dimensions"] == [
        {
            "Name": "QueueName",
            "Value": {
                "Fn::GetAtt": [
                    logical_id(scenarios, TOPIC, "OrderEmails/DeadLetterQueue"),
                    "QueueName",
                ]
            },
        }
    ]
    (composite,) = resources_of(scenarios, TOPIC, "AWS::CloudWatch::CompositeAlarm").values()
    oldest_id = logical_id(scenarios, TOPIC, "OrderEmailsMonitoring/OldestMessageAge")
    assert oldest_id in str(composite["Properties"]["AlarmRule"])
    (dashboard,) = resources_of(scenarios, TOPIC, "AWS::CloudWatch::Dashboard").values()
    body = str(dashboard["Properties"]["DashboardBody"])
    assert "Queue: messages" in body
    assert "Queue: oldest message age (s)" in body


def _metric(alarm: dict[str, Any]) -> dict[str, Any]:
    (query,) = alarm["Metrics"]
    return query["MetricStat"]["Metric"]  # type: ignore[no-any-return]


@pytest.mark.scenarios(OWN)
def test_a_worker_on_an_existing_queue_creates_none_and_uses_its_dead_letters(
    scenarios: Synthesized,
) -> None:
    queues = resources_of(scenarios, OWN, "AWS::SQS::Queue")
    assert {q["Metadata"]["aws:cdk:path"] for q in queues.values()} == {
        f"{OWN}/Webhooks/Resource",
        f"{OWN}/WebhooksDeadLetterQueue/Resource",
    }
    statements = _statements(
        _by_path(scenarios, OWN, "WebhookSenderTask/TaskRole/DefaultPolicy/Resource")
    )
    assert statements[0]["Resource"] == _arn(scenarios, OWN, "Webhooks")
    (alarm,) = resources_of(scenarios, OWN, "AWS::CloudWatch::Alarm").values()
    (dead,) = [m for m in alarm["Properties"]["Metrics"] if m["Id"] == "dead"]
    assert dead["MetricStat"]["Metric"]["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": [logical_id(scenarios, OWN, "WebhooksDeadLetterQueue"), "QueueName"]
    }
    assert not resources_of(scenarios, OWN, "AWS::ApplicationAutoScaling::ScalableTarget")
    service = _by_path(scenarios, OWN, "WebhookSender/Service/Service")
    assert service["DesiredCount"] == 2
