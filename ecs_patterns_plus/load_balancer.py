"""SecureLoadBalancer: an HTTPS-only Application Load Balancer that services share by route."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
from .encryption import create_key, encrypted_log_group
from .errors import Problems, checked, is_token

MAX_RULE_PRIORITY = 50000


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
    """

    priority: int
    path_patterns: Sequence[str] = ()
    host_headers: Sequence[str] = ()


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
        redirect_listener, alias_record, url.
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
        if access_logs_bucket is None:
            region = cdk.Stack.of(scope).region
            problems.require(
                not cdk.Token.is_unresolved(region),
                "access_logs_bucket",
                "ALB access logs need the stack's region to be known at synth time",
                region,
                "give the stack env=cdk.Environment(region=...)",
            )
        if domain is not None and not is_token(domain.domain_name):
            problems.require(
                "." in domain.domain_name and " " not in domain.domain_name,
                "domain.domain_name",
                "must be a fully qualified DNS name",
                domain.domain_name,
                "e.g. 'app.example.com'",
            )
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        self._priorities: dict[str, set[int]] = {}
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
                subnet_type=ec2.SubnetType.PUBLIC if internet_facing else _private_subnet_type(vpc)
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
            cdk.Annotations.of(self).add_warning_v2(
                "ecs-patterns-plus:deletion-protection-off",
                "Load balancer deletion protection is off: a stack update or deletion can "
                "remove it and its DNS name.",
            )

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

        self.server_access_logs_bucket: s3.Bucket | None = None
        if access_logs_bucket is None:
            self.server_access_logs_bucket = _log_bucket(self, "ServerAccessLogsBucket")
            compliance.FINAL_ACCESS_LOG_BUCKET.apply(self.server_access_logs_bucket)
            access_logs_bucket = _log_bucket(
                self, "AccessLogsBucket", server_access_logs_bucket=self.server_access_logs_bucket
            )
        self.access_logs_bucket = access_logs_bucket
        self.load_balancer.log_access_logs(access_logs_bucket, prefix="alb")

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
        existing = self.node.try_find_child(f"TestListener{port}")
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

    def add_route(
        self,
        construct_id: str,
        *,
        target_group: elbv2.IApplicationTargetGroup,
        routing: ListenerRouting,
        listener: elbv2.ApplicationListener | None = None,
    ) -> elbv2.ApplicationListenerRule:
        """Forward the requests ``routing`` matches to ``target_group``; returns the rule.

        ``listener`` defaults to the HTTPS listener (a test listener takes the same routes).
        """
        listener = listener or self.listener
        used = self._priorities.setdefault(listener.node.id, set())
        problems = Problems(self, construct_id)
        problems.require(
            self.node.try_find_child(construct_id) is None,
            "construct_id",
            "a route with this id already exists on the load balancer",
            construct_id,
            "give each service sharing the load balancer a distinct construct id",
        )
        if problems.in_range("routing.priority", routing.priority, 1, MAX_RULE_PRIORITY):
            problems.require(
                routing.priority not in used,
                "routing.priority",
                "is already used by another route on this load balancer",
                routing.priority,
                f"pick a free priority (used: {sorted(used)})",
            )
        problems.raise_if_any()
        used.add(routing.priority)
        conditions = []
        if routing.host_headers:
            conditions.append(elbv2.ListenerCondition.host_headers(list(routing.host_headers)))
        conditions.append(
            elbv2.ListenerCondition.path_patterns(list(routing.path_patterns) or ["/*"])
        )
        return elbv2.ApplicationListenerRule(
            self,
            construct_id,
            listener=listener,
            priority=routing.priority,
            conditions=conditions,
            target_groups=[target_group],
        )


def _private_subnet_type(vpc: ec2.IVpc) -> ec2.SubnetType:
    return (
        ec2.SubnetType.PRIVATE_WITH_EGRESS
        if vpc.private_subnets
        else ec2.SubnetType.PRIVATE_ISOLATED
    )


def is_anywhere(peer: ec2.IPeer) -> bool:
    """True for the any-IPv4 / any-IPv6 peers."""
    return peer.unique_id in ("0.0.0.0/0", "::/0")


def _log_bucket(
    scope: Construct, construct_id: str, *, server_access_logs_bucket: s3.IBucket | None = None
) -> s3.Bucket:
    """A private, SSL-only, versioned, SSE-S3 log bucket with lifecycle expiry, kept on delete."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=defaults.LOG_BUCKET_MINIMUM_TLS_VERSION,
        versioned=True,
        # Object Lock on (CT.S3.PR.9) without a default retention: log delivery refuses
        # buckets with one, and the lifecycle rule must still expire old logs.
        object_lock_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=defaults.DATA_REMOVAL_POLICY,
        server_access_logs_bucket=server_access_logs_bucket,
        server_access_logs_prefix="s3/" if server_access_logs_bucket else None,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireLogs",
                expiration=defaults.ACCESS_LOG_EXPIRATION,
                noncurrent_version_expiration=defaults.NONCURRENT_LOG_EXPIRATION,
                abort_incomplete_multipart_upload_after=defaults.INCOMPLETE_UPLOAD_EXPIRATION,
            )
        ],
    )
    # Native EventBridge notifications (CT.S3.PR.4) without CDK's notification Lambda.
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
            event_bridge_enabled=True
        )
    )
    compliance.LOG_BUCKET_ENCRYPTION.apply(bucket)
    return bucket


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
    key: kms.IKey = create_key(scope, "WafLogKey", description="WAF logs")
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
