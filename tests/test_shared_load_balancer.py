"""Intent and bad-input tests: services on an ImportedLoadBalancer (another team's ALB)."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import (
    AlbFargateService,
    DeploymentStrategy,
    HardenedCluster,
    HardenedTaskDefinition,
    ImportedLoadBalancer,
    ListenerRouting,
    TestTraffic,
    ValidationError,
)
from tests.scenarios.common import existing_vpc
from tests.scenarios.load_balancer import (
    SHARED_LISTENER_ARN,
    SHARED_LOAD_BALANCER_ARN,
    SHARED_SECURITY_GROUP_ID,
    SHARED_TEST_LISTENER_ARN,
)
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

STACK = "LoadBalancerImported"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
_IMAGE = "public.ecr.aws/nginx/nginx@sha256:" + "0" * 64


@pytest.mark.scenarios(STACK)
def test_routes_are_rules_on_the_imported_listeners(scenarios: Synthesized) -> None:
    rules = sorted(
        (rule["Properties"]["ListenerArn"], rule["Properties"]["Priority"])
        for rule in resources_of(scenarios, STACK, RULE).values()
    )
    assert rules == [
        (SHARED_TEST_LISTENER_ARN, 320),  # the canary's test route, on the owner's test listener
        (SHARED_LISTENER_ARN, 310),
        (SHARED_LISTENER_ARN, 320),
    ]


@pytest.mark.scenarios(STACK)
def test_nothing_is_created_for_the_load_balancer_nor_written_on_its_group(
    scenarios: Synthesized,
) -> None:
    types = {resource["Type"] for resource in scenarios.template_json(STACK)["Resources"].values()}
    owned = {
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::ListenerCertificate",
        "AWS::CertificateManager::Certificate",
        "AWS::WAFv2::WebACL",
        "AWS::WAFv2::WebACLAssociation",
        "AWS::S3::Bucket",
        "AWS::Route53::RecordSet",
        "AWS::EC2::SecurityGroupEgress",
    }
    assert not types & owned
    ingress = resources_of(scenarios, STACK, "AWS::EC2::SecurityGroupIngress").values()
    assert all(rule["Properties"]["GroupId"] != SHARED_SECURITY_GROUP_ID for rule in ingress)


@pytest.mark.scenarios(STACK)
def test_each_service_admits_only_the_imported_group_on_its_container_port(
    scenarios: Synthesized,
) -> None:
    groups = {
        name: logical_id(scenarios, STACK, f"{name}/SecurityGroup")
        for name in ("Orders", "Payments")
    }
    template = scenarios.template_json(STACK)["Resources"]
    ingress = resources_of(scenarios, STACK, "AWS::EC2::SecurityGroupIngress").values()
    for group in groups.values():
        assert "SecurityGroupIngress" not in template[group]["Properties"]
        rules = [
            rule["Properties"]
            for rule in ingress
            if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
        ]
        assert [
            (rule["SourceSecurityGroupId"], rule["FromPort"], rule["ToPort"]) for rule in rules
        ] == [(SHARED_SECURITY_GROUP_ID, 8080, 8080)]


@pytest.mark.scenarios(STACK)
def test_rollback_alarms_watch_the_imported_load_balancer_by_its_arn(
    scenarios: Synthesized,
) -> None:
    alarms = resources_of(scenarios, STACK, "AWS::CloudWatch::Alarm").values()
    dimensions = [
        dimension["Value"]
        for alarm in alarms
        for query in alarm["Properties"]["Metrics"]
        if "MetricStat" in query
        for dimension in query["MetricStat"]["Metric"]["Dimensions"]
        if dimension["Name"] == "LoadBalancer"
    ]
    assert len(alarms) == 3  # Orders; Payments' blue and green target groups
    assert dimensions and set(dimensions) == {"app/shared-web/50dc6c495c0c9188"}


@pytest.mark.scenarios(STACK)
def test_scaling_on_requests_counts_them_on_the_imported_load_balancer(
    scenarios: Synthesized,
) -> None:
    policies = resources_of(scenarios, STACK, "AWS::ApplicationAutoScaling::ScalingPolicy")
    (label,) = [
        spec["ResourceLabel"]
        for policy in policies.values()
        for spec in [
            policy["Properties"]["TargetTrackingScalingPolicyConfiguration"].get(
                "PredefinedMetricSpecification", {}
            )
        ]
        if spec.get("PredefinedMetricType") == "ALBRequestCountPerTarget"
    ]
    assert label["Fn::Join"][1][0] == "app/shared-web/50dc6c495c0c9188/"


# --- Bad input ---------------------------------------------------------------------------------


def _import(stack: cdk.Stack, **kwargs: Any) -> ImportedLoadBalancer:
    arguments: dict[str, Any] = {
        "load_balancer_arn": SHARED_LOAD_BALANCER_ARN,
        "listener_arn": SHARED_LISTENER_ARN,
        "security_group_id": SHARED_SECURITY_GROUP_ID,
        "vpc": stack.node.try_find_child("Network") or existing_vpc(stack),
        "url": "https://shared.example.com",
        **kwargs,
    }
    return ImportedLoadBalancer(stack, f"Shared{next(_ids)}", **arguments)


@functools.cache
def _platform(test_listener: bool) -> tuple[cdk.Stack, HardenedCluster, ImportedLoadBalancer]:
    """One stack per kind of import for every refused service: a refused one adds nothing."""
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    extra = {"test_listener_arn": SHARED_TEST_LISTENER_ARN} if test_listener else {}
    return stack, platform, _import(stack, **extra)


_ids = itertools.count()


def _web(
    stack: cdk.Stack, cluster: ecs.ICluster, shared: ImportedLoadBalancer, **kwargs: Any
) -> AlbFargateService:
    """A service on ``shared`` (a new task definition and service id each time)."""
    index = next(_ids)
    return AlbFargateService(
        stack,
        kwargs.pop("construct_id", f"Web{index}"),
        cluster=cluster,
        task_definition=HardenedTaskDefinition(
            stack,
            f"Task{index}",
            image=ecs.ContainerImage.from_registry(_IMAGE),
            container_port=8080,
        ),
        load_balancer=shared,
        **kwargs,
    )


def _service(*, test_listener: bool = False, **kwargs: Any) -> AlbFargateService:
    stack, platform, shared = _platform(test_listener)
    return _web(stack, platform.cluster, shared, **kwargs)


_ROUTE = ListenerRouting(priority=10, path_patterns=["/orders/*"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {},
            r"routing: is required on an imported load balancer, with paths or hosts: .*; got None",
        ),
        (
            {"routing": ListenerRouting(priority=20, path_patterns=["/*"])},
            r"routing: is required .*; got \['/\*'\]; pass routing=ListenerRouting\(priority=",
        ),
        (
            {"deployment": DeploymentStrategy.code_deploy_blue_green()},
            r"deployment: CodeDeploy swaps the listener's default action, and the imported "
            r"listener .* are the load balancer owner's; got 'code_deploy_blue_green'",
        ),
        (
            {"routing": _ROUTE, "deployment": DeploymentStrategy.canary()},
            r"deployment: shifts traffic .* the imported load balancer has none .*; got 'canary'; "
            r"ask the owner for an HTTPS test listener and pass its ARN as test_listener_arn",
        ),
        (
            {
                "test_listener": True,
                "routing": _ROUTE,
                "deployment": DeploymentStrategy.blue_green(test_traffic=TestTraffic(port=8443)),
            },
            r"deployment.test_traffic: sets up a test listener the library creates",
        ),
    ],
)
def test_service_on_an_imported_load_balancer_refuses(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        _service(**kwargs)
    stack = _platform(kwargs.get("test_listener", False))[0]
    assert stack.node.try_find_child(raised.value.path.rsplit("/", 1)[1]) is None


def test_routes_by_host_rolling_and_traffic_shifting_through_the_test_listener_work() -> None:
    _service(routing=ListenerRouting(priority=30, host_headers=["orders.example.com"]))
    service = _service(
        test_listener=True,
        routing=ListenerRouting(priority=40, path_patterns=["/pay/*"]),
        deployment=DeploymentStrategy.linear(),
    )
    assert service.url == "https://shared.example.com/pay/"
    resources = service.deployment_resources
    assert resources.test_listener is service.load_balancer.test_listener  # type: ignore[attr-defined]


def test_priorities_of_this_apps_routes_still_must_not_clash() -> None:
    _service(routing=ListenerRouting(priority=50, path_patterns=["/a/*"]))
    with pytest.raises(ValidationError, match=r"routing.priority: is already used"):
        _service(routing=ListenerRouting(priority=50, path_patterns=["/b/*"]))


_OTHER_LISTENER = SHARED_LISTENER_ARN.replace("shared-web", "other-web")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"load_balancer_arn": SHARED_LISTENER_ARN},
            r"load_balancer_arn: is not the ARN of an Application Load Balancer; got .*; pass its "
            r"ARN from the load balancer's owner, '.*:loadbalancer/app/<name>/<id>'",
        ),
        (
            {"load_balancer_arn": SHARED_LOAD_BALANCER_ARN.replace("/app/", "/net/")},
            r"load_balancer_arn: is not the ARN of an Application Load Balancer",
        ),
        (
            {"listener_arn": SHARED_LOAD_BALANCER_ARN},
            r"listener_arn: is not the ARN of an Application Load Balancer listener; got .*; "
            r"pass its ARN .*'.*:listener/app/<name>/<id>/<listener id>'",
        ),
        (
            {"listener_arn": _OTHER_LISTENER},
            r"listener_arn: is a listener of another load balancer \(app/other-web/",
        ),
        (
            {"test_listener_arn": SHARED_LISTENER_ARN},
            r"test_listener_arn: is listener_arn: the test route needs a listener of its own",
        ),
        (
            {
                "load_balancer_arn": SHARED_LOAD_BALANCER_ARN.replace(
                    "ap-northeast-2", "eu-west-1"
                ),
                "listener_arn": SHARED_LISTENER_ARN.replace("ap-northeast-2", "eu-west-1"),
            },
            r"load_balancer_arn: is in region eu-west-1, and this stack deploys to ap-northeast-2",
        ),
        ({"security_group_id": "sg-xyz"}, r"security_group_id: is not a security group id"),
        ({"url": "http://shared.example.com"}, r"url: must be the https:// address"),
        ({"listener_arn": None}, r"listener_arn: expected a str; got None"),
    ],
)
def test_import_refuses_bad_arns_and_ids_with_the_fix(kwargs: dict[str, Any], message: str) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=message):
        _import(stack, **kwargs)
    assert not [child for child in stack.node.children if child.node.id.startswith("Shared")]


def test_tokens_are_accepted() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", vpc=existing_vpc(stack))
    shared = _import(
        stack,
        load_balancer_arn=cdk.CfnParameter(stack, "SharedArn").value_as_string,
        listener_arn=cdk.Fn.import_value("shared-web-https-listener"),
        test_listener_arn=cdk.Fn.import_value("shared-web-test-listener"),
        security_group_id=cdk.Fn.import_value("shared-web-security-group"),
        url=cdk.Fn.join("", ["https://", cdk.Fn.import_value("shared-web-dns-name")]),
    )
    _web(
        stack,
        platform.cluster,
        shared,
        routing=ListenerRouting(priority=10, path_patterns=["/web/*"]),
        deployment=DeploymentStrategy.canary(),
    )
    assert stack.resolve(shared.listener.listener_arn) == {
        "Fn::ImportValue": "shared-web-https-listener"
    }


def test_the_import_belongs_in_the_stack_of_the_services_that_route_on_it() -> None:
    """The fleet pattern: the cluster in a platform stack, services in their own stacks, each
    importing the shared load balancer (an import in the platform stack would put the services'
    ingress rules there: a dependency cycle, refused before the service exists)."""
    from tests.synth import new_app

    app = new_app(validation=False)
    env = cdk.Environment(region="ap-northeast-2")
    platform_stack = cdk.Stack(app, "Platform", env=env)
    platform = HardenedCluster(platform_stack, "Platform", vpc=existing_vpc(platform_stack))
    services = cdk.Stack(app, "Services", env=env)

    def service(shared: ImportedLoadBalancer) -> None:
        routing = ListenerRouting(priority=10, path_patterns=["/web/*"])
        _web(services, platform.cluster, shared, construct_id="Web", routing=routing)

    with pytest.raises(
        ValidationError,
        match=r"Services/Web: load_balancer: is imported in stack Platform, and the service is "
        r"in Services: .* a dependency cycle; got 'Platform/Shared\d+'; import the load balancer "
        r"in the service's stack",
    ):
        service(_import(platform_stack))
    service(_import(services, vpc=platform.cluster.vpc))
    templates = {stack.stack_name: stack.template for stack in app.synth().stacks}
    kinds = {
        name: [resource["Type"] for resource in template["Resources"].values()]
        for name, template in templates.items()
    }
    assert kinds["Services"].count(RULE) == 1
    assert kinds["Services"].count("AWS::EC2::SecurityGroupIngress") == 1
    assert RULE not in kinds["Platform"]
