"""What a strategy adds next to a service: the green resources, the roles ECS assumes, CodeDeploy.

``bind`` is the one place where a strategy meets a service and its traffic: it registers the
tasks, routes production (and test) traffic, and adds what the strategy needs beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import compliance
from .strategy import DeploymentStrategy, LifecycleHook, TestTraffic

if TYPE_CHECKING:
    from ..load_balancer import ListenerRouting, SecureLoadBalancer


@dataclass
class DeploymentResources:
    """What a traffic-shifting strategy adds next to the service.

    Attributes:
        alternate_target_group: the green target group (None for rolling).
        test_listener / test_rule: where test traffic enters (None for rolling).
        role: the role ECS uses to shift traffic (native strategies).
        deployment_group: the CodeDeploy deployment group (CodeDeploy only).
        production_rule: the listener rule of production traffic (None for CodeDeploy, which
            owns the listener, and without a load balancer).
        alternate_rollback_alarms: the green target group's rollback alarms.
        alarms: every alarm a deployment rolls back on, in order: the service's rollback
            alarms, the green target group's, then the caller's own.
    """

    alternate_target_group: elbv2.ApplicationTargetGroup | None = None
    test_listener: elbv2.ApplicationListener | None = None
    test_rule: elbv2.ApplicationListenerRule | None = None
    role: iam.IRole | None = None
    deployment_group: codedeploy.EcsDeploymentGroup | None = None
    production_rule: elbv2.ApplicationListenerRule | None = None
    alternate_rollback_alarms: list[cloudwatch.IAlarm] = field(default_factory=list)
    alarms: list[cloudwatch.IAlarm] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class AlbTraffic:
    """How production traffic reaches a service through a ``SecureLoadBalancer``.

    Attributes:
        load_balancer: the load balancer.
        target_group: the service's (blue) target group.
        routing: which requests of the shared listener are the service's.
        route_id: prefix of the listener rules' construct ids (``<route_id>Route``).
        route_scope: where the rules are created; None puts them on the load balancer (its
            ids are kept for services in the load balancer's stack).
        container_name / container_port: the container the target group forwards to.
        alternate_target_group: the green target group of a traffic-shifting strategy,
            built by the front door like the blue one. Default: none (rolling).
        alternate_rollback_alarms: the green target group's rollback alarms. Default: none.
    """

    load_balancer: SecureLoadBalancer
    target_group: elbv2.ApplicationTargetGroup
    routing: ListenerRouting
    route_id: str
    route_scope: Construct | None
    container_name: str
    container_port: int
    alternate_target_group: elbv2.ApplicationTargetGroup | None = None
    alternate_rollback_alarms: Sequence[cloudwatch.IAlarm] = ()


def bind(
    strategy: DeploymentStrategy,
    scope: Construct,
    service: ecs.BaseService,
    traffic: AlbTraffic | None,
    *,
    rollback_alarms: Sequence[cloudwatch.IAlarm] = (),
    deployment_alarms: Sequence[cloudwatch.IAlarm] = (),
) -> DeploymentResources:
    """Wire ``strategy`` to ``service`` and its ``traffic``; return what it created.

    ``rollback_alarms`` are the service's (both target groups'), ``deployment_alarms`` the
    caller's own: CodeDeploy rolls back on them; ECS strategies get them on the service.

    Rolling registers the tasks in the target group behind one listener rule. Blue/green,
    canary and linear shift traffic to the green target group the front door built (with
    its rollback alarms) and add a test listener and test rule, the traffic-shift role and
    the lifecycle hooks. CodeDeploy makes the service's target group the listeners' default
    action and adds the deployment group. Without traffic (no load balancer), only rolling
    applies: nothing is added.
    """
    resources = DeploymentResources()
    resources.alarms = [*rollback_alarms, *deployment_alarms]
    if traffic is None:  # Service Connect (ECS shifts it, no role) or no traffic at all
        _add_lifecycle_hooks(scope, service, strategy)
        return resources
    lb, blue = traffic.load_balancer, traffic.target_group
    resources.alternate_target_group = traffic.alternate_target_group
    resources.alternate_rollback_alarms = list(traffic.alternate_rollback_alarms)

    def target(**options: Any) -> ecs.IEcsLoadBalancerTarget:
        return service.load_balancer_target(
            container_name=traffic.container_name,
            container_port=traffic.container_port,
            **options,
        )

    test = strategy.test_traffic or (TestTraffic() if strategy.shifts_traffic else None)
    if test is not None:
        resources.test_listener = lb.add_test_listener(
            "TestListener", port=test.port, sources=test.sources
        )
    if strategy.uses_code_deploy:
        # CodeDeploy swaps the listeners' default actions between blue and green: the
        # service owns both listeners instead of adding routes.
        blue.add_target(target())
        for listener in (lb.listener, resources.test_listener):
            if listener is not None:
                lb.forward_by_default(listener, blue)
        service.node.add_dependency(lb.listener)
        resources.deployment_group = code_deploy_group(
            scope,
            strategy,
            service=service,
            blue=blue,
            green=resources.alternate_target_group,  # type: ignore[arg-type]
            listener=lb.listener,
            test_listener=resources.test_listener,
            alarms=resources.alarms,
        )
        return resources

    def route(suffix: str, listener: elbv2.ApplicationListener | None = None) -> Any:
        return lb.add_route(
            f"{traffic.route_id}{suffix}",
            target_group=blue,
            routing=traffic.routing,
            listener=listener,
            scope=traffic.route_scope,
        )

    rule = resources.production_rule = route("Route")
    if not strategy.shifts_traffic:
        blue.add_target(target())
        # The service must not start before its target group is on a listener.
        service.node.add_dependency(rule)
        return resources
    test_rule = resources.test_rule = route("TestRoute", resources.test_listener)
    resources.role = traffic_shift_role(scope)
    target(
        alternate_target=ecs.AlternateTarget(
            "AlternateTarget",
            alternate_target_group=resources.alternate_target_group,  # type: ignore[arg-type]
            production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(rule),
            test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(test_rule),
            role=resources.role,
        )
    ).attach_to_application_target_group(blue)
    drop_referenced_dependencies(service, rule, test_rule)
    _add_lifecycle_hooks(scope, service, strategy)
    return resources


def _add_lifecycle_hooks(
    scope: Construct, service: ecs.BaseService, strategy: DeploymentStrategy
) -> None:
    for hook in strategy.lifecycle_hooks:
        service.add_lifecycle_hook(
            ecs.DeploymentLifecycleLambdaTarget(
                hook.function,
                hook.name,
                lifecycle_stages=list(hook.stages),
                role=lifecycle_hook_role(scope, hook),
            )
        )


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


@jsii.implements(cdk.IResolvable)
class _DependsOnWithout:
    """Renders a resource's DependsOn without the resources it already references."""

    def __init__(self, resource: cdk.CfnResource, referenced: Sequence[cdk.CfnResource]) -> None:
        self._resource = resource
        self._referenced = referenced

    @property
    def creation_stack(self) -> list[str]:
        return []

    def to_string(self) -> str:
        return "DependsOn"

    def resolve(self, context: cdk.IResolveContext) -> Any:
        stack = cdk.Stack.of(self._resource)

        def logical_id(resource: cdk.CfnElement) -> str:
            return str(stack.resolve(stack.get_logical_id(resource)))

        referenced = {logical_id(item) for item in self._referenced}
        ids = sorted(
            {
                logical_id(item)
                for item in self._resource.obtain_dependencies()
                if isinstance(item, cdk.CfnElement)
            }
            - referenced
        )
        return ids or None


def drop_referenced_dependencies(service: ecs.BaseService, *rules: Construct) -> None:
    """Native blue/green: CDK adds DependsOn for the listener rules (or NLB listeners) the
    service already references in its AdvancedConfiguration (cfn-lint W3005); keep the other
    dependencies."""
    resource = service.node.default_child
    assert isinstance(resource, cdk.CfnResource)
    referenced = [rule.node.default_child for rule in rules]
    resource.add_override("DependsOn", _DependsOnWithout(resource, referenced))  # type: ignore[arg-type]
