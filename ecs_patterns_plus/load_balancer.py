"""SecureLoadBalancer: an HTTPS-only Application Load Balancer that services share by route."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from . import compliance, defaults
from .authentication import RouteAuthentication, allow_identity_provider, check_listener
from .encryption import encrypted_log_group, stack_key
from .errors import Problems, checked, is_token
from .log_buckets import access_log_buckets, check_log_region

if TYPE_CHECKING:
    from .deployment.strategy import DeploymentStrategy

MAX_RULE_PRIORITY = 50000
MAX_CONDITION_VALUES = 5
"""ALB quota: condition values (and wildcards) per rule."""
_HOST = re.compile(r"[A-Za-z0-9*?.-]{1,128}")


@dataclass(frozen=True, kw_only=True)
class DomainOptions:
    """A DNS name for the load balancer, in a Route 53 hosted zone.

    Args:
        domain_name: the name clients use, e.g. ``app.example.com``.
        hosted_zone: the zone that holds it; the certificate is validated through it.
        create_alias_record: add an alias A record pointing at the load balancer. Default: True.
    """

    domain_name: str
    hosted_zone: route53.IHostedZone
    create_alias_record: bool = True


@dataclass(frozen=True, kw_only=True)
class ListenerRouting:
    """Which requests of a shared listener reach a service.

    Args:
        priority: listener-rule priority, 1 (first) to 50000; unique per load balancer.
        path_patterns: e.g. ``["/api/*"]``. Default: all paths.
        host_headers: e.g. ``["api.example.com"]``. Default: any host.
        authentication: sign users in before forwarding, ``RouteAuthentication.oidc(...)``
            or ``.cognito(...)`` (see ``authentication``); deployment test listeners forward
            without it. Default: none.
    """

    priority: int
    path_patterns: Sequence[str] = ()
    host_headers: Sequence[str] = ()
    authentication: RouteAuthentication | None = None

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems with this routing under ``argument`` (e.g. ``routing``)."""
        problems.in_range(f"{argument}.priority", self.priority, 1, MAX_RULE_PRIORITY)
        bad = [
            path
            for path in self.path_patterns
            if not is_token(path) and (not path.startswith("/") or len(path) > 128)
        ]
        problems.require(
            not bad,
            f"{argument}.path_patterns",
            "must be absolute paths of at most 128 characters (the load balancer matches the "
            "whole path, which always starts with '/')",
            bad,
            f"e.g. {['/' + p.lstrip('/') for p in bad][:1] or ['/api/*']}",
        )
        hosts = [h for h in self.host_headers if not is_token(h) and not _HOST.fullmatch(h)]
        problems.require(
            not hosts,
            f"{argument}.host_headers",
            "must be host names, without scheme, path or port",
            hosts,
            "e.g. ['api.example.com'] or ['*.example.com']",
        )
        values = [*self.path_patterns, *self.host_headers]
        problems.require(
            len(values) <= MAX_CONDITION_VALUES,
            argument,
            f"an ALB rule matches at most {MAX_CONDITION_VALUES} path patterns and host headers "
            "together",
            f"{len(self.path_patterns)} paths, {len(self.host_headers)} hosts",
            "route the rest through a common prefix ('/api/*'), or split the service's "
            "routes over several services",
        )
        wildcards = sum(v.count("*") + v.count("?") for v in values if not is_token(v))
        problems.require(
            wildcards <= MAX_CONDITION_VALUES,
            argument,
            f"an ALB rule allows at most {MAX_CONDITION_VALUES} wildcards ('*', '?')",
            wildcards,
            "use fewer wildcards",
        )
        if self.authentication is not None:
            self.authentication.validate(problems, f"{argument}.authentication")

    @property
    def matches_everything(self) -> bool:
        """True when the route has no condition that narrows it (every path, any host)."""
        return not self.host_headers and set(self.path_patterns) <= {"/*", "*"}


