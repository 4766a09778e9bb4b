"""Intent tests: authentication on a route of a SecureLoadBalancer, by guarantee; bad input."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_patterns_plus import (
    ListenerRouting,
    RouteAuthentication,
    SecureLoadBalancer,
    ValidationError,
    defaults,
)
from tests.scenarios.common import certificate, existing_vpc
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

SCENARIO = "LoadBalancerAuthentication"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"


def _rule(synth: Synthesized, name: str) -> dict[str, Any]:
    key = logical_id(synth, SCENARIO, f"LoadBalancer/{name}")
    return resources_of(synth, SCENARIO, RULE)[key]["Properties"]


def _ref(synth: Synthesized, path: str) -> dict[str, str]:
    return {"Ref": logical_id(synth, SCENARIO, path)}


def _config(synth: Synthesized, name: str) -> dict[str, Any]:
    (config,) = [
        value
        for action in _rule(synth, name)["Actions"]
        for key, value in action.items()
        if key.startswith("Authenticate")
    ]
    return config


# --- Guarantees of the LoadBalancerAuthentication scenario ------------------------------------


@pytest.mark.scenarios(SCENARIO)
def test_authenticated_route_signs_in_then_forwards(scenarios: Synthesized) -> None:
    for name, kind, target in (
        ("PortalRoute", "authenticate-oidc", "Portal/TargetGroup"),
        ("ApiRoute", "authenticate-cognito", "Api/TargetGroup"),
    ):
        actions = _rule(scenarios, name)["Actions"]
        assert [(action["Order"], action["Type"]) for action in actions] == [
            (1, kind),
            (2, "forward"),
        ]
        assert actions[1]["TargetGroupArn"] == _ref(scenarios, target)


@pytest.mark.scenarios(SCENARIO)
def test_session_lasts_an_hour_unless_asked_and_apis_get_401(scenarios: Synthesized) -> None:
    portal, api = _config(scenarios, "PortalRoute"), _config(scenarios, "ApiRoute")
    assert defaults.AUTHENTICATION_SESSION_TIMEOUT.to_seconds() == 3600
    assert (portal["SessionTimeout"], portal["Scope"], portal["OnUnauthenticatedRequest"]) == (
        3600,
        "openid",
        "authenticate",
    )
    assert (api["SessionTimeout"], api["Scope"], api["OnUnauthenticatedRequest"]) == (
        1800,
        "openid",
        "deny",
    )


@pytest.mark.scenarios(SCENARIO)
def test_client_secret_is_a_secrets_manager_reference_never_plain_text(
    scenarios: Synthesized,
) -> None:
    secret = _config(scenarios, "PortalRoute")["ClientSecret"]
    (joined,) = secret.values()  # Fn::Join of the account id into the dynamic reference
    text = "".join(part if isinstance(part, str) else "<account>" for part in joined[1])
    assert text == (
        "{{resolve:secretsmanager:arn:aws:secretsmanager:ap-northeast-2:<account>:"
        "secret:myapp/portal-oidc:SecretString:client_secret::}}"
    )
    assert "UseExistingClientSecret" not in json.dumps(scenarios.template_json(SCENARIO))


@pytest.mark.scenarios(SCENARIO)
def test_cognito_route_names_the_pool_client_and_domain(scenarios: Synthesized) -> None:
    api = _config(scenarios, "ApiRoute")
    assert (api["UserPoolClientId"], api["UserPoolDomain"]) == (
        "1example23456789abcdefghij",
        "myapp-auth",
    )
    assert api["UserPoolArn"]["Fn::Join"][1][-1] == ":userpool/ap-northeast-2_AbCdEfGhI"


@pytest.mark.scenarios(SCENARIO)
def test_target_health_checks_reach_tasks_without_any_listener_rule(
    scenarios: Synthesized,
) -> None:
    """ALB health checks go from each load balancer node straight to the targets: no rule, so
    no authentication, stands between them, and no unauthenticated health route is added."""
    groups = resources_of(scenarios, SCENARIO, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert {group["Properties"]["HealthCheckPath"] for group in groups.values()} == {"/"}
    rules = resources_of(scenarios, SCENARIO, RULE)
    assert sorted(
        tuple(rule["Properties"]["Conditions"][0]["PathPatternConfig"]["Values"])
        for rule in rules.values()
    ) == [("/api/*",), ("/portal/*",)]


@pytest.mark.scenarios(SCENARIO)
def test_load_balancer_may_call_identity_providers_on_443_only(scenarios: Synthesized) -> None:
    key = logical_id(scenarios, SCENARIO, "LoadBalancer/SecurityGroup")
    group = resources_of(scenarios, SCENARIO, "AWS::EC2::SecurityGroup")[key]
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "Load balancer to identity providers (authenticated routes)",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]  # once for both routes; the rules to the tasks' container port are separate resources
    egress = resources_of(scenarios, SCENARIO, "AWS::EC2::SecurityGroupEgress").values()
    assert {
        (rule["Properties"]["FromPort"], rule["Properties"]["ToPort"])
        for rule in egress
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [key, "GroupId"]}
    } == {(8080, 8080)}


# --- Bad input --------------------------------------------------------------------------------

LOGIN = "https://login.example.com/oauth2"


def _secret(stack: cdk.Stack) -> secretsmanager.ISecret:
    return secretsmanager.Secret.from_secret_name_v2(stack, "OidcSecret", "myapp/oidc")


def _oidc(stack: cdk.Stack, **overrides: Any) -> RouteAuthentication:
    options: dict[str, Any] = {
        "issuer": "https://login.example.com",
        "authorization_endpoint": f"{LOGIN}/authorize",
        "token_endpoint": f"{LOGIN}/token",
        "user_info_endpoint": f"{LOGIN}/userinfo",
        "client_id": "portal",
        "client_secret": _secret(stack),
        **overrides,
    }
    return RouteAuthentication.oidc(**options)


def _cognito(stack: cdk.Stack, **overrides: Any) -> RouteAuthentication:
    return RouteAuthentication.cognito(
        user_pool=cognito.UserPool.from_user_pool_id(stack, "Pool", "ap-northeast-2_AbCdEfGhI"),
        user_pool_client=cognito.UserPoolClient.from_user_pool_client_id(
            stack, "Client", "1example23456789"
        ),
        user_pool_domain=cognito.UserPoolDomain.from_domain_name(stack, "Domain", "myapp-auth"),
        **overrides,
    )


def _route(
    stack: cdk.Stack,
    authentication: RouteAuthentication,
    *,
    vpc: ec2.IVpc | None = None,
    listener: str | None = None,
) -> SecureLoadBalancer:
    """Add an authenticated route to a fresh load balancer; the load balancer is returned."""
    vpc = vpc or existing_vpc(stack)
    lb = SecureLoadBalancer(
        stack, "Web", vpc=vpc, certificate=certificate(stack), http_redirect=listener == "http"
    )
    group = elbv2.ApplicationTargetGroup(
        stack, "Group", vpc=vpc, port=8080, target_type=elbv2.TargetType.IP
    )
    lb.add_route(
        "Route",
        target_group=group,
        routing=ListenerRouting(priority=10, authentication=authentication),
        listener=lb.redirect_listener if listener == "http" else None,
    )
    return lb


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"token_endpoint": "http://login.example.com/oauth2/token"},
            r"routing.authentication.token_endpoint: must be an https:// URL with a host",
        ),
        (
            {"issuer": "login.example.com"},
            r"routing.authentication.issuer: must be an https:// URL",
        ),
        ({"client_id": "  "}, r"routing.authentication.client_id: must not be empty"),
        (
            {"session_timeout": cdk.Duration.seconds(0)},
            r"routing.authentication.session_timeout: must be between 1 and 604800 seconds",
        ),
        (
            {"session_timeout": cdk.Duration.days(8)},
            r"routing.authentication.session_timeout: must be between 1 and 604800 seconds",
        ),
        (
            {"session_timeout": cdk.Duration.millis(1500)},
            r"routing.authentication.session_timeout: must be whole seconds",
        ),
        ({"scope": "email profile"}, r"routing.authentication.scope: must include 'openid'"),
        (
            {"session_cookie_name": "my session"},
            r"routing.authentication.session_cookie_name: must be a cookie name",
        ),
        (
            {"client_secret_field": ""},
            r"routing.authentication.client_secret_field: must be a non-empty JSON key",
        ),
    ],
)
def test_bad_oidc_options_are_refused_before_the_rule_exists(
    overrides: dict[str, Any], message: str
) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=message):
        _route(stack, _oidc(stack, **overrides))
    web = stack.node.find_child("Web")
    assert web.node.try_find_child("Route") is None


@pytest.mark.parametrize(
    "secret",
    [
        "s3cr3t-client-value",
        cdk.SecretValue.unsafe_plain_text("s3cr3t-client-value"),
    ],
)
def test_client_secret_as_a_value_is_refused_without_showing_it(secret: object) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as raised:
        _oidc(stack, client_secret=secret)
    message = str(raised.value)
    assert message.startswith(
        "RouteAuthentication.oidc: client_secret: must be the Secrets Manager secret"
    )
    assert "its value is not shown" in message and "s3cr3t" not in message
    with pytest.raises(ValidationError, match=r"^RouteAuthentication: client_secret"):
        RouteAuthentication(kind="oidc", client_secret="s3cr3t-client-value")  # type: ignore[arg-type]


def test_authentication_on_a_listener_that_is_not_https_is_refused() -> None:
    stack = stack_for_errors()
    with pytest.raises(
        ValidationError,
        match=r"routing.authentication: needs an HTTPS listener.*got 'HTTP listener Redirect",
    ):
        _route(stack, _oidc(stack), listener="http")


def _isolated_vpc(stack: cdk.Stack) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Isolated",
        vpc_id="vpc-0a1b2c3d4e5f67891",
        availability_zones=["ap-northeast-2a", "ap-northeast-2c"],
        isolated_subnet_ids=["subnet-0c0000000000000c1", "subnet-0c0000000000000c2"],
    )


def test_cognito_on_an_internal_load_balancer_without_a_route_out_is_refused() -> None:
    stack = stack_for_errors()
    with pytest.raises(
        ValidationError, match=r"routing.authentication: Amazon Cognito's user pool domain"
    ):
        _route(stack, _cognito(stack), vpc=_isolated_vpc(stack))


def test_oidc_on_an_isolated_internal_load_balancer_is_accepted() -> None:
    """An IdP inside the VPC is reachable (AWS: its DNS name may resolve to private IPs)."""
    stack = stack_for_errors()
    _route(stack, _oidc(stack), vpc=_isolated_vpc(stack))


def _portal(
    oidc_options: dict[str, str], **service: Any
) -> tuple[SecureLoadBalancer, pytest.ExceptionInfo[ValidationError]]:
    """A ``Portal`` service routed with OIDC (``oidc_options`` changed) and ``service``'s
    arguments, expected to be refused: its load balancer and the error."""
    from aws_cdk import aws_ecs as ecs

    from ecs_patterns_plus import AlbFargateService, HardenedCluster, HardenedTaskDefinition

    stack = stack_for_errors()
    vpc = existing_vpc(stack)
    lb = SecureLoadBalancer(stack, "Web", vpc=vpc, certificate=certificate(stack))
    image = ecs.ContainerImage.from_registry(f"public.ecr.aws/example/web@sha256:{'ab' * 32}")
    with pytest.raises(ValidationError) as raised:
        AlbFargateService(
            stack,
            "Portal",
            cluster=HardenedCluster(stack, "Cluster", vpc=vpc).cluster,
            task_definition=HardenedTaskDefinition(stack, "Task", image=image, container_port=8080),
            load_balancer=lb,
            routing=ListenerRouting(
                priority=10,
                path_patterns=["/portal/*"],
                authentication=_oidc(stack, **oidc_options),
            ),
            **service,
        )
    assert stack.node.try_find_child("Portal") is None
    return lb, raised


def test_a_service_with_bad_authentication_creates_nothing() -> None:
    lb, raised = _portal({"user_info_endpoint": ""})
    assert re.match(
        r"^Errors/Portal: routing.authentication.user_info_endpoint: must be an https://",
        str(raised.value),
    )
    assert lb.node.try_find_child("PortalRoute") is None


def test_wrong_types_are_named() -> None:
    stack = stack_for_errors()
    with pytest.raises(
        ValidationError,
        match=r"RouteAuthentication.cognito: user_pool: expected a cognito.IUserPool; "
        r"got str 'ap-northeast-2_AbCdEfGhI'",
    ):
        RouteAuthentication.cognito(
            user_pool="ap-northeast-2_AbCdEfGhI",  # type: ignore[arg-type]
            user_pool_client=cognito.UserPoolClient.from_user_pool_client_id(
                stack, "Client", "1example23456789"
            ),
            user_pool_domain=cognito.UserPoolDomain.from_domain_name(stack, "Domain", "auth"),
        )
    with pytest.raises(ValidationError, match=r"session_timeout: expected a Duration"):
        _oidc(stack, session_timeout=3600)


@pytest.mark.parametrize("seconds", [1, 7 * 24 * 3600])
def test_session_timeout_limits_are_accepted(seconds: int) -> None:
    stack = stack_for_errors()
    _route(stack, _cognito(stack, session_timeout=cdk.Duration.seconds(seconds)))


def test_tokens_are_accepted() -> None:
    stack = stack_for_errors()
    issuer = cdk.CfnParameter(stack, "Issuer").value_as_string
    _route(
        stack,
        _oidc(
            stack,
            issuer=issuer,
            token_endpoint=cdk.Fn.join("", [issuer, "/token"]),
            client_id=cdk.CfnParameter(stack, "ClientId").value_as_string,
            scope=cdk.CfnParameter(stack, "Scope").value_as_string,
            session_timeout=cdk.Duration.seconds(
                cdk.CfnParameter(stack, "Timeout", type="Number").value_as_number
            ),
        ),
    )


@pytest.mark.parametrize("kind", ["blue_green", "canary", "linear"])
def test_authentication_with_a_traffic_shifting_deployment_is_refused(kind: str) -> None:
    """ECS shifts traffic in the production rule's forward action; its guide warns that
    blue/green deployments fail on rules that also authenticate: refused, not risked."""
    from ecs_patterns_plus import DeploymentStrategy

    _, raised = _portal({}, deployment=getattr(DeploymentStrategy, kind)())
    assert "routing.authentication: cannot be combined with a traffic-shifting deployment" in str(
        raised.value
    )
