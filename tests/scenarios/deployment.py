"""Scenarios for the deployment strategies of AlbFargateService."""

import aws_cdk as cdk
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

from ecs_patterns_plus import (
    AlbFargateService,
    DeploymentStrategy,
    LifecycleHook,
    TestTraffic,
)

from . import scenario
from .service import _internal_load_balancer, _platform, _task

SMOKE_TEST_ARN = "arn:aws:lambda:ap-northeast-2:111122223333:function:smoke-test"


def _service(stack: cdk.Stack, deployment: DeploymentStrategy) -> AlbFargateService:
    vpc, platform = _platform(stack)
    load_balancer = _internal_load_balancer(stack, vpc)
    return AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=_task(stack),
        load_balancer=load_balancer,
        deployment=deployment,
    )


@scenario("DeployBlueGreen")
def deploy_blue_green(stack: cdk.Stack) -> None:
    smoke_test = lambda_.Function.from_function_attributes(
        stack, "SmokeTest", function_arn=SMOKE_TEST_ARN, same_environment=True
    )
    _service(
        stack,
        DeploymentStrategy.blue_green(
            bake_time=cdk.Duration.minutes(15),
            lifecycle_hooks=[LifecycleHook(name="SmokeTest", function=smoke_test)],
        ),
    )


@scenario("DeployCanary")
def deploy_canary(stack: cdk.Stack) -> None:
    _service(
        stack,
        DeploymentStrategy.canary(
            percent=10,
            step_bake_time=cdk.Duration.minutes(5),
            test_traffic=TestTraffic(port=8443, sources=[ec2.Peer.ipv4("10.0.0.0/16")]),
        ),
    )


@scenario("DeployLinear")
def deploy_linear(stack: cdk.Stack) -> None:
    _service(
        stack,
        DeploymentStrategy.linear(step_percent=20, step_bake_time=cdk.Duration.minutes(3)),
    )


@scenario("DeployCodeDeploy")
def deploy_code_deploy(stack: cdk.Stack) -> None:
    _service(
        stack,
        DeploymentStrategy.code_deploy_blue_green(
            config=codedeploy.EcsDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTES
        ),
    )


@scenario("DeployRollingInPlace")
def deploy_rolling_in_place(stack: cdk.Stack) -> None:
    _service(stack, DeploymentStrategy.rolling(min_healthy_percent=50, max_healthy_percent=100))