class SecureLoadBalancer(Construct):
    """An Application Load Balancer with one HTTPS (TLS 1.3) listener, hardened for production.

    Internal unless asked; drops invalid headers; strictest desync mitigation; deletion
    protection; access logs to an encrypted, versioned, SSL-only, private bucket; WAFv2 with
    AWS managed rules when internet-facing. The listener answers 404 until services add
    routes (``add_route``), so several services can share it.

    Args:
        vpc: the VPC. Internet-facing load balancers use its public subnets, internal ones
            its private subnets.
        certificate: the ACM certificate for HTTPS. Default: created for ``domain`` with DNS
            validation; one of the two is required.
        domain: DNS name (and hosted zone) for the certificate and an alias record.
            Default: none (use the load balancer's DNS name).
        internet_facing: accept traffic from the internet. Default: False.
        allowed_sources: who may connect (CIDR peers, prefix lists, security groups).
            Default: anywhere (IPv4) when internet-facing, nobody when internal (add callers
            with ``load_balancer.connections.allow_from``).
        http_redirect: add a port-80 listener that only answers 301 to HTTPS. Default: False.
        idle_timeout: connection idle timeout. Default: 60 seconds.
        deletion_protection: refuse deletion of the load balancer. Default: True (turning it
            off adds the warning ``ecs-patterns-plus:deletion-protection-off``).
        access_logs_bucket: where access logs go. Default: a new hardened bucket (SSE-S3,
            versioned, SSL-only, public access blocked, lifecycle-expired, retained), which
            logs its own access to a second bucket.
        web_acl: the WAFv2 web ACL to associate. Default: a new one with the AWS managed
            common, known-bad-inputs and IP-reputation rule groups, logging to an encrypted
            log group (internal load balancers too: NIST/PCI ALBWAFEnabled).
        load_balancer_name: Default: generated.

    Attributes:
        load_balancer, listener, security_group, certificate, access_logs_bucket,
        server_access_logs_bucket (None for a passed-in bucket), web_acl, waf_log_group,
        redirect_listener, alias_record, url, internet_facing.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        certificate: acm.ICertificate | None = None,
        domain: DomainOptions | None = None,
        internet_facing: bool = defaults.INTERNET_FACING,
        allowed_sources: Sequence[ec2.IPeer] | None = None,
        http_redirect: bool = False,
        idle_timeout: cdk.Duration = defaults.ALB_IDLE_TIMEOUT,
        deletion_protection: bool = defaults.LOAD_BALANCER_DELETION_PROTECTION,
        access_logs_bucket: s3.IBucket | None = None,
        web_acl: wafv2.CfnWebACL | None = None,
        load_balancer_name: str | None = None,
    ) -> None:
        problems = Problems(scope, construct_id)
        problems.require(
            certificate is not None or domain is not None,
            "certificate",
            "HTTPS needs a certificate",
            None,
            "pass certificate=acm.Certificate... or domain=DomainOptions(domain_name=..., "
            "hosted_zone=...) to create one with DNS validation",
        )
        problems.seconds_in_range("idle_timeout", idle_timeout, 1, 4000)
        check_log_region(problems, scope, access_logs_bucket)
        if domain is not None:
            _check_domain(problems, domain)
        if internet_facing:
            problems.require(
                bool(vpc.public_subnets),
                "internet_facing",
                "the VPC has no public subnets for an internet-facing load balancer",
                internet_facing,
                "use a VPC with public subnets (SecureVpc(public_subnets=True)), or keep the "
                "load balancer internal",
            )
        else:
            problems.require(
                bool(vpc.private_subnets or vpc.isolated_subnets),
                "vpc",
                "has no private subnets for an internal load balancer (its tasks would need "
                "them too)",
                f"{len(vpc.public_subnets)} public subnets",
                "use a VPC with private subnets (SecureVpc), or internet_facing=True",
            )
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        self.vpc = vpc
        self.internet_facing = internet_facing
        self._priorities: dict[str, set[int]] = {}
        self._routes: dict[str, dict[tuple[frozenset[str], frozenset[str]], int]] = {}
        self._default_owner: str | None = None
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Load balancer: HTTPS from allowed sources; only to its targets",
            allow_all_outbound=False,
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=internet_facing,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PUBLIC if internet_facing else private_subnet_type(vpc)
            ),
            security_group=self.security_group,
            load_balancer_name=load_balancer_name,
            drop_invalid_header_fields=True,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.STRICTEST,
            deletion_protection=deletion_protection,
            idle_timeout=idle_timeout,
            http2_enabled=True,
        )
        if not deletion_protection:
            warn_deletion_protection_off(self)

        self.certificate = certificate or acm.Certificate(
            self,
            "Certificate",
            domain_name=domain.domain_name,  # type: ignore[union-attr]
            validation=acm.CertificateValidation.from_dns(domain.hosted_zone),  # type: ignore[union-attr]
        )
        self.listener = self._https_listener("Https", defaults.HTTPS_PORT)
        self.redirect_listener: elbv2.ApplicationListener | None = None
        if http_redirect:
            self.redirect_listener = self.load_balancer.add_redirect(
                source_port=defaults.HTTP_REDIRECT_PORT,
                source_protocol=elbv2.ApplicationProtocol.HTTP,
                target_port=defaults.HTTPS_PORT,
                target_protocol=elbv2.ApplicationProtocol.HTTPS,
                open=False,
            )
            compliance.HTTP_REDIRECT_LISTENER.apply(self.redirect_listener)
            compliance.HTTP_REDIRECT_LISTENER.apply(self.security_group)

        sources = (
            allowed_sources
            if allowed_sources is not None
            else ([ec2.Peer.any_ipv4()] if internet_facing else [])
        )
        ports = [defaults.HTTPS_PORT] + ([defaults.HTTP_REDIRECT_PORT] if http_redirect else [])
        for peer in sources:
            for port in ports:
                self.security_group.add_ingress_rule(
                    peer, ec2.Port.tcp(port), f"Clients to the load balancer on {port}"
                )
        if internet_facing and any(is_anywhere(peer) for peer in sources):
            compliance.PUBLIC_ALB_INGRESS.apply(self.security_group)

        self.access_logs_bucket, self.server_access_logs_bucket = access_log_buckets(
            self, access_logs_bucket
        )
        self.load_balancer.log_access_logs(self.access_logs_bucket, prefix="alb")

        self.waf_log_group: logs.LogGroup | None = None
        if web_acl is None:
            web_acl, self.waf_log_group = _managed_web_acl(self)
        self.web_acl = web_acl
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.load_balancer.load_balancer_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

        self.alias_record: route53.ARecord | None = None
        if domain is not None and domain.create_alias_record:
            self.alias_record = route53.ARecord(
                self,
                "AliasRecord",
                zone=domain.hosted_zone,
                record_name=domain.domain_name,
                target=route53.RecordTarget.from_alias(
                    route53_targets.LoadBalancerTarget(self.load_balancer)
                ),
            )
        host = domain.domain_name if domain else self.load_balancer.load_balancer_dns_name
        self.url = f"https://{host}"

    def _https_listener(self, construct_id: str, port: int) -> elbv2.ApplicationListener:
        return self.load_balancer.add_listener(
            construct_id,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(self.certificate)],
            ssl_policy=defaults.TLS_POLICY,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="text/plain", message_body="Not found"
            ),
        )

    def add_test_listener(
        self, construct_id: str, *, port: int, sources: Sequence[ec2.IPeer] = ()
    ) -> elbv2.ApplicationListener:
        """An HTTPS listener for deployment test traffic, open only to ``sources``.

        Returns the existing one when ``port`` already has a test listener, so services
        sharing the load balancer share it too (each with its own route).
        """
        existing = self.load_balancer.node.try_find_child(f"TestListener{port}")
        if isinstance(existing, elbv2.ApplicationListener):
            return existing
        listener = self._https_listener(f"TestListener{port}", port)
        for peer in sources:
            self.security_group.add_ingress_rule(
                peer, ec2.Port.tcp(port), f"Deployment test traffic on {port}"
            )
        return listener

    def forward_by_default(
        self, listener: elbv2.ApplicationListener, target_group: elbv2.ApplicationTargetGroup
    ) -> None:
        """Make ``target_group`` the listener's default action instead of the 404 response.

        For a service that owns the whole listener (CodeDeploy swaps default actions).
        """
        self._default_owner = self._default_owner or target_group.node.scope.node.path  # type: ignore[union-attr]
        resource = listener.node.default_child
        assert isinstance(resource, elbv2.CfnListener)
        resource.add_property_override(
            "DefaultActions",
            [{"Type": "forward", "TargetGroupArn": target_group.target_group_arn}],
        )
        target_group.register_listener(listener, listener)

    @property
    def connections(self) -> ec2.Connections:
        """The load balancer's security-group connections (``allow_from`` to admit callers)."""
        return self.load_balancer.connections

    def check_route(
        self,
        problems: Problems,
        routing: ListenerRouting,
        *,
        argument: str = "routing",
        listener: elbv2.ApplicationListener | None = None,
    ) -> None:
        """Record problems with a route ``routing`` would add: its own, and clashes.

        A priority already used, the same hosts and paths as another route (one of the two
        would never receive a request), or a route for every path while a CodeDeploy service
        owns the listener's default action. Services call it while checking their arguments,
        so a clash is reported before any of their resources exist.
        """
        routing.validate(problems, argument)
        if routing.authentication is not None:
            check_listener(
                problems,
                routing.authentication,
                argument,
                listener or self.listener,
                reaches_internet=self.internet_facing or bool(self.vpc.private_subnets),
            )
        key = (listener or self.listener).node.id
        used = self._priorities.get(key, set())
        if not is_token(routing.priority):
            problems.require(
                routing.priority not in used,
                f"{argument}.priority",
                "is already used by another route on this load balancer",
                routing.priority,
                f"pick a free priority (used: {sorted(used)})",
            )
        same = self._routes.get(key, {}).get(_conditions(routing))
        problems.require(
            same is None,
            f"{argument}.path_patterns",
            f"the same hosts and paths are already routed (priority {same}) to another service; "
            "only the route with the lower priority would ever receive a request",
            list(routing.path_patterns) or ["/*"],
            "give each service its own paths or hosts",
        )
        if routing.matches_everything and listener is None:
            problems.require(
                self._default_owner is None,
                argument,
                f"a route for every path would take all requests from {self._default_owner}, "
                "whose CodeDeploy deployments own the listener's default action",
                routing.priority,
                "route this service by path or host",
            )

    def check_default_action(self, problems: Problems, owner: str) -> None:
        """Record a problem unless ``owner`` (a CodeDeploy service) may own the default action.

        CodeDeploy shifts traffic by swapping the listeners' default actions: one service per
        load balancer, and no route that takes every request before the default action.
        """
        problems.require(
            self._default_owner is None,
            "load_balancer",
            f"its listeners' default action already belongs to {self._default_owner} "
            "(CodeDeploy); two services cannot both own it",
            self._default_owner,
            "give each CodeDeploy service its own load balancer, or deploy with "
            "DeploymentStrategy.canary()/linear()/blue_green() and routing",
        )
        everything = [
            priority
            for conditions, priority in self._routes.get(self.listener.node.id, {}).items()
            if conditions == _conditions(ListenerRouting(priority=0))
        ]
        problems.require(
            not everything,
            "load_balancer",
            "a route for every path (a service without routing) would take every request "
            "before the listener's default action that CodeDeploy shifts",
            everything,
            "route the other service by path or host",
        )

    def check_deployment(self, problems: Problems, deployment: DeploymentStrategy) -> None:
        """Record problems with rolling ``deployment`` out behind this load balancer: none here
        (it adds test listeners and lends its default action); ``ImportedLoadBalancer`` has some."""

    def add_route(
        self,
        construct_id: str,
        *,
        target_group: elbv2.IApplicationTargetGroup,
        routing: ListenerRouting,
        listener: elbv2.ApplicationListener | None = None,
        scope: Construct | None = None,
    ) -> elbv2.ApplicationListenerRule:
        """Forward the requests ``routing`` matches to ``target_group``; returns the rule.

        With ``routing.authentication`` the rule signs the user in first, and the load
        balancer's security group may call identity providers on 443.

        Args:
            construct_id: the rule's id, unique in ``scope``.
            target_group: where the matching requests go.
            routing: priority, paths and hosts.
            listener: the listener to add the rule to, e.g. a test listener.
                Default: the HTTPS listener.
            scope: where the rule is created; a service in another stack passes itself, so
                its rule lives in its own stack and the load balancer's stack never depends
                on it. Default: this load balancer.
        """
        listener = listener or self.listener
        owner = scope or self
        problems = Problems(owner, construct_id)
        problems.require(
            owner.node.try_find_child(construct_id) is None,
            "construct_id",
            "a route with this id already exists",
            construct_id,
            "give each service sharing the load balancer a distinct construct id",
        )
        self.check_route(
            problems, routing, listener=None if listener is self.listener else listener
        )
        problems.raise_if_any()
        self._priorities.setdefault(listener.node.id, set()).add(routing.priority)
        self._routes.setdefault(listener.node.id, {})[_conditions(routing)] = routing.priority
        conditions = []
        if routing.host_headers:
            conditions.append(elbv2.ListenerCondition.host_headers(list(routing.host_headers)))
        conditions.append(
            elbv2.ListenerCondition.path_patterns(list(routing.path_patterns) or ["/*"])
        )
        action = None
        if routing.authentication is not None:
            action = routing.authentication.action(elbv2.ListenerAction.forward([target_group]))
            allow_identity_provider(self.security_group)
        return elbv2.ApplicationListenerRule(
            owner,
            construct_id,
            listener=listener,
            priority=routing.priority,
            conditions=conditions,
            target_groups=None if action else [target_group],
            action=action,
        )


