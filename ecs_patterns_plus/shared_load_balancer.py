"""ImportedLoadBalancer: another team's Application Load Balancer, for services to route on.

Many organisations run one ALB per VPC, owned by a platform team; application teams add
listener rules to its HTTPS listener. The import creates nothing for the load balancer
itself, writes no rule on its security group, and keeps the service side as hardened as on a
``SecureLoadBalancer``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct, IConstruct

from .errors import Problems, checked, is_token
from .load_balancer import ListenerRouting, SecureLoadBalancer

if TYPE_CHECKING:
    from .deployment.strategy import DeploymentStrategy

_ARN = r"arn:(?P<partition>aws[a-z-]*):elasticloadbalancing:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
_LOAD_BALANCER = r"(?P<load_balancer>app/[A-Za-z0-9-]{1,32}/[0-9a-f]+)"
_LOAD_BALANCER_ARN = re.compile(f"{_ARN}loadbalancer/{_LOAD_BALANCER}")
_LISTENER_ARN = re.compile(f"{_ARN}listener/{_LOAD_BALANCER}/[0-9a-f]+")
_SECURITY_GROUP_ID = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})")


class ImportedLoadBalancer(SecureLoadBalancer):
    """An existing Application Load Balancer and HTTPS listener owned by another team.

    Pass it as ``AlbFargateService(load_balancer=...)``: each service adds its listener rule
    and target group, and its tasks admit only the load balancer's security group on the
    container port. Nothing is created for the load balancer itself: its certificate, TLS
    policy, WAF, access logs, deletion protection and security group rules are the owner's
    (the attributes a ``SecureLoadBalancer`` creates them in are None). The library writes
    no rule on the owner's security group; ``connections.allow_from`` would, in this stack:
    leave admitting clients to the owner.

    Routes need paths or hosts (a route for every path and host would take the requests of
    the owner's lower-priority rules and default action). Priorities are checked against
    this app's routes only: the owner's rules are not visible at synth time, and a priority
    they use fails the rule's deployment, so agree on a range. Rolling deployments work;
    blue/green, canary and linear need the owner's test listener; CodeDeploy, which takes a
    listener's default action, is refused. An authenticated route needs the owner's security
    group to allow HTTPS out to the IdP.

    Args:
        load_balancer_arn: the load balancer's ARN (``...:loadbalancer/app/<name>/<id>``),
            in this stack's account and region.
        listener_arn: its HTTPS listener, where services add routes.
        security_group_id: the load balancer's security group, which the services admit.
        vpc: the load balancer's VPC (the services' cluster must be in it).
        url: the address clients use, e.g. ``https://shared.example.com``; a service's
            ``url`` is it plus the service's first path.
        test_listener_arn: the owner's HTTPS test listener on the same load balancer, for
            blue/green, canary and linear deployments. Default: none (rolling only).

    Attributes:
        load_balancer, listener, test_listener (imported: typed as the owned classes for the
        services' routes, they are only ``IApplicationLoadBalancer`` and
        ``IApplicationListener``), security_group (imported), vpc, url.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        load_balancer_arn: str,
        listener_arn: str,
        security_group_id: str,
        vpc: ec2.IVpc,
        url: str,
        test_listener_arn: str | None = None,
    ) -> None:
        problems = Problems(scope, construct_id)
        _check_arns(problems, scope, load_balancer_arn, listener_arn, test_listener_arn)
        problems.require(
            is_token(security_group_id) or bool(_SECURITY_GROUP_ID.fullmatch(security_group_id)),
            "security_group_id",
            "is not a security group id",
            security_group_id,
            "pass the load balancer's security group id from its owner, e.g. "
            "'sg-0123456789abcdef0'",
        )
        problems.require(
            is_token(url) or url.startswith("https://"),
            "url",
            "must be the https:// address clients use (services append their path to it)",
            url,
            "e.g. 'https://shared.example.com'",
        )
        problems.raise_if_any()
        # SecureLoadBalancer.__init__ creates a load balancer; this one only imports one.
        Construct.__init__(self, scope, construct_id)

        self.vpc = vpc
        self.url = url
        self.internet_facing = False  # unknown: judged as internal (Cognito needs a route out)
        self._priorities = {}
        self._routes = {}
        self._default_owner = None
        # CDK's import of the group keeps its default allow_all_outbound=True, so CDK writes no
        # egress rule on the owner's group for the targets. One import of the group for the
        # load balancer and its listeners: the services' ingress rules from it stay single.
        self.load_balancer = cast(
            elbv2.ApplicationLoadBalancer,
            elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
                self,
                "LoadBalancer",
                load_balancer_arn=load_balancer_arn,
                security_group_id=security_group_id,
                vpc=vpc,
            ),
        )
        self.security_group = cast(
            ec2.SecurityGroup, self.load_balancer.connections.security_groups[0]
        )
        self.listener = self._import_listener("Listener", listener_arn)
        self.test_listener = (
            self._import_listener("TestListener", test_listener_arn) if test_listener_arn else None
        )
        for owned in (
            "certificate",
            "access_logs_bucket",
            "server_access_logs_bucket",
            "web_acl",
            "waf_log_group",
            "redirect_listener",
            "alias_record",
        ):
            setattr(self, owned, None)  # the owner's

    def _import_listener(self, construct_id: str, arn: str) -> elbv2.ApplicationListener:
        # Typed as the owned class: services only add rules to it (CodeDeploy, which would
        # change its default action, is refused by check_deployment).
        return cast(
            elbv2.ApplicationListener,
            elbv2.ApplicationListener.from_application_listener_attributes(
                self, construct_id, listener_arn=arn, security_group=self.security_group
            ),
        )

    def check_route(
        self,
        problems: Problems,
        routing: ListenerRouting,
        *,
        argument: str = "routing",
        listener: elbv2.ApplicationListener | None = None,
    ) -> None:
        """Record problems with a route (see ``SecureLoadBalancer.check_route``); refuse one
        for every path and host (it would take the owner's requests), and one from a service
        in another stack."""
        super().check_route(problems, routing, argument=argument, listener=listener)
        ours, theirs = cdk.Stack.of(self), _stack_at(self.node.root, problems.path)
        problems.require(
            theirs is None or theirs is ours,
            "load_balancer",
            f"is imported in stack {ours.node.path}, and the service is in "
            f"{theirs.node.path if theirs else None}: CDK would write the service's ingress rule "
            "for an imported listener into the import's stack, a dependency cycle",
            self.node.path,
            "import the load balancer in the service's stack (ImportedLoadBalancer creates "
            "nothing, so each stack may import it)",
        )
        problems.require(
            not routing.matches_everything,
            argument,
            "is required on an imported load balancer, with paths or hosts: a route for every "
            "path and host would take the requests of the owner's rules with a lower priority "
            "and of the listener's default action",
            list(routing.path_patterns) or None,
            "pass routing=ListenerRouting(priority=<one the owner left free>, "
            "path_patterns=['/orders/*'] and/or host_headers=['orders.example.com'])",
        )

    def check_deployment(self, problems: Problems, deployment: DeploymentStrategy) -> None:
        """Record problems with ``deployment`` on the owner's listeners: no CodeDeploy, and
        traffic shifting only through the owner's test listener."""
        if deployment.uses_code_deploy:
            problems.add(
                "deployment",
                "CodeDeploy swaps the listener's default action, and the imported listener "
                "and its default action are the load balancer owner's",
                deployment.kind,
                "use DeploymentStrategy.rolling(), or .blue_green()/.canary()/.linear() with "
                "the owner's test listener (test_listener_arn of the imported load balancer)",
            )
            return
        if not deployment.shifts_traffic:
            return
        problems.require(
            self.test_listener is not None,
            "deployment",
            "shifts traffic and routes test traffic through a test listener, and the imported "
            "load balancer has none (the library adds no listener to another team's load "
            "balancer)",
            deployment.kind,
            "ask the owner for an HTTPS test listener and pass its ARN as test_listener_arn to "
            "ImportedLoadBalancer, or use DeploymentStrategy.rolling()",
        )
        problems.require(
            deployment.test_traffic is None,
            "deployment.test_traffic",
            "sets up a test listener the library creates; the imported load balancer's test "
            "listener, its port and who may reach it are the owner's",
            deployment.test_traffic,
            "leave test_traffic out (test_listener_arn names the owner's test listener)",
        )

    def add_test_listener(
        self, construct_id: str, *, port: int, sources: Sequence[ec2.IPeer] = ()
    ) -> elbv2.ApplicationListener:
        """The owner's test listener (``check_deployment`` refused deployments without one)."""
        assert self.test_listener is not None
        return self.test_listener


