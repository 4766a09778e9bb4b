"""Intent tests: the deployment strategies of AlbFargateService, by name."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

from ecs_patterns_plus import (
    DeploymentStrategy,
    LifecycleHook,
    ListenerRouting,
    TestTraffic,
    ValidationError,
)
from tests.synth import Synthesized
from tests.test_alb_service import _service
from tests.util import logical_id, resources_of

SERVICE = "AWS::ECS::Service"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
ALARM = "AWS::CloudWatch::Alarm"


def _service_props(synth: Synthesized, stack: str) -> dict[str, Any]:
    (service,) = resources_of(synth, stack, SERVICE).values()
    return service["Properties"]


def _alarm_names(synth: Synthesized, stack: str) -> list[str]:
    return [
        ref["Ref"]
        for ref in _service_props(synth, stack)["DeploymentConfiguration"]["Alarms"]["AlarmNames"]
    ]


@pytest.mark.scenarios("ServiceDefaults")
def test_rolling_rolls_back_on_circuit_breaker_and_golden_signal_alarms(
    scenarios: Synthesized,
) -> None:
    config = _service_props(scenarios, "ServiceDefaults")["DeploymentConfiguration"]
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert config["Alarms"]["Enable"] is True
    assert config["Alarms"]["Rollback"] is True
    alarms = resources_of(scenarios, "ServiceDefaults", ALARM)
    (name,) = _alarm_names(scenarios, "ServiceDefaults")
    assert name.startswith("WebRollbackAlarm")
    alarm = alarms[name]["Properties"]
    assert alarm["AlarmActions"], f"{name} has no action"
    # One alarm per target group on all three golden signals: any breach rolls back.
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if m.get("ReturnData", True)]
    assert expression == (
        "(IF(FILL(requests, 0) >= 10 AND FILL(requests, 0) > 0, 100 * FILL(errors, 0) / "
        "FILL(requests, 1), 0) >= 5) OR (FILL(p99, 0) > 2) OR (FILL(unhealthy, 0) >= 1)"
    )
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert {key: (s["Metric"]["MetricName"], s["Stat"]) for key, s in stats.items()} == {
        "errors": ("HTTPCode_Target_5XX_Count", "Sum"),
        "requests": ("RequestCount", "Sum"),
        "p99": ("TargetResponseTime", "p99"),
        "unhealthy": ("UnHealthyHostCount", "Maximum"),
    }
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (5, 3)
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.scenarios("DeployRollingInPlace")
def test_rolling_in_place_bounds(scenarios: Synthesized) -> None:
    config = _service_props(scenarios, "DeployRollingInPlace")["DeploymentConfiguration"]
    assert (config["MinimumHealthyPercent"], config["MaximumPercent"]) == (50, 100)
    # AZ rebalancing needs headroom above 100 %: off for an in-place rollout.
    assert "AvailabilityZoneRebalancing" not in _service_props(scenarios, "DeployRollingInPlace")


@pytest.mark.parametrize(
    ("stack", "strategy", "extra"),
    [
        ("DeployBlueGreen", "BLUE_GREEN", {"BakeTimeInMinutes": 15}),
        (
            "DeployCanary",
            "CANARY",
            {
                "BakeTimeInMinutes": 10,
                "CanaryConfiguration": {"CanaryBakeTimeInMinutes": 5, "CanaryPercent": 10},
            },
        ),
        (
            "DeployLinear",
            "LINEAR",
            {
                "BakeTimeInMinutes": 10,
                "LinearConfiguration": {"StepBakeTimeInMinutes": 3, "StepPercent": 20},
            },
        ),
    ],
)
@pytest.mark.scenarios(param="stack")
def test_native_strategies(scenarios: Synthesized, stack: str, strategy: str, extra: dict) -> None:
    config = _service_props(scenarios, stack)["DeploymentConfiguration"]
    assert config["Strategy"] == strategy
    for key, value in extra.items():
        assert config[key] == value
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


@pytest.mark.parametrize("stack", ["DeployBlueGreen", "DeployCanary", "DeployLinear"])
@pytest.mark.scenarios(param="stack")
def test_native_strategies_shift_between_two_target_groups_with_production_and_test_rules(
    scenarios: Synthesized, stack: str
) -> None:
    (balancer,) = _service_props(scenarios, stack)["LoadBalancers"]
    advanced = balancer["AdvancedConfiguration"]
    assert balancer["TargetGroupArn"] == {"Ref": logical_id(scenarios, stack, "Web/TargetGroup")}
    assert advanced["AlternateTargetGroupArn"] == {
        "Ref": logical_id(scenarios, stack, "Web/AlternateTargetGroup")
    }
    assert advanced["ProductionListenerRule"] == {
        "Ref": logical_id(scenarios, stack, "LoadBalancer/WebRoute")
    }
    assert advanced["TestListenerRule"] == {
        "Ref": logical_id(scenarios, stack, "LoadBalancer/WebTestRoute")
    }
    assert advanced["RoleArn"] == {
        "Fn::GetAtt": [logical_id(scenarios, stack, "Web/TrafficShiftRole"), "Arn"]
    }
    # No DependsOn on what the service already references (cfn-lint W3005).
    (service,) = resources_of(scenarios, stack, SERVICE).values()
    assert all("Route" not in dependency for dependency in service.get("DependsOn", []))


@pytest.mark.parametrize(
    "stack", ["DeployBlueGreen", "DeployCanary", "DeployLinear", "DeployCodeDeploy"]
)
@pytest.mark.scenarios(param="stack")
def test_rollback_alarms_watch_both_target_groups(scenarios: Synthesized, stack: str) -> None:
    alarms = resources_of(scenarios, stack, ALARM)
    groups = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in alarms.values()
        for metric in alarm["Properties"].get("Metrics", [])
        for dimension in metric.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
        if dimension["Name"] == "TargetGroup"
    } | {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in alarms.values()
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "TargetGroup"
    }
    assert groups == {
        logical_id(scenarios, stack, "Web/TargetGroup"),
        logical_id(scenarios, stack, "Web/AlternateTargetGroup"),
    }


@pytest.mark.scenarios("DeployCanary")
def test_test_listener_is_https_and_open_only_to_named_sources(scenarios: Synthesized) -> None:
    listeners = [
        listener["Properties"]
        for listener in resources_of(scenarios, "DeployCanary", LISTENER).values()
        if listener["Properties"]["Port"] == 8443
    ]
    assert len(listeners) == 1
    assert listeners[0]["Protocol"] == "HTTPS"
    assert listeners[0]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    group = scenarios.template_json("DeployCanary")["Resources"][
        logical_id(scenarios, "DeployCanary", "LoadBalancer/SecurityGroup")
    ]["Properties"]
    test_rules = [
        rule for rule in group.get("SecurityGroupIngress", []) if rule["FromPort"] == 8443
    ]
    assert [(rule["CidrIp"], rule["ToPort"]) for rule in test_rules] == [("10.0.0.0/16", 8443)]


@pytest.mark.scenarios("DeployBlueGreen")
def test_default_test_listener_admits_nobody(scenarios: Synthesized) -> None:
    group = scenarios.template_json("DeployBlueGreen")["Resources"][
        logical_id(scenarios, "DeployBlueGreen", "LoadBalancer/SecurityGroup")
    ]["Properties"]
    assert [
        rule for rule in group.get("SecurityGroupIngress", []) if rule["FromPort"] == 9443
    ] == []


@pytest.mark.scenarios("DeployCanary")
def test_traffic_shift_role_is_for_ecs(scenarios: Synthesized) -> None:
    role = scenarios.template_json("DeployCanary")["Resources"][
        logical_id(scenarios, "DeployCanary", "Web/TrafficShiftRole")
    ]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs.amazonaws.com"
    }


@pytest.mark.scenarios("DeployBlueGreen")
def test_lifecycle_hook_invokes_exactly_its_function(scenarios: Synthesized) -> None:
    hooks = _service_props(scenarios, "DeployBlueGreen")["DeploymentConfiguration"][
        "LifecycleHooks"
    ]
    assert len(hooks) == 1
    assert (
        hooks[0]["HookTargetArn"]
        == "arn:aws:lambda:ap-northeast-2:111122223333:function:smoke-test"
    )
    assert hooks[0]["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    policies = resources_of(scenarios, "DeployBlueGreen", "AWS::IAM::Policy")
    statements = [
        statement
        for policy in policies.values()
        if "SmokeTestHookRole" in str(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": "arn:aws:lambda:ap-northeast-2:111122223333:function:smoke-test",
        }
    ]


@pytest.mark.scenarios("DeployCodeDeploy")
def test_code_deploy_owns_the_listeners_and_rolls_back_on_failure_stop_and_alarm(
    scenarios: Synthesized,
) -> None:
    stack = "DeployCodeDeploy"
    service = _service_props(scenarios, stack)
    assert service["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    assert "DeploymentCircuitBreaker" not in service.get("DeploymentConfiguration", {})
    (group,) = resources_of(scenarios, stack, "AWS::CodeDeploy::DeploymentGroup").values()
    props = group["Properties"]
    assert props["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    assert props["DeploymentConfigName"] == "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
    # The rollback alarms of both target groups (one each).
    assert sorted(a["Name"]["Ref"][:-8] for a in props["AlarmConfiguration"]["Alarms"]) == [
        "WebAlternateRollbackAlarm",
        "WebRollbackAlarm",
    ]
    blue = logical_id(scenarios, stack, "Web/TargetGroup")
    listeners = resources_of(scenarios, stack, LISTENER).values()
    assert sorted(
        (
            listener["Properties"]["Port"],
            listener["Properties"]["DefaultActions"][0]["TargetGroupArn"]["Ref"],
        )
        for listener in listeners
    ) == [(443, blue), (9443, blue)]
    assert resources_of(scenarios, stack, RULE) == {}


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployment", "message"),
    [
        (DeploymentStrategy.canary(percent=0), r"deployment.percent: must be between 0.1 and 100"),
        (
            DeploymentStrategy.canary(percent=12.34),
            r"deployment.percent: must be a multiple of 0.1",
        ),
        (
            DeploymentStrategy.linear(step_percent=2),
            r"deployment.step_percent: must be between 3 and 100",
        ),
        (
            DeploymentStrategy.blue_green(bake_time=Duration.minutes(1441)),
            r"deployment.bake_time: must be between 0 and 1440 minutes",
        ),
        (
            # 34 steps of 3 %: 33 waits of 60 minutes, then the 10-minute bake
            DeploymentStrategy.linear(step_percent=3, step_bake_time=Duration.minutes(60)),
            r"deployment: shifts and bakes for 1990 minutes in all",
        ),
        (
            DeploymentStrategy.canary(test_traffic=TestTraffic(port=443)),
            r"deployment.test_traffic.port: is a production port",
        ),
        (
            DeploymentStrategy.canary(test_traffic=TestTraffic(sources=[ec2.Peer.any_ipv4()])),
            r"deployment.test_traffic.sources: the test listener must never be open to the internet",
        ),
        (
            DeploymentStrategy.code_deploy_blue_green(termination_wait=Duration.days(3)),
            r"deployment.termination_wait: must be between 0 and 2880 minutes",
        ),
    ],
)
def test_strategy_limits(deployment: DeploymentStrategy, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _service(deployment=deployment)


def test_code_deploy_needs_the_whole_listener() -> None:
    with pytest.raises(
        ValidationError, match=r"deployment: CodeDeploy shifts the listener's default action"
    ):
        _service(
            deployment=DeploymentStrategy.code_deploy_blue_green(),
            routing=ListenerRouting(priority=10, path_patterns=["/api/*"]),
        )


def test_lifecycle_hooks_are_named_and_staged() -> None:
    import aws_cdk as cdk

    stack = cdk.Stack(cdk.App(), "Hooks")
    function = lambda_.Function.from_function_attributes(
        stack,
        "Fn",
        function_arn="arn:aws:lambda:ap-northeast-2:111122223333:function:f",
        same_environment=True,
    )
    deployment = DeploymentStrategy.blue_green(
        lifecycle_hooks=[
            LifecycleHook(name="smoke", function=function),
            LifecycleHook(name="Empty", function=function, stages=[]),
        ]
    )
    with pytest.raises(ValidationError) as error:
        _service(deployment=deployment)
    assert "deployment.lifecycle_hooks name: must be unique and PascalCase; got 'smoke'" in str(
        error.value
    )
    assert "deployment.lifecycle_hooks[Empty].stages: names no stage" in str(error.value)
