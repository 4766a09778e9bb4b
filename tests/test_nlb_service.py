"""SecureNetworkLoadBalancer and NlbFargateService: each guarantee in the template, and the
mistakes refused before anything is built."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    DeploymentStrategy,
    HardenedCluster,
    HardenedTaskDefinition,
    NlbFargateService,
    NlbHealthCheck,
    NlbListener,
    ScalingOptions,
    SecureNetworkLoadBalancer,
    TestTraffic,
    ValidationError,
)
from tests.scenarios.common import CERTIFICATE_ARN, certificate, existing_vpc
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

TLS, MIXED, CANARY = "NlbTls", "NlbTcpUdp", "NlbCanary"


def _resource(synth: Synthesized, stack: str, path: str) -> dict[str, Any]:
    return synth.template_json(stack)["Resources"][logical_id(synth, stack, path)]["Properties"]


def _service(synth: Synthesized, stack: str, path: str) -> dict[str, Any]:
    wanted = f"{stack}/{path}/Service/Service"  # the ECS service's own resource id
    (service,) = [
        resource["Properties"]
        for resource in resources_of(synth, stack, "AWS::ECS::Service").values()
        if resource["Metadata"]["aws:cdk:path"] == wanted
    ]
    return service


def _attributes(properties: dict[str, Any], key: str) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in properties[key]}


def _ingress(synth: Synthesized, stack: str, group_path: str) -> list[dict[str, Any]]:
    key = logical_id(synth, stack, group_path)
    inline = synth.template_json(stack)["Resources"][key]["Properties"].get(
        "SecurityGroupIngress", []
    )
    rules = resources_of(synth, stack, "AWS::EC2::SecurityGroupIngress").values()
    attached = [
        rule["Properties"]
        for rule in rules
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [key, "GroupId"]}
    ]
    return [*inline, *attached]


def _ports(rules: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(rule["IpProtocol"], rule["FromPort"]) for rule in rules}


@pytest.mark.scenarios(TLS)
def test_the_load_balancer_is_internal_guarded_and_logged(scenarios: Synthesized) -> None:
    balancer = _resource(scenarios, TLS, "LoadBalancer/LoadBalancer")
    assert balancer["Type"] == "network"
    assert balancer["Scheme"] == "internal"
    group = logical_id(scenarios, TLS, "LoadBalancer/SecurityGroup")
    assert balancer["SecurityGroups"] == [{"Fn::GetAtt": [group, "GroupId"]}]
    attributes = _attributes(balancer, "LoadBalancerAttributes")
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["load_balancing.cross_zone.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    bucket = logical_id(scenarios, TLS, "LoadBalancer/AccessLogsBucket")
    assert attributes["access_logs.s3.bucket"] == {"Ref": bucket}


@pytest.mark.scenarios(TLS)
def test_tls_terminates_at_the_listener_with_tls_1_3(scenarios: Synthesized) -> None:
    listener = _resource(scenarios, TLS, "Broker/Listener")
    assert (listener["Protocol"], listener["Port"]) == ("TLS", 8883)
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listener["Certificates"] == [{"CertificateArn": CERTIFICATE_ARN}]
    group = _resource(scenarios, TLS, "Broker/TargetGroup")
    assert (group["Protocol"], group["Port"], group["TargetType"]) == ("TCP", 1883, "ip")


@pytest.mark.scenarios(TLS)
def test_only_allowed_sources_reach_the_listener_and_only_it_the_tasks(
    scenarios: Synthesized,
) -> None:
    balancer = _ingress(scenarios, TLS, "LoadBalancer/SecurityGroup")
    assert [(r["CidrIp"], r["IpProtocol"], r["FromPort"]) for r in balancer] == [
        ("10.0.0.0/16", "tcp", 8883)
    ]
    (rule,) = _ingress(scenarios, TLS, "Broker/SecurityGroup")
    source = logical_id(scenarios, TLS, "LoadBalancer/SecurityGroup")
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [source, "GroupId"]}
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 1883, 1883)


@pytest.mark.scenarios(TLS)
def test_the_target_group_is_tuned_for_fast_rollouts(scenarios: Synthesized) -> None:
    group = _resource(scenarios, TLS, "Broker/TargetGroup")
    assert group["HealthCheckProtocol"] == "TCP"
    assert (group["HealthCheckIntervalSeconds"], group["HealthCheckTimeoutSeconds"]) == (10, 5)
    assert (group["HealthyThresholdCount"], group["UnhealthyThresholdCount"]) == (2, 2)
    attributes = _attributes(group, "TargetGroupAttributes")
    assert attributes["deregistration_delay.timeout_seconds"] == "30"
    assert attributes["deregistration_delay.connection_termination.enabled"] == "true"
    assert attributes["preserve_client_ip.enabled"] == "false"
    service = _service(scenarios, TLS, "Broker")
    assert service["HealthCheckGracePeriodSeconds"] == 60 + (2 + 1) * 10


@pytest.mark.scenarios(TLS)
def test_deployments_roll_back_on_unhealthy_tasks_and_connection_resets(
    scenarios: Synthesized,
) -> None:
    key = logical_id(scenarios, TLS, "Broker/RollbackAlarm")
    alarm = scenarios.template_json(TLS)["Resources"][key]["Properties"]
    stats = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert {(m["Namespace"], m["MetricName"]) for m in stats} == {
        ("AWS/NetworkELB", "UnHealthyHostCount"),
        ("AWS/NetworkELB", "TCP_Target_Reset_Count"),
    }
    for metric in stats:
        assert {d["Name"] for d in metric["Dimensions"]} == {"LoadBalancer", "TargetGroup"}
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    assert expression == "(FILL(unhealthy, 0) >= 1) OR (FILL(resets, 0) >= 10)"
    service = _service(scenarios, TLS, "Broker")
    assert service["DeploymentConfiguration"]["Alarms"]["AlarmNames"] == [{"Ref": key}]
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }


@pytest.mark.scenarios(MIXED)
def test_udp_listeners_health_check_a_tcp_port(scenarios: Synthesized) -> None:
    group = _resource(scenarios, MIXED, "Telemetry/TargetGroup")
    assert (group["Protocol"], group["Port"]) == ("UDP", 5683)
    assert (group["HealthCheckProtocol"], group["HealthCheckPort"]) == ("TCP", "8080")
    attributes = _attributes(group, "TargetGroupAttributes")
    assert "preserve_client_ip.enabled" not in attributes  # always on for UDP
    assert attributes["deregistration_delay.timeout_seconds"] == "10"
    assert _ports(_ingress(scenarios, MIXED, "Telemetry/SecurityGroup")) == {
        ("udp", 5683),
        ("tcp", 8080),
    }
    balancer = _ingress(scenarios, MIXED, "LoadBalancer/SecurityGroup")
    assert _ports(balancer) == {("tcp", 50051), ("udp", 5683)}
    definitions = resources_of(scenarios, MIXED, "AWS::ECS::TaskDefinition")
    (mapping,) = [
        d["Properties"]["ContainerDefinitions"][0]["PortMappings"][0]
        for key, d in definitions.items()
        if key.startswith("TelemetryTask")
    ]
    assert mapping == {"ContainerPort": 5683, "Protocol": "udp"}


@pytest.mark.scenarios(MIXED)
def test_http_health_checks_and_client_ip_preservation_on_request(
    scenarios: Synthesized,
) -> None:
    group = _resource(scenarios, MIXED, "Grpc/TargetGroup")
    assert (group["Protocol"], group["HealthCheckProtocol"]) == ("TCP", "HTTP")
    assert (group["HealthCheckPath"], group["HealthCheckPort"]) == ("/healthz", "8080")
    assert group["Matcher"] == {"HttpCode": "200-399"}
    assert _attributes(group, "TargetGroupAttributes")["preserve_client_ip.enabled"] == "true"
    assert _ports(_ingress(scenarios, MIXED, "Grpc/SecurityGroup")) == {
        ("tcp", 50051),
        ("tcp", 8080),
    }


# --- Mistakes refused before anything is built ---------------------------------------------


def _build(
    stack: cdk.Stack,
    *,
    with_certificate: bool = True,
    vpc: ec2.IVpc | None = None,
    **arguments: Any,
) -> Any:
    vpc = vpc or existing_vpc(stack)
    platform = HardenedCluster(stack, "Platform", vpc=vpc)
    balancer = stack.node.try_find_child("Nlb") or SecureNetworkLoadBalancer(
        stack, "Nlb", vpc=vpc, certificate=certificate(stack) if with_certificate else None
    )
    repository = ecr.Repository.from_repository_name(stack, "Repository", "broker")
    task = HardenedTaskDefinition(
        stack,
        "Task",
        image=ecs.ContainerImage.from_ecr_repository(repository, "1.0.0"),
        container_port=1883,
        port_protocol=arguments.pop("port_protocol", ecs.Protocol.TCP),
    )
    options: dict[str, Any] = {"listener": NlbListener(port=8883), **arguments}
    return NlbFargateService(
        stack,
        "Broker",
        cluster=platform.cluster,
        task_definition=task,
        load_balancer=balancer,  # type: ignore[arg-type]
        **options,
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"with_certificate": False},
            "listener.certificate: a TLS listener needs a certificate",
        ),
        (
            {
                "listener": NlbListener(port=5683, protocol="UDP"),
                "health_check": NlbHealthCheck(protocol="HTTP"),
                "port_protocol": ecs.Protocol.UDP,
            },
            "health_check.port: is needed for a UDP listener: a HTTP health check on the "
            "traffic port reaches a port the tasks answer over UDP",
        ),
        (
            {
                "listener": NlbListener(port=5683, protocol="UDP"),
                "health_check": NlbHealthCheck(port=8080),
            },
            "task_definition: its container port speaks TCP, and the listener UDP",
        ),
        (
            {
                "listener": NlbListener(
                    port=1883, protocol="TCP", certificate=None, alpn_policy=None
                ),
                "health_check": NlbHealthCheck(path="/health"),
            },
            "health_check.path: belongs to HTTP and HTTPS health checks",
        ),
        (
            {"health_check": NlbHealthCheck(protocol="HTTP", success_codes="200-600")},
            "health_check.success_codes: must be HTTP codes or ranges from 200 to 599",
        ),
        (
            {"listener": NlbListener(port=8883, protocol="QUIC")},
            "listener.protocol: must be one of the Network Load Balancer's protocols",
        ),
        (
            {"deployment": DeploymentStrategy.code_deploy_blue_green()},
            "deployment: CDK's CodeDeploy deployment group for ECS takes Application Load "
            "Balancer listeners only",
        ),
        (
            {"deployment": DeploymentStrategy.blue_green(test_traffic=TestTraffic(port=8883))},
            "deployment.test_traffic.port: is the production listener's port",
        ),
        (
            {"scaling": ScalingOptions(requests_per_target=100)},
            "scaling.requests_per_target: needs request counts",
        ),
        (
            {
                "health_check": NlbHealthCheck(
                    interval=cdk.Duration.seconds(5), timeout=cdk.Duration.seconds(5)
                )
            },
            "health_check.timeout: must be shorter than health_check.interval",
        ),
    ],
)
def test_nlb_mistakes_are_refused(arguments: dict[str, Any], expected: str) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        _build(stack, **arguments)
    assert expected in str(raised.value)
    assert stack.node.try_find_child("Broker") is None


def test_one_service_per_listener_port() -> None:
    stack = stack_for_errors()
    _build(stack)
    with pytest.raises(ValidationError, match=r"listener\.port: is taken on this load balancer by"):
        NlbFargateService(
            stack,
            "Second",
            cluster=stack.node.find_child("Platform").cluster,  # type: ignore[attr-defined]
            task_definition=stack.node.find_child("Task"),  # type: ignore[arg-type]
            load_balancer=stack.node.find_child("Nlb"),  # type: ignore[arg-type]
            listener=NlbListener(port=8883),
        )


def test_a_certificate_on_a_tcp_listener_is_refused() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"listener\.certificate: is only used by TLS"):
        _build(
            stack,
            listener=NlbListener(
                port=1883,
                protocol="TCP",
                certificate=acm.Certificate.from_certificate_arn(stack, "Own", CERTIFICATE_ARN),
            ),
        )


def test_sources_added_later_reach_every_listener() -> None:
    stack = stack_for_errors()
    service = _build(stack)
    service.load_balancer.allow_from(ec2.Peer.ipv4("192.168.0.0/24"))
    template = cdk.assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": cdk.assertions.Match.array_with(
                [cdk.assertions.Match.object_like({"CidrIp": "192.168.0.0/24", "FromPort": 8883})]
            )
        },
    )


@pytest.mark.scenarios(CANARY)
def test_ecs_shifts_traffic_between_two_target_groups_behind_a_test_listener(
    scenarios: Synthesized,
) -> None:
    service = _service(scenarios, CANARY, "Broker")
    assert service["DeploymentConfiguration"]["Strategy"] == "CANARY"
    (balanced,) = service["LoadBalancers"]
    blue = logical_id(scenarios, CANARY, "Broker/TargetGroup")
    green = logical_id(scenarios, CANARY, "Broker/AlternateTargetGroup")
    assert balanced["TargetGroupArn"] == {"Ref": blue}
    advanced = balanced["AdvancedConfiguration"]
    assert advanced["AlternateTargetGroupArn"] == {"Ref": green}
    production = logical_id(scenarios, CANARY, "Broker/Listener")
    test = logical_id(scenarios, CANARY, "Broker/TestListener")
    assert advanced["ProductionListenerRule"] == {"Ref": production}
    assert advanced["TestListenerRule"] == {"Ref": test}
    role = logical_id(scenarios, CANARY, "Broker/TrafficShiftRole")
    assert advanced["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    listener = _resource(scenarios, CANARY, "Broker/TestListener")
    assert (listener["Protocol"], listener["Port"]) == ("TLS", 9443)
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    # Test traffic comes only from the test sources; production sources never reach 9443.
    rules = _ingress(scenarios, CANARY, "LoadBalancer/SecurityGroup")
    assert sorted((r["CidrIp"], r["FromPort"]) for r in rules) == [
        ("10.0.0.0/16", 8883),
        ("10.0.9.0/24", 9443),
    ]
    alarms = service["DeploymentConfiguration"]["Alarms"]["AlarmNames"]
    assert alarms == [
        {"Ref": logical_id(scenarios, CANARY, "Broker/RollbackAlarm")},
        {"Ref": logical_id(scenarios, CANARY, "Broker/AlternateRollbackAlarm")},
    ]


def _monitored(monitoring: Any = None) -> dict[str, Any]:
    """The resources of the broker service and its monitoring: ``for_service``, or the
    constructor with ``monitoring(service)``'s arguments."""
    from ecs_patterns_plus import ServiceMonitoring

    stack = stack_for_errors()
    service = _build(stack)
    if monitoring is not None:
        ServiceMonitoring(stack, "Monitoring", service=service.service, **monitoring(service))
    else:
        ServiceMonitoring.for_service(stack, "Monitoring", service=service)
    return cdk.assertions.Template.from_stack(stack).to_json()["Resources"]


