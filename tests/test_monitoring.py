"""Intent tests: the guarantees of ServiceMonitoring, golden_signal_alarms and ExecCommandAudit."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from ecs_patterns_plus import (
    AlbFargateService,
    BackendService,
    ExecCommandAudit,
    HardenedCluster,
    HardenedTaskDefinition,
    MonitoringThresholds,
    SecureLoadBalancer,
    SecureVpc,
    ServiceMonitoring,
    ValidationError,
    golden_signal_alarms,
    notification_topic,
)
from tests.scenarios.backend import _task as backend_task
from tests.scenarios.common import certificate, existing_vpc
from tests.scenarios.monitoring import LOAD_BALANCER_ARN, TARGET_GROUP_ARN
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors

FARGATE = "MonitoringFargateService"
IMPORTED = "MonitoringImportedService"
GOLDEN = "MonitoringGoldenSignals"
OFF = "MonitoringAlarmsOff"
BACKEND = "MonitoringBackendService"
ALARM = "AWS::CloudWatch::Alarm"
RULE = "AWS::Events::Rule"
SHARED_TOPIC = "EcsPatternsPlusAlarmTopic"
SHARED_KEY = "EcsPatternsPlusKey"
SHARED_QUEUE = "EcsPatternsPlusNotificationDeadLetterQueue"

LB_DIMENSION = {"Name": "LoadBalancer", "Value": "app/web/50dc6c495c0c9188"}
TG_DIMENSION = {"Name": "TargetGroup", "Value": "targetgroup/orders/73e2d6bc24d8a067"}


def _logical_id(synth: Synthesized, stack: str, resource_type: str, prefix: str) -> str:
    (logical_id,) = [
        key for key in resources_of(synth, stack, resource_type) if key.startswith(prefix)
    ]
    return logical_id


def _alarm(synth: Synthesized, stack: str, prefix: str) -> dict[str, Any]:
    alarms = resources_of(synth, stack, ALARM)
    return alarms[_logical_id(synth, stack, ALARM, prefix)]["Properties"]


def _rule(synth: Synthesized, stack: str, prefix: str) -> dict[str, Any]:
    return resources_of(synth, stack, RULE)[_logical_id(synth, stack, RULE, prefix)]["Properties"]


def _stats(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Metric stats of a metric-math alarm, by id."""
    return {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}


def _expression(alarm: dict[str, Any]) -> str:
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if m.get("ReturnData", True)]
    return expression


def _topic(synth: Synthesized, stack: str = FARGATE, prefix: str = SHARED_TOPIC) -> dict:
    return {"Ref": _logical_id(synth, stack, "AWS::SNS::Topic", prefix)}


def _service_dimensions(synth: Synthesized) -> list[dict[str, Any]]:
    cluster = _logical_id(synth, FARGATE, "AWS::ECS::Cluster", "PlatformCluster")
    service = _logical_id(synth, FARGATE, "AWS::ECS::Service", "Service")
    return [
        {"Name": "ClusterName", "Value": {"Ref": cluster}},
        {"Name": "ServiceName", "Value": {"Fn::GetAtt": [service, "Name"]}},
    ]


# --- alarms: metric, threshold, action -----------------------------------------------------


@pytest.mark.scenarios(FARGATE)
def test_cpu_alarm_on_average_service_cpu_above_80_percent(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringCpuHigh")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/ECS",
        "CPUUtilization",
        "Average",
    )
    assert alarm["Dimensions"] == _service_dimensions(scenarios)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        80,
        "GreaterThanOrEqualToThreshold",
    )
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 5, 3)
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE)
def test_memory_alarm_on_average_service_memory_above_80_percent(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringMemoryHigh")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/ECS",
        "MemoryUtilization",
        "Average",
    )
    assert alarm["Dimensions"] == _service_dimensions(scenarios)
    assert alarm["Threshold"] == 80
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE)
def test_running_below_desired_for_five_minutes(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringRunningBelowDesired")
    assert _expression(alarm) == "desired - running"
    stats = _stats(alarm)
    for metric_id, name in (("desired", "DesiredTaskCount"), ("running", "RunningTaskCount")):
        assert stats[metric_id]["Metric"]["Namespace"] == "ECS/ContainerInsights"
        assert stats[metric_id]["Metric"]["MetricName"] == name
        assert stats[metric_id]["Metric"]["Dimensions"] == _service_dimensions(scenarios)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (5, 5)
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE)
def test_target_5xx_rate_alarm_on_the_target_group(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringTarget5xxRate")
    assert _expression(alarm) == (
        "IF(target_requests >= 10, 100 * FILL(target_5xx, 0) / target_requests, 0)"
    )
    stats = _stats(alarm)
    assert stats["target_5xx"]["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count"
    assert stats["target_requests"]["Metric"]["MetricName"] == "RequestCount"
    for stat in stats.values():
        assert stat["Metric"]["Namespace"] == "AWS/ApplicationELB"
        assert stat["Metric"]["Dimensions"] == [LB_DIMENSION, TG_DIMENSION]
        assert (stat["Stat"], stat["Period"]) == ("Sum", 60)
    assert alarm["Threshold"] == 5
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE)
def test_load_balancer_5xx_rate_counts_requests_no_target_answered(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringLoadBalancer5xxRate")
    total = "(FILL(lb_requests, 0) + FILL(lb_5xx, 0))"
    assert _expression(alarm) == f"IF({total} >= 10, 100 * FILL(lb_5xx, 0) / {total}, 0)"
    stats = _stats(alarm)
    assert stats["lb_5xx"]["Metric"]["MetricName"] == "HTTPCode_ELB_5XX_Count"
    assert stats["lb_requests"]["Metric"]["MetricName"] == "RequestCount"
    for stat in stats.values():
        assert stat["Metric"]["Dimensions"] == [LB_DIMENSION]
    assert alarm["Threshold"] == 5
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE)
def test_p99_target_response_time_above_two_seconds(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringTargetResponseTimeP99")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["ExtendedStatistic"]) == (
        "AWS/ApplicationELB",
        "TargetResponseTime",
        "p99",
    )
    assert alarm["Dimensions"] == [LB_DIMENSION, TG_DIMENSION]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (2, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE)
def test_any_unhealthy_host_alarms(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringUnhealthyHosts")
    assert (alarm["MetricName"], alarm["Statistic"]) == ("UnHealthyHostCount", "Maximum")
    assert alarm["Dimensions"] == [LB_DIMENSION, TG_DIMENSION]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE)
def test_any_rejected_connection_alarms(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringRejectedConnections")
    assert (alarm["MetricName"], alarm["Statistic"]) == ("RejectedConnectionCount", "Sum")
    assert alarm["Dimensions"] == [LB_DIMENSION]
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE)
def test_restart_loop_alarm_counts_abnormal_task_stops(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringTaskFailures")
    assert _expression(alarm) == "FILL(m0, 0) + FILL(m1, 0) + FILL(m2, 0)"
    rules = [
        _logical_id(scenarios, FARGATE, RULE, prefix)
        for prefix in (
            "MonitoringTaskExited",
            "MonitoringTaskHealthCheckFailed",
            "MonitoringTaskFailedToStart",
        )
    ]
    stats = _stats(alarm)
    assert [stats[f"m{index}"]["Metric"]["Dimensions"] for index in range(3)] == [
        [{"Name": "RuleName", "Value": {"Ref": rule}}] for rule in rules
    ]
    for stat in stats.values():
        assert stat["Metric"]["MetricName"] == "MatchedEvents"
        assert (stat["Stat"], stat["Period"]) == ("Sum", 900)
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        3,
        1,
        1,
    )
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(FARGATE, IMPORTED)
def test_log_error_alarm_when_asked(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "MonitoringLogErrorsHigh")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "EcsPatternsPlus/Services",
        "orders-LogErrors",
        "Sum",
    )
    assert alarm["Threshold"] == 50
    assert alarm["AlarmActions"] == [_topic(scenarios)]
    assert not any(
        key.startswith("MonitoringLogErrorsHigh")
        for key in resources_of(scenarios, IMPORTED, ALARM)
    )


