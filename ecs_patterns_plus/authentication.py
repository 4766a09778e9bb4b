"""Authentication on a route of a SecureLoadBalancer: OIDC or Amazon Cognito, then forward.

Relied on, from the ELB user guide, "Authenticate users using an Application Load Balancer"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html):
the ``authenticate-oidc`` and ``authenticate-cognito`` actions run on HTTPS listeners only; the
session timeout is 1 second to 7 days (AWS's default: 7 days); the load balancer itself calls the
IdP's token and user info endpoints, so its security group must allow them outbound (IPv4
only, says the ELB troubleshooting guide); their DNS names must resolve publicly, even to
private addresses. Amazon Cognito's user pool domain is reachable over the internet only:
interface VPC endpoints do not accept requests for user pool domains ("Access Amazon Cognito
using an interface endpoint", Cognito developer guide).

What a route's authentication does not touch:

- **Target health checks.** Each load balancer node sends them straight to every registered
  target, with the target group's port, protocol and path ("Health checks for Application Load
  Balancer target groups",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html);
  listener rules, and so their authenticate actions, apply only to requests that arrive on a
  listener. ECS therefore sees its tasks' health whatever a route requires, and no
  unauthenticated rule is added for the health path: it would open that path to every client
  of the listener. A probe that must call the health path through the load balancer gets its
  own route (``add_route`` to the service's target group, at a lower priority number).

A route that authenticates deploys rolling: ECS-native blue/green, canary and linear
deployments shift the weights of the production rule's forward action, and editions of the ECS
guide's "Application Load Balancer resources for blue/green deployments" list rules that mix a
forward action with authentication actions as unsupported (the deployment fails), so
``AlbFargateService`` refuses the combination. CodeDeploy services own the listener and take no
``routing``.
"""

from __future__ import annotations

import functools
import re
import typing
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aws_cdk as cdk
from aws_cdk import aws_cognito as aws_cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_actions as elbv2_actions
from aws_cdk import aws_secretsmanager as secretsmanager

from . import defaults
from .errors import Problems, ValidationError, checked, is_token

OIDC = "oidc"
COGNITO = "cognito"
MAX_SESSION_TIMEOUT_SECONDS = 7 * 24 * 3600
"""AWS's range for an authentication session: 1 second to 7 days."""
_COOKIE_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
"""A cookie name is an RFC 6265 token: no spaces, separators or control characters."""

_Factory = typing.TypeVar("_Factory", bound=typing.Callable[..., Any])


def _plain_secret(value: Any) -> str | None:
    """The problem with a client secret passed as its value (never shown), or None."""
    if not isinstance(value, (str, bytes, cdk.SecretValue)):
        return None
    return (
        "client_secret: must be the Secrets Manager secret that holds the client secret, "
        "never its value, which would be written into the template in plain text; "
        f"got a {type(value).__name__} (its value is not shown); store the secret in Secrets "
        "Manager and pass secretsmanager.Secret.from_secret_name_v2(scope, 'Id', '<name>')"
    )


def _fields(arguments: dict[str, Any]) -> dict[str, Any]:
    """A factory's arguments (``locals()`` on entry), which are the fields it sets."""
    return {name: value for name, value in arguments.items() if name != "cls"}


def _secret_not_shown(factory: _Factory) -> _Factory:
    """Refuse a plain client secret before the type check, whose message would echo it."""

    @functools.wraps(factory)
    def wrapper(cls: type, **kwargs: Any) -> Any:
        problem = _plain_secret(kwargs.get("client_secret"))
        if problem is not None:
            raise ValidationError(f"RouteAuthentication.{factory.__name__}", [problem])
        return factory(cls, **kwargs)

    return typing.cast(_Factory, wrapper)


