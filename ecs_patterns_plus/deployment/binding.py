"""What a strategy adds next to a service: the green resources, the roles ECS assumes, CodeDeploy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import compliance
from .strategy import DeploymentStrategy, LifecycleHook


@dataclass
class DeploymentResources:
    """What a traffic-shifting strategy adds next to the service.

    Attributes:
        alternate_target_group: the green target group (None for rolling).
        test_listener / test_rule: where test traffic enters (None for rolling).
        role: the role ECS uses to shift traffic (native strategies).
        deployment_group: the CodeDeploy deployment group (CodeDeploy only).
    """

    alternate_target_group: elbv2.ApplicationTargetGroup | None = None
    test_listener: elbv2.ApplicationListener | None = None
    test_rule: elbv2.ApplicationListenerRule | None = None
    role: iam.IRole | None = None
    deployment_group: codedeploy.EcsDeploymentGroup | None = None


def traffic_shift_role(scope: Construct) -> iam.Role:
    """The role ECS assumes to move listener rules between the blue and green target groups."""
    role = iam.Role(
        scope,
        "TrafficShiftRole",
        assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
        description="ECS blue/green: shift listener rules between the service's target groups",
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "AmazonECSInfrastructureRolePolicyForLoadBalancers"
            )
        ],
    )
    compliance.ECS_BLUE_GREEN_ROLE.apply(role)
    return role


def lifecycle_hook_role(scope: Construct, hook: LifecycleHook) -> iam.IRole:
    """A role ECS assumes to invoke exactly ``hook.function`` (no version wildcard)."""
    role = iam.Role(
        scope,
        f"{hook.name}HookRole",
        assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
        description=f"ECS deployment lifecycle hook {hook.name}: invoke its function",
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["lambda:InvokeFunction"], resources=[hook.function.function_arn]
        )
    )
    compliance.GRANT_DEFAULT_POLICY.apply(role)
    # CDK's hook target grants invoke on every version too; the immutable view keeps it exact.
    return role.without_policy_updates()


def code_deploy_group(
    scope: Construct,
    strategy: DeploymentStrategy,
    *,
    service: ecs.BaseService,
    blue: elbv2.ApplicationTargetGroup,
    green: elbv2.ApplicationTargetGroup,
    listener: elbv2.ApplicationListener,
    test_listener: elbv2.ApplicationListener | None,
    alarms: Sequence[cloudwatch.IAlarm],
) -> codedeploy.EcsDeploymentGroup:
    """A CodeDeploy deployment group that rolls back on failure, on stop and on alarm."""
    group = codedeploy.EcsDeploymentGroup(
        scope,
        "DeploymentGroup",
        service=service,
        deployment_config=strategy.code_deploy_config,
        blue_green_deployment_config=codedeploy.EcsBlueGreenDeploymentConfig(
            blue_target_group=blue,
            green_target_group=green,
            listener=listener,
            test_listener=test_listener,
            termination_wait_time=strategy.termination_wait,
        ),
        alarms=list(alarms),
        auto_rollback=codedeploy.AutoRollbackConfig(
            failed_deployment=True, stopped_deployment=True, deployment_in_alarm=bool(alarms)
        ),
    )
    compliance.CODEDEPLOY_SERVICE_ROLE.apply(group.role)
    return group