@pytest.mark.scenarios(FARGATE)
def test_undelivered_notifications_alarm_on_the_dead_letter_queue(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, FARGATE, "EcsPatternsPlusUndeliveredNotifications")
    queue = _logical_id(scenarios, FARGATE, "AWS::SQS::Queue", SHARED_QUEUE)
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}
    ]
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.parametrize("stack", [FARGATE, IMPORTED, GOLDEN])
@pytest.mark.scenarios(param="stack")
def test_every_alarm_notifies_on_alarm_and_ok_and_ignores_missing_data(
    scenarios: Synthesized, stack: str
) -> None:
    alarms = {
        **resources_of(scenarios, stack, ALARM),
        **resources_of(scenarios, stack, "AWS::CloudWatch::CompositeAlarm"),
    }
    assert alarms
    topic = _topic(scenarios, stack, SHARED_TOPIC if stack == FARGATE else "Alerts")
    for logical_id, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties["ActionsEnabled"] is True, logical_id
        assert properties["AlarmActions"] == [topic], logical_id
        assert properties["OKActions"] == [topic], logical_id
        if alarm["Type"] == ALARM:
            assert properties["TreatMissingData"] == "notBreaching", logical_id


@pytest.mark.scenarios(FARGATE)
def test_service_unhealthy_combines_the_user_facing_alarms(scenarios: Synthesized) -> None:
    (composite,) = resources_of(scenarios, FARGATE, "AWS::CloudWatch::CompositeAlarm").values()
    members = [
        part["Fn::GetAtt"][0]
        for part in composite["Properties"]["AlarmRule"]["Fn::Join"][1]
        if isinstance(part, dict)
    ]
    expected = [
        _logical_id(scenarios, FARGATE, ALARM, f"Monitoring{name}")
        for name in (
            "RunningBelowDesired",
            "TaskFailures",
            "UnhealthyHosts",
            "Target5xxRate",
            "LoadBalancer5xxRate",
            "TargetResponseTimeP99",
        )
    ]
    assert members == expected
    assert composite["Properties"]["AlarmRule"]["Fn::Join"][1][0] == '(ALARM("'
    assert composite["Properties"]["AlarmActions"] == [_topic(scenarios)]


@pytest.mark.scenarios(IMPORTED)
def test_thresholds_and_evaluation_can_be_overridden(scenarios: Synthesized) -> None:
    alarm = _alarm(scenarios, IMPORTED, "MonitoringCpuHigh")
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        70,
        3,
        2,
    )


@pytest.mark.scenarios(IMPORTED)
def test_service_without_load_balancer_has_no_load_balancer_alarms(scenarios: Synthesized) -> None:
    alarms = resources_of(scenarios, IMPORTED, ALARM)
    assert "AWS/ApplicationELB" not in json.dumps(alarms)
    assert sorted(key.removeprefix("Monitoring")[:-8] for key in alarms) == [
        "CpuHigh",
        "MemoryHigh",
        "RunningBelowDesired",
        "TaskFailures",
        "UndeliveredNotifications",
    ]


# --- golden signals ------------------------------------------------------------------------


@pytest.mark.scenarios(GOLDEN)
def test_golden_signal_function_builds_the_three_rollback_alarms(scenarios: Synthesized) -> None:
    alarms = resources_of(scenarios, GOLDEN, ALARM)
    assert sorted(key[:-8] for key in alarms) == [
        "Target5xxRate",
        "TargetResponseTimeP99",
        "UnhealthyHosts",
    ]
    latency = _alarm(scenarios, GOLDEN, "TargetResponseTimeP99")
    assert latency["Threshold"] == 0.8
    assert latency["AlarmActions"] == [_topic(scenarios, GOLDEN, "Alerts")]