def private_subnet_type(vpc: ec2.IVpc) -> ec2.SubnetType:
    return (
        ec2.SubnetType.PRIVATE_WITH_EGRESS
        if vpc.private_subnets
        else ec2.SubnetType.PRIVATE_ISOLATED
    )


def _conditions(routing: ListenerRouting) -> tuple[frozenset[str], frozenset[str]]:
    """What a route matches: its hosts and its paths (every path when none are given)."""
    return frozenset(routing.host_headers), frozenset(routing.path_patterns or ["/*"])


def _check_domain(problems: Problems, domain: DomainOptions) -> None:
    name = domain.domain_name
    if is_token(name):
        return
    if not problems.require(
        "." in name and " " not in name and "/" not in name,
        "domain.domain_name",
        "must be a fully qualified DNS name",
        name,
        "e.g. 'app.example.com'",
    ):
        return
    zone = getattr(domain.hosted_zone, "zone_name", None)
    if isinstance(zone, str) and not is_token(zone):
        zone = zone.rstrip(".").lower()
        problems.require(
            name.rstrip(".").lower() == zone or name.rstrip(".").lower().endswith("." + zone),
            "domain.domain_name",
            f"is not inside the hosted zone {zone!r}: the certificate cannot be validated and "
            "the alias record cannot be created there",
            name,
            f"use a name ending in '.{zone}', or the hosted zone that holds {name!r}",
        )