def _stack_at(root: IConstruct, path: str) -> cdk.Stack | None:
    """The stack of the construct at ``path``, or of its nearest existing parent."""
    here = root
    for part in path.split("/"):
        child = here.node.try_find_child(part)
        if child is None:
            break
        here = child
    return next(
        (scope for scope in reversed(here.node.scopes) if isinstance(scope, cdk.Stack)), None
    )


def _check_arns(
    problems: Problems,
    scope: Construct,
    load_balancer_arn: str,
    listener_arn: str,
    test_listener_arn: str | None,
) -> None:
    """The ARNs name an ALB and listeners of it, in this stack's account and region."""
    balancer = _match(problems, "load_balancer_arn", load_balancer_arn, listener=False)
    listeners = {
        argument: _match(problems, argument, arn, listener=True)
        for argument, arn in (
            ("listener_arn", listener_arn),
            ("test_listener_arn", test_listener_arn),
        )
        if arn is not None
    }
    problems.require(
        test_listener_arn is None
        or is_token(test_listener_arn)
        or test_listener_arn != listener_arn,
        "test_listener_arn",
        "is listener_arn: the test route needs a listener of its own (it takes the production "
        "route's priority)",
        test_listener_arn,
        "pass the owner's separate test listener, or leave it out (rolling deployments only)",
    )
    if balancer is None:
        return
    stack = cdk.Stack.of(scope)
    for place in ("region", "account"):
        ours = getattr(stack, place)
        problems.require(
            is_token(ours) or balancer[place] == ours,
            "load_balancer_arn",
            f"is in {place} {balancer[place]}, and this stack deploys to {ours}: listener "
            "rules can only be added in the load balancer's own account and region",
            load_balancer_arn,
            "import it in a stack of its account and region",
        )
    for argument, listener in listeners.items():
        if listener is not None:
            problems.require(
                listener["load_balancer"] == balancer["load_balancer"]
                and listener["region"] == balancer["region"]
                and listener["account"] == balancer["account"],
                argument,
                f"is a listener of another load balancer ({listener['load_balancer']}), not "
                f"of load_balancer_arn ({balancer['load_balancer']})",
                listener.string,
                "pass a listener ARN of the same load balancer (its ARN starts with "
                f"'...:listener/{balancer['load_balancer']}/')",
            )


def _match(problems: Problems, argument: str, arn: str, *, listener: bool) -> re.Match[str] | None:
    """The parts of a literal ARN (None for a token, or a problem recorded)."""
    if is_token(arn):
        return None
    match = (_LISTENER_ARN if listener else _LOAD_BALANCER_ARN).fullmatch(arn)
    example = "arn:aws:elasticloadbalancing:<region>:<account>:" + (
        "listener/app/<name>/<id>/<listener id>" if listener else "loadbalancer/app/<name>/<id>"
    )
    problems.require(
        match is not None,
        argument,
        f"is not the ARN of an Application Load Balancer{' listener' if listener else ''}",
        arn,
        f"pass its ARN from the load balancer's owner, {example!r}",
    )
    return match