def test_golden_signal_alarms_attribute_is_the_rollback_set() -> None:
    stack = stack_for_errors()
    monitoring = ServiceMonitoring(
        stack, "Monitoring", service=_service(stack), **_load_balancing(stack)
    )
    assert [alarm.node.id for alarm in monitoring.golden_signal_alarms] == [
        "Target5xxRate",
        "TargetResponseTimeP99",
        "UnhealthyHosts",
    ]
    assert monitoring.golden_signal_alarms == [
        monitoring.alarms[key] for key in ("target_5xx", "latency_p99", "unhealthy_hosts")
    ]


def test_golden_signals_use_full_names_of_l2_load_balancer_and_target_group() -> None:
    stack = stack_for_errors()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    load_balancer = elbv2.ApplicationLoadBalancer(stack, "LoadBalancer", vpc=vpc)
    target_group = elbv2.ApplicationTargetGroup(
        stack, "TargetGroup", vpc=vpc, port=8080, protocol=elbv2.ApplicationProtocol.HTTP
    )
    golden_signal_alarms(
        stack,
        load_balancer=load_balancer,
        target_group=target_group,
        topic=notification_topic(stack, "Alerts"),
    )
    template = Template.from_stack(stack)
    latency = next(
        alarm["Properties"]
        for key, alarm in template.find_resources(ALARM).items()
        if key.startswith("TargetResponseTimeP99")
    )
    lb_id = next(iter(template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")))
    tg_id = next(iter(template.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup")))
    assert latency["Dimensions"] == [
        {"Name": "LoadBalancer", "Value": {"Fn::GetAtt": [lb_id, "LoadBalancerFullName"]}},
        {"Name": "TargetGroup", "Value": {"Fn::GetAtt": [tg_id, "TargetGroupFullName"]}},
    ]


# --- Service Connect (a service without a load balancer) ------------------------------------

SC_TARGET = [{"Name": "TargetDiscoveryName", "Value": "orders"}]
LOAD_BALANCER_ONLY = ("UnhealthyHosts", "LoadBalancer5xxRate", "RejectedConnections")


def _service_connect_monitoring(**thresholds: Any) -> tuple[ServiceMonitoring, dict[str, Any]]:
    """A ServiceMonitoring of an imported service's Service Connect port ``orders``."""
    stack = stack_for_errors()
    monitoring = ServiceMonitoring(
        stack,
        "Monitoring",
        service=_service(stack),
        service_connect="orders",
        thresholds=MonitoringThresholds(**thresholds),
    )
    return monitoring, Template.from_stack(stack).to_json()["Resources"]


def _alarms_by_id(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Alarm properties by construct id (the logical id without its hash)."""
    return {
        key.removeprefix("Monitoring")[:-8]: value["Properties"]
        for key, value in resources.items()
        if value["Type"] == ALARM
    }


def _composite_members(resources: dict[str, Any]) -> list[str]:
    (composite,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::CompositeAlarm"]
    return [
        part["Fn::GetAtt"][0]
        for part in composite["Properties"]["AlarmRule"]["Fn::Join"][1]
        if isinstance(part, dict)
    ]


def _widgets(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The dashboard's widget properties by title (tokens in its body read as ``TOKEN``)."""
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    return {
        widget["properties"].get("title", ""): widget["properties"]
        for widget in json.loads(text)["widgets"]
    }


def test_service_connect_golden_signals_alarm_on_the_ports_target_metrics() -> None:
    monitoring, resources = _service_connect_monitoring(latency_p99=cdk.Duration.millis(800))
    alarms = _alarms_by_id(resources)
    errors = alarms["Target5xxRate"]
    codes = [f"target_{code}xx" for code in (2, 3, 4, 5)]
    assert _expression(errors) == (
        "IF(FILL(requests, 0) >= 10, 100 * FILL(errors, 0) / FILL(requests, 1), 0)"
    )
    # The requests are every response code the clients' proxies count (Service Connect
    # publishes no RequestCount by TargetDiscoveryName).
    (requests,) = [m["Expression"] for m in errors["Metrics"] if m["Id"] == "requests"]
    assert requests == " + ".join(f"FILL({metric_id}, 0)" for metric_id in codes)
    stats = _stats(errors)
    assert sorted(stats) == ["errors", *codes]
    for metric_id, stat in stats.items():
        code = "5" if metric_id == "errors" else metric_id[7]
        assert stat["Metric"] == {
            "Namespace": "AWS/ECS",
            "MetricName": f"HTTPCode_Target_{code}XX_Count",
            "Dimensions": SC_TARGET,
        }
    assert errors["Threshold"] == 5
    latency = alarms["TargetResponseTimeP99"]
    assert (latency["Namespace"], latency["MetricName"], latency["ExtendedStatistic"]) == (
        "AWS/ECS",
        "TargetResponseTime",
        "p99",
    )
    assert latency["Dimensions"] == SC_TARGET
    # Service Connect measures response times in milliseconds, the load balancer in seconds.
    assert (latency["Threshold"], latency["ComparisonOperator"]) == (800, "GreaterThanThreshold")
    assert monitoring.golden_signal_alarms == [
        monitoring.alarms[key] for key in ("target_5xx", "latency_p99")
    ]
    members = _composite_members(resources)
    for construct_id in ("Target5xxRate", "TargetResponseTimeP99"):
        assert any(member.startswith(f"Monitoring{construct_id}") for member in members)


def test_service_connect_gets_no_load_balancer_alarms_or_warnings() -> None:
    _, resources = _service_connect_monitoring()
    assert "AWS/ApplicationELB" not in json.dumps(resources)
    assert not set(LOAD_BALANCER_ONLY) & set(_alarms_by_id(resources))
    # Turning off what Service Connect cannot measure is no loss; turning off a golden signal is.
    monitoring, _ = _service_connect_monitoring(
        latency_p99=None,
        unhealthy_hosts=None,
        load_balancer_5xx_percent=None,
        rejected_connections=None,
    )
    warnings = [str(e.data) for e in monitoring.node.metadata if e.type == "aws:cdk:warning"]
    assert len(warnings) == 1
    assert "ecs-patterns-plus:alarm-disabled-latency-p99" in warnings[0]


@pytest.mark.scenarios(BACKEND)
def test_for_service_reuses_a_backend_services_rollback_alarm(scenarios: Synthesized) -> None:
    alarms = resources_of(scenarios, BACKEND, ALARM)
    on_service_connect = [key for key in alarms if "TargetDiscoveryName" in json.dumps(alarms[key])]
    assert on_service_connect == [_logical_id(scenarios, BACKEND, ALARM, "OrdersRollbackAlarm")]
    rollback = _alarm(scenarios, BACKEND, "OrdersRollbackAlarm")
    assert "(FILL(p99, 0) > 800)" in _expression(rollback)  # the service's 800 ms, in ms
    for stat in _stats(rollback).values():
        assert stat["Metric"]["Namespace"] == "AWS/ECS"
        assert stat["Metric"]["Dimensions"] == [
            {"Name": "TargetDiscoveryName", "Value": "orders-prod"}
        ]
    assert not any(
        key.startswith(f"Monitoring{construct_id}")
        for key in alarms
        for construct_id in ("Target5xxRate", "TargetResponseTimeP99", *LOAD_BALANCER_ONLY)
    )
    assert "AWS/ApplicationELB" not in json.dumps(scenarios.template_json(BACKEND))
    resources = scenarios.template_json(BACKEND)["Resources"]
    assert _logical_id(scenarios, BACKEND, ALARM, "OrdersRollbackAlarm") in _composite_members(
        resources
    )


@pytest.mark.scenarios(BACKEND)
def test_dashboard_shows_service_connect_panels(scenarios: Synthesized) -> None:
    (dashboard,) = resources_of(scenarios, BACKEND, "AWS::CloudWatch::Dashboard").values()
    widgets = _widgets(dashboard)
    target = ["TargetDiscoveryName", "orders-prod"]
    server = ["DiscoveryName", "orders-prod"]
    requests = widgets["Service Connect requests and errors"]["metrics"]
    assert ["AWS/ECS", "RequestCount", *server] == requests[0][:4]
    assert ["AWS/ECS", "HTTPCode_Target_5XX_Count", *target] in [m[:4] for m in requests]
    assert any("FILL(target_5xx, 0)" in m[-1].get("expression", "") for m in requests)
    latency = widgets["Service Connect response time (ms)"]
    p99 = latency["metrics"][-1]
    assert (p99[:4], p99[4]["stat"]) == (["AWS/ECS", "TargetResponseTime", *target], "p99")
    assert latency["annotations"]["horizontal"] == [
        {"value": 800, "label": "p99 alarm", "yAxis": "left"}
    ]
    connections = widgets["Service Connect connections"]["metrics"]
    assert ["AWS/ECS", "ActiveConnectionCount", *server] == connections[0][:4]
    assert not any("Target response time" in title for title in widgets)


def _backend(stack: cdk.Stack, app_protocol: ecs.AppProtocol | None) -> BackendService:
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    return BackendService(
        stack,
        "Orders",
        cluster=platform.cluster,
        task_definition=backend_task(
            stack, "OrdersTask", port_name="orders", app_protocol=app_protocol
        ),
    )


def test_for_service_takes_a_backend_services_rollback_alarm_as_its_golden_signals() -> None:
    stack = stack_for_errors()
    orders = _backend(stack, ecs.AppProtocol.http)
    monitoring = ServiceMonitoring.for_service(stack, "Monitoring", service=orders)
    assert monitoring.golden_signal_alarms == orders.golden_signal_alarms
    assert monitoring.alarms["golden_signals"] is orders.golden_signal_alarms[0]
    assert not {"target_5xx", "latency_p99", "unhealthy_hosts"} & set(monitoring.alarms)


def test_a_tcp_backend_gets_no_service_connect_alarms_or_panels() -> None:
    stack = stack_for_errors()
    ledger = _backend(stack, None)
    monitoring = ServiceMonitoring.for_service(stack, "Monitoring", service=ledger)
    assert monitoring.golden_signal_alarms == []
    assert not {"golden_signals", "target_5xx", "latency_p99"} & set(monitoring.alarms)
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert "TargetDiscoveryName" not in json.dumps(resources)
    (dashboard,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert not any("Service Connect" in title for title in _widgets(dashboard))


# --- notification topic --------------------------------------------------------------------


@pytest.mark.scenarios(FARGATE)
def test_topic_is_kms_encrypted_and_tls_only(scenarios: Synthesized) -> None:
    key = _logical_id(scenarios, FARGATE, "AWS::KMS::Key", SHARED_KEY)
    scenarios.template(FARGATE).has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}
    )
    (policy,) = resources_of(scenarios, FARGATE, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Action": "sns:Publish",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": "*",
        "Resource": _topic(scenarios),
        "Sid": "AllowPublishThroughSSLOnly",
    } in statements


@pytest.mark.scenarios(FARGATE, IMPORTED)
def test_only_this_accounts_alarms_may_publish(scenarios: Synthesized) -> None:
    for stack, prefix in ((FARGATE, SHARED_TOPIC), (IMPORTED, "Alerts")):
        (policy,) = resources_of(scenarios, stack, "AWS::SNS::TopicPolicy").values()
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        (alarms,) = [s for s in statements if s.get("Sid") == "AllowCloudWatchAlarms"]
        assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert alarms["Resource"] == _topic(scenarios, stack, prefix)
        assert alarms["Condition"]["StringEquals"] == {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
        }
        assert alarms["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1][-1] == ":alarm:*"


@pytest.mark.scenarios(FARGATE)
def test_key_lets_cloudwatch_and_eventbridge_encrypt_notifications(scenarios: Synthesized) -> None:
    keys = resources_of(scenarios, FARGATE, "AWS::KMS::Key")
    key = keys[_logical_id(scenarios, FARGATE, "AWS::KMS::Key", SHARED_KEY)]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    assert {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Effect": "Allow",
        "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
        "Resource": "*",
    } in key["Properties"]["KeyPolicy"]["Statement"]


@pytest.mark.scenarios(IMPORTED)
def test_a_passed_topic_is_used_instead_of_a_new_one(scenarios: Synthesized) -> None:
    topics = resources_of(scenarios, IMPORTED, "AWS::SNS::Topic")
    assert [key[:-8] for key in topics] == ["Alerts"]


# --- events --------------------------------------------------------------------------------


@pytest.mark.scenarios(FARGATE)
def test_failed_and_rolled_back_deployments_are_notified(scenarios: Synthesized) -> None:
    rule = _rule(scenarios, FARGATE, "MonitoringDeploymentFailed")
    service = _logical_id(scenarios, FARGATE, "AWS::ECS::Service", "Service")
    assert rule["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        "resources": [{"Ref": service}],
        "detail": {
            "$or": [
                {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
                {
                    "eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS"],
                    "reason": [{"wildcard": "*rolling back*"}, {"wildcard": "*rollback*"}],
                },
            ]
        },
    }
    assert rule["Targets"][0]["Arn"] == _topic(scenarios)


@pytest.mark.scenarios(FARGATE, IMPORTED)
def test_every_deployment_is_notified_only_when_asked(scenarios: Synthesized) -> None:
    rule = _rule(scenarios, FARGATE, "MonitoringDeployments")
    assert rule["EventPattern"]["detail"] == {
        "eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"]
    }
    assert not any(
        key.startswith("MonitoringDeployments") for key in resources_of(scenarios, IMPORTED, RULE)
    )


def _stopped_detail(scenarios: Synthesized) -> dict[str, Any]:
    cluster = _logical_id(scenarios, FARGATE, "AWS::ECS::Cluster", "PlatformCluster")
    service = _logical_id(scenarios, FARGATE, "AWS::ECS::Service", "Service")
    return {
        "clusterArn": [{"Fn::GetAtt": [cluster, "Arn"]}],
        "group": [{"Fn::Join": ["", ["service:", {"Fn::GetAtt": [service, "Name"]}]]}],
        "lastStatus": ["STOPPED"],
    }


@pytest.mark.scenarios(FARGATE)
def test_tasks_exiting_non_zero_are_notified(scenarios: Synthesized) -> None:
    rule = _rule(scenarios, FARGATE, "MonitoringTaskExited")
    assert rule["EventPattern"]["detail-type"] == ["ECS Task State Change"]
    assert rule["EventPattern"]["detail"] == {
        **_stopped_detail(scenarios),
        "stopCode": ["EssentialContainerExited"],
        "containers": {"exitCode": [{"anything-but": 0}]},
    }
    assert "non-zero" in rule["Targets"][0]["InputTransformer"]["InputTemplate"]


@pytest.mark.scenarios(FARGATE)
def test_tasks_failing_health_checks_are_notified(scenarios: Synthesized) -> None:
    rule = _rule(scenarios, FARGATE, "MonitoringTaskHealthCheckFailed")
    assert rule["EventPattern"]["detail"] == {
        **_stopped_detail(scenarios),
        "stoppedReason": [
            {"prefix": "Task failed ELB health checks"},
            {"prefix": "Task failed container health checks"},
        ],
    }
    assert "health check path" in rule["Targets"][0]["InputTransformer"]["InputTemplate"]


@pytest.mark.scenarios(FARGATE)
def test_tasks_failing_to_start_are_notified_with_image_pull_hints(scenarios: Synthesized) -> None:
    rule = _rule(scenarios, FARGATE, "MonitoringTaskFailedToStart")
    assert rule["EventPattern"]["detail"] == {
        **_stopped_detail(scenarios),
        "stopCode": ["TaskFailedToStart"],
    }
    text = rule["Targets"][0]["InputTransformer"]["InputTemplate"]
    assert "CannotPullContainerError" in text
    assert "VPC endpoints" in text


@pytest.mark.scenarios(FARGATE)
def test_service_warnings_such_as_placement_failures_are_notified(scenarios: Synthesized) -> None:
    rule = _rule(scenarios, FARGATE, "MonitoringServiceAction")
    service = _logical_id(scenarios, FARGATE, "AWS::ECS::Service", "Service")
    assert rule["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Service Action"],
        "resources": [{"Ref": service}],
        "detail": {"eventType": ["WARN", "ERROR"]},
    }


@pytest.mark.scenarios(FARGATE)
def test_event_messages_carry_the_service_and_event_details(scenarios: Synthesized) -> None:
    target = _rule(scenarios, FARGATE, "MonitoringTaskExited")["Targets"][0]
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {
        "detail-taskArn": "$.detail.taskArn",
        "detail-taskDefinitionArn": "$.detail.taskDefinitionArn",
        "detail-stopCode": "$.detail.stopCode",
        "detail-stoppedReason": "$.detail.stoppedReason",
    }
    assert transformer["InputTemplate"].startswith(
        '"[orders] Task <detail-taskArn> (<detail-taskDefinitionArn>) stopped: '
        "<detail-stopCode>, <detail-stoppedReason>."
    )


@pytest.mark.parametrize("stack", [FARGATE, IMPORTED])
@pytest.mark.scenarios(param="stack")
def test_undeliverable_events_go_to_an_encrypted_dead_letter_queue(
    scenarios: Synthesized, stack: str
) -> None:
    # The stack's shared queue, unless the monitoring has a topic of its own.
    queue = _logical_id(
        scenarios,
        stack,
        "AWS::SQS::Queue",
        SHARED_QUEUE if stack == FARGATE else "MonitoringDeadLetterQueue",
    )
    rules = resources_of(scenarios, stack, RULE)
    assert len(rules) == (7 if stack == FARGATE else 5)
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
    key = _logical_id(scenarios, stack, "AWS::KMS::Key", SHARED_KEY)
    scenarios.template(stack).has_resource_properties(
        "AWS::SQS::Queue",
        {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}, "MessageRetentionPeriod": 1209600},
    )


@pytest.mark.scenarios(FARGATE)
def test_exec_sessions_on_the_cluster_are_notified(scenarios: Synthesized) -> None:
    rule = _rule(scenarios, FARGATE, "ExecAuditExecuteCommand")
    cluster = _logical_id(scenarios, FARGATE, "AWS::ECS::Cluster", "PlatformCluster")
    assert rule["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["ecs.amazonaws.com"],
            "eventName": ["ExecuteCommand"],
            "requestParameters": {"cluster": [{"Ref": cluster}, {"Fn::GetAtt": [cluster, "Arn"]}]},
        },
    }
    target = rule["Targets"][0]
    assert target["Arn"] == _topic(scenarios)
    assert target["InputTransformer"]["InputPathsMap"]["detail-userIdentity-arn"] == (
        "$.detail.userIdentity.arn"
    )


# --- logs and dashboard --------------------------------------------------------------------


@pytest.mark.scenarios(FARGATE)
def test_error_lines_are_counted_by_a_metric_filter(scenarios: Synthesized) -> None:
    log_group = _logical_id(scenarios, FARGATE, "AWS::Logs::LogGroup", "Logs")
    (metric_filter,) = resources_of(scenarios, FARGATE, "AWS::Logs::MetricFilter").values()
    properties = metric_filter["Properties"]
    assert properties["LogGroupName"] == {"Ref": log_group}
    assert properties["FilterPattern"] == (
        '?"ERROR" ?"Error" ?"error" ?"Exception" ?"FATAL" ?"Fatal" ?"panic" ?"Traceback"'
    )
    assert properties["MetricTransformations"] == [
        {
            "DefaultValue": 0,
            "MetricName": "orders-LogErrors",
            "MetricNamespace": "EcsPatternsPlus/Services",
            "MetricValue": "1",
            "Unit": "Count",
        }
    ]


@pytest.mark.scenarios(FARGATE)
def test_saved_queries_for_errors_and_restart_loops(scenarios: Synthesized) -> None:
    log_group = _logical_id(scenarios, FARGATE, "AWS::Logs::LogGroup", "Logs")
    queries = {
        query["Properties"]["Name"]: query["Properties"]
        for query in resources_of(scenarios, FARGATE, "AWS::Logs::QueryDefinition").values()
    }
    assert sorted(queries) == [
        "orders/Errors by task",
        "orders/Last lines of each task",
        "orders/Recent error lines",
        "orders/Task starts (restart loops)",
    ]
    for query in queries.values():
        assert query["LogGroupNames"] == [{"Ref": log_group}]
    assert "latest(@message)" in queries["orders/Last lines of each task"]["QueryString"]
    assert "min(@timestamp)" in queries["orders/Task starts (restart loops)"]["QueryString"]


@pytest.mark.scenarios(FARGATE)
def test_dashboard_shows_the_briefs_metrics_deployments_and_log_errors(
    scenarios: Synthesized,
) -> None:
    (dashboard,) = resources_of(scenarios, FARGATE, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for needle in (
        "CPUUtilization",
        "MemoryUtilization",
        "DesiredTaskCount",
        "RunningTaskCount",
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
        "TargetResponseTime",
        "UnHealthyHostCount",
        "RejectedConnectionCount",
        "DeploymentCount",
        "MatchedEvents",
        "orders-LogErrors",
        "SOURCE '",  # the Logs Insights widget
        '\\"type\\":\\"alarm\\"',  # the alarm status widget
        "execute-command",  # the runbook
    ):
        assert needle in body, needle


@pytest.mark.scenarios(OFF, IMPORTED)
def test_dashboard_can_be_turned_off(scenarios: Synthesized) -> None:
    assert resources_of(scenarios, OFF, "AWS::CloudWatch::Dashboard") == {}
    assert len(resources_of(scenarios, IMPORTED, "AWS::CloudWatch::Dashboard")) == 1


# --- opt-outs ------------------------------------------------------------------------------


@pytest.mark.scenarios(OFF)
def test_turning_an_alarm_off_is_loud(scenarios: Synthesized) -> None:
    warnings = scenarios.metadata_entries(OFF, "aws:cdk:warning")
    assert sorted(path for path, _ in warnings) == ["/MonitoringAlarmsOff/Monitoring"] * 2
    text = " ".join(str(data) for _, data in warnings)
    assert "ecs-patterns-plus:alarm-disabled-cpu-percent" in text
    assert "ecs-patterns-plus:alarm-disabled-target-5xx-percent" in text
    assert "rollback alarm" in text
    alarms = resources_of(scenarios, OFF, ALARM)
    assert not any(key.startswith(("MonitoringCpuHigh", "MonitoringTarget5xx")) for key in alarms)
    assert any(key.startswith("MonitoringMemoryHigh") for key in alarms)


# --- for_service ---------------------------------------------------------------------------


def _service(stack: cdk.Stack) -> ecs.IBaseService:
    cluster = ecs.Cluster.from_cluster_attributes(
        stack,
        "Cluster",
        cluster_name="platform",
        vpc=ec2.Vpc.from_vpc_attributes(
            stack, "Vpc", vpc_id="vpc-0123456789abcdef0", availability_zones=["ap-northeast-2a"]
        ),
    )
    return ecs.FargateService.from_fargate_service_attributes(
        stack, "Service", cluster=cluster, service_name="orders"
    )


def _load_balancing(stack: cdk.Stack) -> dict[str, Any]:
    return {
        "load_balancer": elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
            stack, "LoadBalancer", load_balancer_arn=LOAD_BALANCER_ARN, security_group_id="sg-1"
        ),
        "target_group": elbv2.ApplicationTargetGroup.from_target_group_attributes(
            stack, "TargetGroup", target_group_arn=TARGET_GROUP_ARN
        ),
    }


def test_for_service_reads_a_service_constructs_attributes() -> None:
    stack = stack_for_errors()
    parts = _load_balancing(stack)
    log_group = logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/orders")
    construct = SimpleNamespace(
        service=_service(stack),
        load_balancer=SimpleNamespace(load_balancer=parts["load_balancer"]),  # a wrapper
        target_group=parts["target_group"],
        task_definition=SimpleNamespace(log_group=log_group),
    )
    monitoring = ServiceMonitoring.for_service(stack, "Monitoring", service=construct)
    assert monitoring.service is construct.service
    assert {"target_5xx", "load_balancer_5xx", "rejected_connections"} <= set(monitoring.alarms)
    assert set(monitoring.queries) == {"errors", "errors_by_task", "task_starts", "last_lines"}


# --- bad input -----------------------------------------------------------------------------


def _monitor(**kwargs: Any) -> ServiceMonitoring:
    stack = stack_for_errors()
    options = {"service": _service(stack), **kwargs}
    if options.pop("with_load_balancer", False):
        options.update(_load_balancing(stack))
    return ServiceMonitoring(stack, "Monitoring", **options)


@pytest.mark.parametrize(
    ("thresholds", "argument", "fragment"),
    [
        ({"cpu_percent": 0}, "cpu_percent", "must be between 1 and 100; got 0"),
        ({"cpu_percent": 120}, "cpu_percent", "must be between 1 and 100; got 120"),
        (
            {"memory_percent": "80"},
            "memory_percent",
            "expected a float; got str '80'; use the number 80, not a string",
        ),
        (
            {"running_below_desired_minutes": 0},
            "running_below_desired_minutes",
            "between 1 and 1440",
        ),
        (
            {"running_below_desired_minutes": 2.5},
            "running_below_desired_minutes",
            "expected an int; got float 2.5",
        ),
        ({"load_balancer_5xx_percent": 0}, "load_balancer_5xx_percent", "between 0.01 and 100"),
        ({"target_5xx_percent": 101}, "target_5xx_percent", "between 0.01 and 100"),
        ({"latency_p99": cdk.Duration.minutes(10)}, "latency_p99", "between 1 ms and 5 minutes"),
        (
            {"latency_p99": 2},
            "latency_p99",
            "expected a Duration; got int 2; use Duration.seconds(2)",
        ),
        ({"unhealthy_hosts": 0}, "unhealthy_hosts", "between 1 and 1000"),
        ({"rejected_connections": True}, "rejected_connections", "expected an int; got bool True"),
        ({"task_failures": 0}, "task_failures", "between 1 and 1000"),
        ({"task_failure_window": cdk.Duration.seconds(90)}, "task_failure_window", "whole minutes"),
        ({"task_failure_window": cdk.Duration.hours(2)}, "task_failure_window", "1 minute and 60"),
        ({"task_failure_window": None}, "task_failure_window", "expected a Duration; got None"),
        ({"log_errors": 0}, "log_errors", "between 1 and 1,000,000"),
        ({"min_requests": -1}, "min_requests", "between 0 and 1,000,000"),
        ({"evaluation_periods": 0}, "evaluation_periods", "between 1 and 1440"),
        (
            {"evaluation_periods": 3, "datapoints_to_alarm": 4},
            "datapoints_to_alarm",
            "cannot exceed evaluation_periods (3); got 4",
        ),
    ],
)
def test_bad_thresholds_are_refused(thresholds: dict, argument: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        _monitor(thresholds=MonitoringThresholds(**thresholds))
    assert f"thresholds.{argument}: " in str(error.value)
    assert fragment in str(error.value)


def test_thresholds_must_be_monitoring_thresholds() -> None:
    with pytest.raises(ValidationError) as error:
        _monitor(thresholds={"cpu_percent": 80})
    assert error.value.problems == (
        "thresholds: expected a MonitoringThresholds; got dict; pass a MonitoringThresholds",
    )


def test_golden_signal_function_refuses_bad_thresholds() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as error:
        golden_signal_alarms(
            stack,
            **_load_balancing(stack),
            topic=notification_topic(stack, "Alerts"),
            thresholds=MonitoringThresholds(latency_p99=cdk.Duration.millis(0)),
        )
    assert str(error.value).startswith("Errors: thresholds.latency_p99: must be between 1 ms")


@pytest.mark.parametrize(
    ("kwargs", "argument", "fragment"),
    [
        ({"service": "orders"}, "service", "expected an ecs.IBaseService; got str 'orders'"),
        (
            {"load_balancer": "x"},
            "load_balancer",
            "expected an elbv2.IApplicationLoadBalancer; got str 'x'",
        ),
        ({"service_name": "orders api"}, "service_name", "must be 1 to 100 letters"),
        ({"service_connect": "Orders"}, "service_connect", "must be a discovery name"),
        (
            {"service_connect": "orders", "with_load_balancer": True},
            "service_connect",
            "cannot go with load_balancer",
        ),
        (
            {
                "service_connect": "orders",
                "thresholds": MonitoringThresholds(
                    latency_p99=cdk.Duration.seconds(cdk.Token.as_number({"Ref": "P99"}))
                ),
            },
            "thresholds.latency_p99",
            "a token cannot be converted to the milliseconds",
        ),
        ({"service_name": ""}, "service_name", "must be 1 to 100 letters"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, argument: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        _monitor(**kwargs)
    assert f"{argument}: {fragment}" in str(error.value)


def test_target_group_needs_its_load_balancer() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"load_balancer: is needed with target_group"):
        ServiceMonitoring(
            stack,
            "Monitoring",
            service=_service(stack),
            target_group=_load_balancing(stack)["target_group"],
        )


def test_network_load_balancer_is_refused() -> None:
    stack = stack_for_errors()
    network = elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
        stack,
        "Nlb",
        load_balancer_arn=LOAD_BALANCER_ARN.replace("/app/", "/net/"),
        security_group_id="sg-1",
    )
    with pytest.raises(ValidationError, match=r"load_balancer: must be an application load"):
        ServiceMonitoring(
            stack,
            "Monitoring",
            service=_service(stack),
            load_balancer=network,
            target_group=_load_balancing(stack)["target_group"],
        )


def test_for_service_needs_a_service_attribute() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as error:
        ServiceMonitoring.for_service(stack, "Monitoring", service=SimpleNamespace())  # type: ignore[arg-type]
    assert str(error.value) == (
        "Errors/Monitoring: service: expected a ServiceConstruct; got SimpleNamespace; "
        "pass an object whose .service is an ecs.IBaseService"
    )
    assert stack.node.try_find_child("Monitoring") is None


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as error:
        _monitor(
            service_name="a b",
            thresholds=MonitoringThresholds(cpu_percent=0, memory_percent=0, unhealthy_hosts=0),
        )
    assert str(error.value).startswith("Errors/Monitoring: 4 invalid arguments:")


def test_required_evaluation_settings_cannot_be_none() -> None:
    with pytest.raises(ValidationError) as error:
        _monitor(thresholds=MonitoringThresholds(evaluation_periods=None))  # type: ignore[arg-type]
    assert "thresholds.evaluation_periods: expected an int; got None" in str(error.value)


@pytest.mark.parametrize(
    ("argument", "value", "fragment"),
    [
        ("topic", "arn:aws:sns:ap-northeast-2:111122223333:alerts", "expected a sns.ITopic"),
        ("log_group", "/ecs/orders", "expected a logs.ILogGroup"),
        ("encryption_key", "alias/alerts", "expected a kms.IKey"),
    ],
)
def test_arns_and_names_are_refused_where_interfaces_are_expected(
    argument: str, value: str, fragment: str
) -> None:
    with pytest.raises(ValidationError) as error:
        _monitor(**{argument: value})
    assert f"{argument}: {fragment}" in str(error.value)


def test_golden_signal_function_needs_a_topic_and_a_load_balancer() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as error:
        golden_signal_alarms(stack, load_balancer=None, target_group=None, topic=None)  # type: ignore[arg-type]
    message = str(error.value)
    assert "load_balancer: expected an elbv2.IApplicationLoadBalancer; got None" in message
    assert "target_group: expected an elbv2.IApplicationTargetGroup; got None" in message
    assert "topic: expected a sns.ITopic; got None" in message


def test_exec_audit_refuses_a_cluster_name() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"cluster: expected an ecs.ICluster; got str"):
        ExecCommandAudit(
            stack, "ExecAudit", cluster="platform", topic=notification_topic(stack, "Alerts")
        )  # type: ignore[arg-type]


def test_for_service_monitors_an_alb_fargate_service() -> None:
    stack = stack_for_errors()
    network = SecureVpc(stack, "Network", nat_gateways=1)
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    thresholds = MonitoringThresholds(latency_p99=cdk.Duration.millis(800))
    web = AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=HardenedTaskDefinition(
            stack,
            "Task",
            image=ecs.ContainerImage.from_ecr_repository(
                ecr.Repository.from_repository_name(stack, "Repository", "web"), "1.4.2"
            ),
            container_port=8080,
        ),
        load_balancer=SecureLoadBalancer(
            stack, "LoadBalancer", vpc=network.vpc, certificate=certificate(stack)
        ),
        alarm_thresholds=thresholds,
    )
    monitoring = ServiceMonitoring.for_service(stack, "Monitoring", service=web)
    assert set(monitoring.queries) == {"errors", "errors_by_task", "task_starts", "last_lines"}
    # The service's rollback alarm is its golden signals: reused, never created twice, and
    # the monitoring fires at the service's thresholds, on the service's topic.
    assert monitoring.golden_signal_alarms == web.golden_signal_alarms
    assert monitoring.alarms["golden_signals"] is web.golden_signal_alarms[0]
    assert monitoring.thresholds is thresholds
    assert monitoring.topic is web.alarm_topic
    template = Template.from_stack(stack)
    assert len(template.find_resources("AWS::SNS::Topic")) == 1
    assert len(template.find_resources("AWS::KMS::Key")) == 1
    alarms = template.find_resources(ALARM)
    assert not any(key.startswith("MonitoringUnhealthyHosts") for key in alarms)
    (golden,) = [
        alarm["Properties"] for key, alarm in alarms.items() if key.startswith("WebRollbackAlarm")
    ]
    assert "(FILL(p99, 0) > 0.8)" in _expression(golden)
    lb_id = next(iter(template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")))
    tg_id = next(iter(template.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup")))
    assert _stats(golden)["unhealthy"]["Metric"]["Dimensions"] == [
        {"Name": "LoadBalancer", "Value": {"Fn::GetAtt": [lb_id, "LoadBalancerFullName"]}},
        {"Name": "TargetGroup", "Value": {"Fn::GetAtt": [tg_id, "TargetGroupFullName"]}},
    ]
    composite = next(iter(template.find_resources("AWS::CloudWatch::CompositeAlarm").values()))
    golden_id = next(key for key in alarms if key.startswith("WebRollbackAlarm"))
    assert golden_id in json.dumps(composite["Properties"]["AlarmRule"])


@pytest.mark.scenarios(BACKEND)
def test_monitoring_a_service_on_the_shared_topic_adds_no_second_dead_letter_queue(
    scenarios: Synthesized,
) -> None:
    """``for_service`` passes the service's topic, the stack's shared one: the monitoring then
    uses the stack's notification dead-letter queue too, not one of its own."""
    queues = resources_of(scenarios, BACKEND, "AWS::SQS::Queue")
    assert [key for key in queues if "NotificationDeadLetterQueue" in key] == list(queues)
    assert len(queues) == 1