def warn_deletion_protection_off(load_balancer: Construct) -> None:
    """The loud opt-out of a load balancer's deletion protection (``SecureLoadBalancer``,
    ``SecureNetworkLoadBalancer``)."""
    cdk.Annotations.of(load_balancer).add_warning_v2(
        "ecs-patterns-plus:deletion-protection-off",
        "Load balancer deletion protection is off: a stack update or deletion can remove it "
        "and its DNS name.",
    )


def is_anywhere(peer: ec2.IPeer) -> bool:
    """True for the any-IPv4 / any-IPv6 peers."""
    return peer.unique_id in ("0.0.0.0/0", "::/0")


def _managed_web_acl(scope: Construct) -> tuple[wafv2.CfnWebACL, logs.LogGroup]:
    """A regional web ACL with the AWS managed rule groups, logging to an encrypted group."""
    rules = [
        wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS", name=name
                )
            ),
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            ),
        )
        for priority, name in enumerate(defaults.WAF_MANAGED_RULE_GROUPS)
    ]
    web_acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        rules=rules,
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True,
            metric_name=cdk.Names.unique_id(scope),
            sampled_requests_enabled=True,
        ),
    )
    key: kms.IKey = stack_key(scope)
    log_group = encrypted_log_group(
        scope,
        "WafLogGroup",
        key=key,
        # WAF only delivers to log groups whose name starts with aws-waf-logs-.
        log_group_name=f"aws-waf-logs-{cdk.Names.unique_resource_name(scope, max_length=60)}",
    )
    wafv2.CfnLoggingConfiguration(
        scope,
        "WafLogging",
        resource_arn=web_acl.attr_arn,
        log_destination_configs=[
            cdk.Stack.of(scope).format_arn(
                service="logs",
                resource="log-group",
                resource_name=log_group.log_group_name,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
        ],
    )
    return web_acl, log_group