def _alarm_ids(resources: dict[str, Any]) -> list[str]:
    return sorted(k for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm")


def test_monitoring_an_nlb_service_reuses_its_rollback_alarm_and_shows_its_targets() -> None:
    resources = _monitored()
    alarms = _alarm_ids(resources)
    assert [a for a in alarms if a.startswith("BrokerRollbackAlarm")]
    assert not [a for a in alarms if "NetworkSignals" in a]  # reused, not duplicated
    assert not [a for a in alarms if "5xx" in a or "Rejected" in a]  # no ALB-only alarms
    (composite,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::CompositeAlarm"]
    assert "BrokerRollbackAlarm" in json.dumps(composite["Properties"]["AlarmRule"])
    (dashboard,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "Network load balancer targets" in body
    assert "TCP_Target_Reset_Count" in body


def test_monitoring_a_network_target_group_directly_creates_its_alarm() -> None:
    resources = _monitored(
        monitoring=lambda service: {
            "network_load_balancer": service.load_balancer.load_balancer,
            "network_target_group": service.target_group,
        }
    )
    (signals,) = [
        r["Properties"]
        for key, r in resources.items()
        if key.startswith("MonitoringNetworkSignals") and r["Type"] == "AWS::CloudWatch::Alarm"
    ]
    names = {
        m["MetricStat"]["Metric"]["MetricName"] for m in signals["Metrics"] if "MetricStat" in m
    }
    assert names == {"UnHealthyHostCount", "TCP_Target_Reset_Count"}


def test_a_network_load_balancer_without_its_target_group_is_refused() -> None:
    with pytest.raises(ValidationError, match="network_load_balancer: goes with"):
        _monitored(
            monitoring=lambda service: {
                "network_load_balancer": service.load_balancer.load_balancer
            }
        )


def test_an_internet_facing_nlb_open_to_anywhere_is_not_acknowledged() -> None:
    """The library acknowledges 0.0.0.0/0 only on an internet-facing ALB, which WAF
    protects; an NLB has no WAF, so the finding is the app's to fix or acknowledge."""
    stack = stack_for_errors()
    vpc = existing_vpc(stack)
    balancer = SecureNetworkLoadBalancer(
        stack, "Nlb", vpc=vpc, certificate=certificate(stack), internet_facing=True
    )
    _build(stack, vpc=vpc)
    ingress = balancer.security_group.node.default_child
    assert "0.0.0.0/0" in json.dumps(stack.resolve(ingress.security_group_ingress))  # type: ignore[union-attr]
    acknowledged = [m for m in balancer.security_group.node.metadata if "acknowledged" in m.type]
    assert acknowledged == []