@dataclass(frozen=True, kw_only=True)
class RouteAuthentication:
    """Who may use a route: users signed in at an OpenID Connect IdP or an Amazon Cognito user pool.

    Build it with ``RouteAuthentication.oidc(...)`` or ``.cognito(...)`` and pass it as
    ``ListenerRouting(authentication=...)``. The route's rule authenticates, then forwards; the
    service receives the user's claims in the ``x-amzn-oidc-*`` headers. Register
    ``https://<host users type>/oauth2/idpresponse`` as a redirect (callback) URL at the IdP.

    Options of both factories:
        scope: the claims requested, space-separated; must include ``openid``.
            Default: ``openid``.
        session_cookie_name: Default: ``AWSELBAuthSessionCookie``.
        session_timeout: how long a session lasts, 1 second to 7 days, whole seconds.
            Default: 1 hour (AWS: 7 days).
        on_unauthenticated_request: ``UnauthenticatedAction.AUTHENTICATE`` redirects to the
            sign-in page, ``DENY`` answers 401 (APIs), ``ALLOW`` forwards without claims.
            Default: AUTHENTICATE.
    """

    kind: str
    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    user_info_endpoint: str | None = None
    client_id: str | None = None
    client_secret: secretsmanager.ISecret | None = None
    client_secret_field: str | None = None
    user_pool: aws_cognito.IUserPool | None = None
    user_pool_client: aws_cognito.IUserPoolClient | None = None
    user_pool_domain: aws_cognito.IUserPoolDomain | None = None
    scope: str = defaults.AUTHENTICATION_SCOPE
    session_cookie_name: str | None = None
    session_timeout: cdk.Duration = defaults.AUTHENTICATION_SESSION_TIMEOUT
    on_unauthenticated_request: elbv2.UnauthenticatedAction = (
        defaults.AUTHENTICATION_ON_UNAUTHENTICATED
    )

    def __post_init__(self) -> None:
        problem = _plain_secret(self.client_secret)
        if problem is not None:
            raise ValidationError("RouteAuthentication", [problem])

    @classmethod
    @_secret_not_shown
    @checked
    def oidc(
        cls,
        *,
        issuer: str,
        authorization_endpoint: str,
        token_endpoint: str,
        user_info_endpoint: str,
        client_id: str,
        client_secret: secretsmanager.ISecret,
        client_secret_field: str | None = None,
        scope: str = defaults.AUTHENTICATION_SCOPE,
        session_cookie_name: str | None = None,
        session_timeout: cdk.Duration = defaults.AUTHENTICATION_SESSION_TIMEOUT,
        on_unauthenticated_request: elbv2.UnauthenticatedAction = (
            defaults.AUTHENTICATION_ON_UNAUTHENTICATED
        ),
    ) -> RouteAuthentication:
        """Sign users in at an OpenID Connect IdP (authorization code flow).

        Args:
            issuer: the IdP's issuer identifier, an ``https://`` URL.
            authorization_endpoint / token_endpoint / user_info_endpoint: the IdP's endpoints,
                ``https://`` URLs (its ``/.well-known/openid-configuration`` lists them).
            client_id: the OAuth 2.0 client id of the app registered at the IdP.
            client_secret: the Secrets Manager secret holding the client secret, never its
                value: the template carries a reference that CloudFormation resolves.
            client_secret_field: the JSON key of the client secret in that secret.
                Default: the whole secret string.
            scope / session_cookie_name / session_timeout / on_unauthenticated_request: see
                the class.
        """
        return cls(kind=OIDC, **_fields(locals()))

    @classmethod
    @checked
    def cognito(
        cls,
        *,
        user_pool: aws_cognito.IUserPool,
        user_pool_client: aws_cognito.IUserPoolClient,
        user_pool_domain: aws_cognito.IUserPoolDomain,
        scope: str = defaults.AUTHENTICATION_SCOPE,
        session_cookie_name: str | None = None,
        session_timeout: cdk.Duration = defaults.AUTHENTICATION_SESSION_TIMEOUT,
        on_unauthenticated_request: elbv2.UnauthenticatedAction = (
            defaults.AUTHENTICATION_ON_UNAUTHENTICATED
        ),
    ) -> RouteAuthentication:
        """Sign users in at an Amazon Cognito user pool (and the IdPs it federates).

        Args:
            user_pool: the user pool.
            user_pool_client: its app client, with a client secret, the authorization code
                grant and the scopes of ``scope``.
            user_pool_domain: the user pool's domain (prefix or custom domain).
            scope / session_cookie_name / session_timeout / on_unauthenticated_request: see
                the class.
        """
        return cls(kind=COGNITO, **_fields(locals()))

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems under ``argument`` (e.g. ``routing.authentication``)."""
        if self.kind == OIDC:
            self._validate_oidc(problems, argument)
        else:
            parts = (self.user_pool, self.user_pool_client, self.user_pool_domain)
            problems.require(
                self.kind == COGNITO and None not in parts,
                argument,
                "must be built by a factory, which sets every part of its kind",
                self.kind,
                "use RouteAuthentication.oidc(...) or RouteAuthentication.cognito(...)",
            )
        if not is_token(self.scope):
            problems.require(
                "openid" in self.scope.split(),
                f"{argument}.scope",
                "must include 'openid': without it the IdP returns no ID token, which the "
                "load balancer needs to sign the user in",
                self.scope,
                f"e.g. {' '.join(['openid', *self.scope.split()])!r}",
            )
        if self.session_cookie_name is not None and not is_token(self.session_cookie_name):
            problems.require(
                bool(_COOKIE_NAME.match(self.session_cookie_name)),
                f"{argument}.session_cookie_name",
                "must be a cookie name: letters, digits and !#$%&'*+.^_`|~- only",
                self.session_cookie_name,
                "e.g. 'MyAppSession', or leave it out for AWSELBAuthSessionCookie",
            )
        problems.seconds_in_range(
            f"{argument}.session_timeout", self.session_timeout, 1, MAX_SESSION_TIMEOUT_SECONDS
        )

    def _validate_oidc(self, problems: Problems, argument: str) -> None:
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "user_info_endpoint"):
            value = getattr(self, name)
            if value is None or not is_token(value):
                problems.require(
                    _is_https_url(value),
                    f"{argument}.{name}",
                    "must be an https:// URL with a host: the load balancer and the browser "
                    "talk to the IdP over HTTPS only",
                    value,
                    "copy it from the IdP's /.well-known/openid-configuration, e.g. "
                    "'https://login.example.com/oauth2/token'",
                )
        if self.client_id is None or not is_token(self.client_id):
            problems.require(
                bool(self.client_id and self.client_id.strip()),
                f"{argument}.client_id",
                "must not be empty",
                self.client_id,
                "pass the OAuth 2.0 client id of the app registered at the IdP",
            )
        problems.require(
            self.client_secret is not None,
            f"{argument}.client_secret",
            "is required for OIDC",
            None,
            "pass the Secrets Manager secret that holds the client secret",
        )
        field = self.client_secret_field
        if field is not None and not is_token(field):
            problems.require(
                bool(field) and ":" not in field,
                f"{argument}.client_secret_field",
                "must be a non-empty JSON key without ':'",
                field,
                "pass the key of the client secret in the JSON secret, e.g. 'client_secret'",
            )

    def action(self, forward: elbv2.ListenerAction) -> elbv2.ListenerAction:
        """The authenticate action of the route, followed by ``forward``.

        CDK's own egress rule (``allow_https_outbound``) stays off: ``allow_identity_provider``
        adds one, described, to the load balancer's security group.
        """
        options: dict[str, Any] = {
            "next": forward,
            "scope": self.scope,
            "session_cookie_name": self.session_cookie_name,
            "session_timeout": self.session_timeout,
            "on_unauthenticated_request": self.on_unauthenticated_request,
            "allow_https_outbound": False,
        }
        if self.kind == COGNITO:
            return elbv2_actions.AuthenticateCognitoAction(
                user_pool=self.user_pool,  # type: ignore[arg-type]  # validated
                user_pool_client=self.user_pool_client,  # type: ignore[arg-type]
                user_pool_domain=self.user_pool_domain,  # type: ignore[arg-type]
                **options,
            )
        secret = self.client_secret
        assert secret is not None  # validated
        field = self.client_secret_field
        return elbv2.ListenerAction.authenticate_oidc(
            issuer=self.issuer,  # type: ignore[arg-type]  # validated
            authorization_endpoint=self.authorization_endpoint,  # type: ignore[arg-type]
            token_endpoint=self.token_endpoint,  # type: ignore[arg-type]
            user_info_endpoint=self.user_info_endpoint,  # type: ignore[arg-type]
            client_id=self.client_id,  # type: ignore[arg-type]
            # A dynamic reference ({{resolve:secretsmanager:...}}), resolved at deploy time.
            client_secret=secret.secret_value_from_json(field) if field else secret.secret_value,
            **options,
        )


def _is_https_url(value: str | None) -> bool:
    if not value:
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and " " not in value


def check_listener(
    problems: Problems,
    authentication: RouteAuthentication,
    argument: str,
    listener: elbv2.ApplicationListener,
    *,
    reaches_internet: bool,
) -> None:
    """Record problems with authenticating on ``listener`` of a load balancer.

    ``reaches_internet``: the load balancer is internet-facing, or internal in subnets with a
    route out (NAT); an internal one in isolated subnets reaches only addresses in the VPC.
    """
    protocol = getattr(listener, "protocol", None)
    if protocol is not None:
        problems.require(
            protocol == elbv2.ApplicationProtocol.HTTPS,
            f"{argument}.authentication",
            "needs an HTTPS listener: the load balancer runs authenticate actions on HTTPS "
            "listeners only",
            f"{protocol.value} listener {listener.node.id}",
            "route to the load balancer's HTTPS listener (leave listener= out)",
        )
    if authentication.kind == COGNITO:
        problems.require(
            reaches_internet,
            f"{argument}.authentication",
            "Amazon Cognito's user pool domain is reachable over the internet only, and this "
            "internal load balancer is in isolated subnets (no NAT): sign-ins would fail",
            "isolated subnets",
            "give the VPC NAT gateways (SecureVpc(nat_gateways=1)), make the load balancer "
            "internet-facing, or use an OIDC IdP reachable inside the VPC",
        )


def allow_identity_provider(security_group: ec2.ISecurityGroup) -> None:
    """Let the load balancer call the token and user info endpoints of IdPs (HTTPS, IPv4).

    Their addresses are the IdP's to change, so the rule admits any IPv4 address on 443 only;
    the same rule for every authenticated route of the load balancer (CDK keeps one copy).
    """
    security_group.add_egress_rule(
        ec2.Peer.any_ipv4(),
        ec2.Port.tcp(defaults.IDP_EGRESS_PORT),
        "Load balancer to identity providers (authenticated routes)",
    )
