"""BackendService and Service Connect: what each guarantee looks like in the template, and
the mistakes refused before anything is built."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    BackendService,
    DeploymentStrategy,
    HardenedCluster,
    HardenedTaskDefinition,
    MonitoringThresholds,
    NamespaceOptions,
    ScalingOptions,
    ServiceConnectOptions,
    TestTraffic,
    ValidationError,
)
from tests.scenarios.backend import CA_ARN
from tests.scenarios.common import existing_vpc
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

SERVICE = "AWS::ECS::Service"


def _service(synth: Synthesized, stack: str, path: str) -> dict[str, Any]:
    wanted = f"{stack}/{path}/Service/Service"  # the ECS service's own resource id
    (service,) = [
        resource["Properties"]
        for resource in resources_of(synth, stack, SERVICE).values()
        if resource["Metadata"]["aws:cdk:path"] == wanted
    ]
    return service


def _connect(synth: Synthesized, stack: str, path: str) -> dict[str, Any]:
    return _service(synth, stack, path)["ServiceConnectConfiguration"]


def _ingress(synth: Synthesized, stack: str, group: str) -> list[dict[str, Any]]:
    """Every ingress of ``group`` (a construct path), standalone or inline."""
    key = logical_id(synth, stack, group)
    template = synth.template_json(stack)
    inline = template["Resources"][key]["Properties"].get("SecurityGroupIngress", [])
    rules = resources_of(synth, stack, "AWS::EC2::SecurityGroupIngress").values()
    return [
        *inline,
        *(
            r["Properties"]
            for r in rules
            if r["Properties"]["GroupId"] == {"Fn::GetAtt": [key, "GroupId"]}
        ),
    ]


@pytest.mark.scenarios("BackendDefaults", "BackendOptions")
def test_the_cluster_owns_the_namespace_services_join(scenarios: Synthesized) -> None:
    (http,) = resources_of(scenarios, "BackendDefaults", "AWS::ServiceDiscovery::HttpNamespace")
    cluster = resources_of(scenarios, "BackendDefaults", "AWS::ECS::Cluster")
    (properties,) = [c["Properties"] for c in cluster.values()]
    assert properties["ServiceConnectDefaults"] == {"Namespace": {"Fn::GetAtt": [http, "Arn"]}}
    name = scenarios.template_json("BackendDefaults")["Resources"][http]["Properties"]["Name"]
    assert name == "backenddefaults-platform"  # <stack>-<construct id>: unique per account
    assert _connect(scenarios, "BackendDefaults", "Orders")["Namespace"] == name
    (dns,) = resources_of(
        scenarios, "BackendOptions", "AWS::ServiceDiscovery::PrivateDnsNamespace"
    ).values()
    assert dns["Properties"]["Name"] == "shop.internal"
    assert dns["Properties"]["Vpc"] == "vpc-0a1b2c3d4e5f67890"


@pytest.mark.scenarios("BackendDefaults")
def test_a_backend_publishes_its_named_port_by_name(scenarios: Synthesized) -> None:
    (published,) = _connect(scenarios, "BackendDefaults", "Orders")["Services"]
    assert published["PortName"] == "orders"
    assert published["DiscoveryName"] == "orders"
    assert published["ClientAliases"] == [{"DnsName": "orders", "Port": 8080}]
    definitions = resources_of(scenarios, "BackendDefaults", "AWS::ECS::TaskDefinition")
    (orders,) = [
        d["Properties"]["ContainerDefinitions"][0]
        for key, d in definitions.items()
        if key.startswith("OrdersTask")
    ]
    assert orders["PortMappings"] == [
        {"AppProtocol": "http", "ContainerPort": 8080, "Name": "orders", "Protocol": "tcp"}
    ]
    # The named port leaves AWS's recommended 64 MiB of the 512 MiB task to the proxy.
    assert orders["Memory"] == 512 - 64


@pytest.mark.scenarios("BackendDefaults")
def test_a_backend_runs_privately_with_no_load_balancer_and_safe_rollouts(
    scenarios: Synthesized,
) -> None:
    service = _service(scenarios, "BackendDefaults", "Orders")
    assert service.get("LoadBalancers", []) == []
    assert "HealthCheckGracePeriodSeconds" not in service
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["Subnets"] == ["subnet-0a0000000000000a1", "subnet-0a0000000000000a2"]
    deployment = service["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)
    assert service["AvailabilityZoneRebalancing"] == "ENABLED"


@pytest.mark.scenarios("BackendDefaults")
def test_proxy_logs_and_access_logs_go_to_the_encrypted_service_log_group(
    scenarios: Synthesized,
) -> None:
    template = scenarios.template_json("BackendDefaults")["Resources"]
    for path, task in (("Orders", "OrdersTask"), ("Web", "WebTask")):
        connect = _connect(scenarios, "BackendDefaults", path)
        group = logical_id(scenarios, "BackendDefaults", f"{task}/LogGroup")
        assert connect["LogConfiguration"]["LogDriver"] == "awslogs"
        options = connect["LogConfiguration"]["Options"]
        assert options["awslogs-group"] == {"Ref": group}
        assert options["awslogs-stream-prefix"] == "service-connect"
        assert options["mode"] == "non-blocking"
        assert "KmsKeyId" in template[group]["Properties"]
        assert connect["AccessLogConfiguration"] == {
            "Format": "JSON",
            "IncludeQueryParameters": "DISABLED",
        }


@pytest.mark.scenarios("BackendDefaults", "BackendOptions")
def test_timeouts_are_explicit_and_tunable(scenarios: Synthesized) -> None:
    (orders,) = _connect(scenarios, "BackendDefaults", "Orders")["Services"]
    assert orders["Timeout"] == {"IdleTimeoutSeconds": 300, "PerRequestTimeoutSeconds": 15}
    (inventory,) = _connect(scenarios, "BackendOptions", "Inventory")["Services"]
    assert inventory["Timeout"] == {"IdleTimeoutSeconds": 300, "PerRequestTimeoutSeconds": 5}
    (ledger,) = _connect(scenarios, "BackendOptions", "Ledger")["Services"]
    assert ledger["Timeout"] == {"IdleTimeoutSeconds": 3600}  # TCP: no per-request timeout
    assert ledger["ClientAliases"] == [{"DnsName": "ledger.shop", "Port": 5432}]


@pytest.mark.scenarios("BackendDefaults", "BackendOptions")
def test_only_the_clients_the_code_names_reach_a_backend(scenarios: Synthesized) -> None:
    web = logical_id(scenarios, "BackendDefaults", "Web/SecurityGroup")
    (rule,) = _ingress(scenarios, "BackendDefaults", "Orders/SecurityGroup")
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [web, "GroupId"]}
    assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (8080, 8080, "tcp")
    inventory = logical_id(scenarios, "BackendOptions", "Inventory/SecurityGroup")
    (rule,) = _ingress(scenarios, "BackendOptions", "Ledger/SecurityGroup")
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [inventory, "GroupId"]}
    # The client alias port (5432) is what clients call; the proxy listens on the container port.
    assert (rule["FromPort"], rule["ToPort"]) == (8080, 8080)
    assert _ingress(scenarios, "BackendOptions", "Inventory/SecurityGroup") == []


@pytest.mark.scenarios("BackendDefaults")
def test_the_web_service_joins_as_a_client_only(scenarios: Synthesized) -> None:
    connect = _connect(scenarios, "BackendDefaults", "Web")
    assert connect["Enabled"] is True
    assert "Services" not in connect


@pytest.mark.scenarios("BackendDefaults", "BackendOptions")
def test_deployments_roll_back_on_what_service_connect_measures(scenarios: Synthesized) -> None:
    key = logical_id(scenarios, "BackendDefaults", "Orders/RollbackAlarm")
    alarm = scenarios.template_json("BackendDefaults")["Resources"][key]["Properties"]
    metrics = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}
    # Requests are the sum of the response codes the clients' proxies count: Service Connect
    # publishes no RequestCount by TargetDiscoveryName.
    assert {m["MetricName"] for m in metrics.values()} == {
        "HTTPCode_Target_2XX_Count",
        "HTTPCode_Target_3XX_Count",
        "HTTPCode_Target_4XX_Count",
        "HTTPCode_Target_5XX_Count",
        "TargetResponseTime",
    }
    for metric in metrics.values():
        assert metric["Namespace"] == "AWS/ECS"
        assert metric["Dimensions"] == [{"Name": "TargetDiscoveryName", "Value": "orders"}]
    expressions = {m["Id"]: m["Expression"] for m in alarm["Metrics"] if "Expression" in m}
    assert "FILL(target_5xx, 0)" in expressions["requests"]  # every response code counts
    (breached,) = [e for key, e in expressions.items() if key != "requests"]
    assert "(FILL(p99, 0) > 2000)" in breached  # 2 s, in the metric's milliseconds
    assert "100 * FILL(errors, 0) / FILL(requests, 1)" in breached
    service = _service(scenarios, "BackendDefaults", "Orders")
    assert service["DeploymentConfiguration"]["Alarms"]["AlarmNames"] == [{"Ref": key}]
    # A TCP port has no request metrics: the circuit breaker alone guards its rollouts.
    ledger = _service(scenarios, "BackendOptions", "Ledger")
    assert "Alarms" not in ledger["DeploymentConfiguration"]


@pytest.mark.scenarios("BackendOptions")
def test_a_backend_scales_on_service_connect_requests_per_task(scenarios: Synthesized) -> None:
    policies = resources_of(
        scenarios, "BackendOptions", "AWS::ApplicationAutoScaling::ScalingPolicy"
    )
    (requests,) = [p for key, p in policies.items() if "Requests" in key]
    config = requests["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 600
    assert config["CustomizedMetricSpecification"] == {
        "Dimensions": [{"Name": "TargetDiscoveryName", "Value": "inventory-prod"}],
        "MetricName": "RequestCountPerTarget",
        "Namespace": "AWS/ECS",
        "Statistic": "Average",
    }


@pytest.mark.scenarios("BackendOptions")
def test_ecs_shifts_service_connect_traffic_in_a_canary(scenarios: Synthesized) -> None:
    service = _service(scenarios, "BackendOptions", "Inventory")
    assert service["DeploymentConfiguration"]["Strategy"] == "CANARY"
    assert service.get("LoadBalancers", []) == []
    types = {r["Type"] for r in scenarios.template_json("BackendOptions")["Resources"].values()}
    assert not types & {
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
    }


@pytest.mark.scenarios("BackendOptions")
def test_tls_between_services_through_private_ca(scenarios: Synthesized) -> None:
    (published,) = _connect(scenarios, "BackendOptions", "Inventory")["Services"]
    tls = published["Tls"]
    assert tls["IssuerCertificateAuthority"] == {"AwsPcaAuthorityArn": CA_ARN}
    key = logical_id(scenarios, "BackendOptions", "EcsPatternsPlus/Key")
    assert tls["KmsKey"] == {"Fn::GetAtt": [key, "Arn"]}
    role = logical_id(scenarios, "BackendOptions", "Inventory/ServiceConnectTlsRole")
    assert tls["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    resources = scenarios.template_json("BackendOptions")["Resources"]
    trust = resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "ecs.amazonaws.com"}]
    policy = logical_id(scenarios, "BackendOptions", "Inventory/ServiceConnectTlsPolicy")
    statements = resources[policy]["Properties"]["PolicyDocument"]["Statement"]
    by_service = {s["Action"][0].split(":")[0]: s["Resource"] for s in statements}
    assert by_service["acm-pca"] == CA_ARN
    assert by_service["kms"] == {"Fn::GetAtt": [key, "Arn"]}
    assert "ecs-sc!*" in str(by_service["secretsmanager"])
    assert resources[policy]["Properties"]["Roles"] == [{"Ref": role}]


# --- Mistakes refused before anything is built ---------------------------------------------


def _task(stack: cdk.Stack, construct_id: str = "Task", **kwargs: Any) -> HardenedTaskDefinition:
    repository = ecr.Repository.from_repository_name(stack, f"{construct_id}Repo", "orders")
    options: dict[str, Any] = {"container_port": 8080, "port_name": "orders", **kwargs}
    return HardenedTaskDefinition(
        stack,
        construct_id,
        image=ecs.ContainerImage.from_ecr_repository(repository, "1.0.0"),
        **options,
    )


def _refused(build: Any, *expected: str) -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    task = _task(stack)
    before = len(stack.node.find_all())
    with pytest.raises(ValidationError) as raised:
        build(stack, platform, task)
    message = str(raised.value)
    for part in expected:
        assert part in message
    assert len(stack.node.find_all()) == before  # refused before any construct exists


def test_an_unknown_port_name_is_refused() -> None:
    _refused(
        lambda s, p, t: BackendService(
            s,
            "Orders",
            cluster=p.cluster,
            task_definition=t,
            service_connect=ServiceConnectOptions(port_name="order"),
        ),
        "service_connect.port_name: names no port of the task definition (its port is named "
        "'orders'); got 'order'; pass port_name='orders'",
    )


def test_a_port_mapping_without_a_name_is_refused() -> None:
    def build(stack: cdk.Stack, platform: HardenedCluster, _: Any) -> None:
        BackendService(
            stack,
            "Orders",
            cluster=platform.cluster,
            task_definition=_task(stack, "Unnamed", port_name=None),
        )

    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    with pytest.raises(ValidationError, match="task_definition: has no named port; Service "):
        build(stack, platform, None)
    assert stack.node.try_find_child("Orders") is None


def test_a_client_of_a_service_in_another_namespace_is_refused() -> None:
    def build(stack: cdk.Stack, platform: HardenedCluster, task: HardenedTaskDefinition) -> None:
        orders = BackendService(stack, "Orders", cluster=platform.cluster, task_definition=task)
        other = HardenedCluster(stack, "Other", vpc=platform.vpc)
        BackendService(
            stack,
            "Api",
            cluster=other.cluster,
            task_definition=_task(stack, "ApiTask", port_name="api"),
            connects_to=[orders],
        )

    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    with pytest.raises(ValidationError) as raised:
        build(stack, platform, _task(stack))
    assert "Errors/Api: connects_to[0]: Errors/Orders publishes in another namespace" in str(
        raised.value
    )
    assert stack.node.try_find_child("Api") is None


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"deployment": DeploymentStrategy.code_deploy_blue_green()},
            "deployment: CodeDeploy blue/green needs a load balancer",
        ),
        (
            {"deployment": DeploymentStrategy.blue_green(test_traffic=TestTraffic(port=9000))},
            "deployment.test_traffic: is a test listener of a load balancer",
        ),
        (
            {"service_connect": ServiceConnectOptions(dns_name="Orders.Svc")},
            "service_connect.dns_name: must be lower-case letters",
        ),
        (
            {"service_connect": ServiceConnectOptions(port=70000)},
            "service_connect.port: must be between 1 and 65535",
        ),
        (
            {"service_connect": ServiceConnectOptions(idle_timeout=cdk.Duration.millis(1500))},
            "service_connect.idle_timeout: must be whole seconds",
        ),
        (
            {
                "alarm_thresholds": MonitoringThresholds(
                    latency_p99=cdk.Duration.seconds(cdk.Token.as_number({"Ref": "P99"}))
                )
            },
            "alarm_thresholds.latency_p99: is a token, and Service Connect reports",
        ),
    ],
)
def test_backend_options_aws_cannot_run_are_refused(
    arguments: dict[str, Any], expected: str
) -> None:
    _refused(
        lambda s, p, t: BackendService(
            s, "Orders", cluster=p.cluster, task_definition=t, **arguments
        ),
        expected,
    )


def test_tcp_ports_refuse_what_needs_http() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    with pytest.raises(ValidationError) as raised:
        BackendService(
            stack,
            "Ledger",
            cluster=platform.cluster,
            task_definition=_task(stack, port_name="ledger", app_protocol=None),
            service_connect=ServiceConnectOptions(per_request_timeout=cdk.Duration.seconds(5)),
            scaling=ScalingOptions(requests_per_target=100),
        )
    message = str(raised.value)
    assert "service_connect.per_request_timeout: applies to HTTP, HTTP/2 and gRPC" in message
    assert "scaling.requests_per_target: needs Service Connect's request counts" in message


def test_a_cluster_without_a_namespace_is_refused() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack), namespace=None)
    assert platform.namespace is None
    assert not resources_in(stack, "AWS::ServiceDiscovery::HttpNamespace")
    with pytest.raises(ValidationError, match="cluster: the cluster has no Cloud Map namespace"):
        BackendService(stack, "Orders", cluster=platform.cluster, task_definition=_task(stack))


def resources_in(stack: cdk.Stack, resource_type: str) -> list[Any]:
    return [
        child
        for child in stack.node.find_all()
        if isinstance(child, cdk.CfnResource) and child.cfn_resource_type == resource_type
    ]


def test_a_client_task_must_leave_memory_for_the_proxy() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    orders = BackendService(stack, "Orders", cluster=platform.cluster, task_definition=_task(stack))
    with pytest.raises(
        ValidationError, match="task_definition: its containers' hard memory limits leave 0 MiB"
    ):
        BackendService(
            stack,
            "Api",
            cluster=platform.cluster,
            task_definition=_task(stack, "ApiTask", port_name="api", memory_limit_mib=512),
            connects_to=[orders],
        )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"port_name": "Orders"}, "port_name: must be 1-64 lower-case letters"),
        ({"port_name": "-orders"}, "port_name: must be 1-64 lower-case letters"),
        ({"port_name": "orders", "container_port": None}, "port_name: names the container port"),
    ],
)
def test_port_names_follow_ecs_rules(arguments: dict[str, Any], expected: str) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=expected):
        _task(stack, **arguments)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (NamespaceOptions(name="arn:aws:x"), "namespace.name: must be 1 to 1024 printable"),
        (NamespaceOptions(name="two words"), "namespace.name: must be 1 to 1024 printable"),
        (
            NamespaceOptions(name="Shop_internal", private_dns=True),
            "namespace.name: must be a DNS name",
        ),
    ],
)
def test_namespace_names_follow_cloud_map_rules(options: NamespaceOptions, expected: str) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=expected):
        HardenedCluster(stack, "Platform", vpc=existing_vpc(stack), namespace=options)
    assert stack.node.try_find_child("Platform") is None


def test_tokens_are_accepted_for_names_and_ports() -> None:
    stack = stack_for_errors()
    name = cdk.CfnParameter(stack, "Namespace").value_as_string
    platform = HardenedCluster(
        stack, "Platform", vpc=existing_vpc(stack), namespace=NamespaceOptions(name=name)
    )
    port = cdk.CfnParameter(stack, "Port", type="Number").value_as_number
    BackendService(
        stack,
        "Orders",
        cluster=platform.cluster,
        task_definition=_task(stack),
        service_connect=ServiceConnectOptions(
            dns_name=cdk.CfnParameter(stack, "DnsName").value_as_string,
            port=port,
            idle_timeout=cdk.Duration.seconds(
                cdk.CfnParameter(stack, "Idle", type="Number").value_as_number
            ),
        ),
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (service,) = [r for r in template["Resources"].values() if r["Type"] == SERVICE]
    (published,) = service["Properties"]["ServiceConnectConfiguration"]["Services"]
    assert published["ClientAliases"] == [{"DnsName": {"Ref": "DnsName"}, "Port": {"Ref": "Port"}}]
    assert published["Timeout"]["IdleTimeoutSeconds"] == {"Ref": "Idle"}
