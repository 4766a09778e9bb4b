"""SecureNetworkLoadBalancer: a Network Load Balancer with security groups, TLS 1.3 and access logs.

Relied on (Elastic Load Balancing, "Network Load Balancers": "Security groups", "Access logs",
"Listeners", "Target group attributes"): security groups can only be attached when the load
balancer is created, and targets may then admit the load balancer's security group; access
logs are written for TLS listeners only; client IP preservation is always on for UDP target
groups and off by default for TCP and TLS ones with IP targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import defaults
from .errors import Problems, checked, is_token
from .load_balancer import private_subnet_type, warn_deletion_protection_off
from .log_buckets import access_log_buckets, check_log_region

_PROTOCOLS = {
    "TCP": elbv2.Protocol.TCP,
    "TLS": elbv2.Protocol.TLS,
    "UDP": elbv2.Protocol.UDP,
    "TCP_UDP": elbv2.Protocol.TCP_UDP,
}


@dataclass(frozen=True, kw_only=True)
class NlbListener:
    """A listener of a ``SecureNetworkLoadBalancer``, forwarding one port to a service.

    Args:
        port: the port clients connect to, 1-65535, one service per port.
        protocol: ``"TLS"`` (terminated with ``certificate`` and the TLS 1.3 policy),
            ``"TCP"``, ``"UDP"`` or ``"TCP_UDP"``. Default: ``"TLS"``.
        certificate: the ACM certificate of a TLS listener. Default: the load balancer's.
        alpn_policy: ALPN of a TLS listener, e.g. ``elbv2.AlpnPolicy.HTTP2_ONLY`` for gRPC.
            Default: none.
    """

    port: int
    protocol: str = defaults.NLB_LISTENER_PROTOCOL
    certificate: acm.ICertificate | None = None
    alpn_policy: elbv2.AlpnPolicy | None = None

    @property
    def elb_protocol(self) -> elbv2.Protocol:
        return _PROTOCOLS[self.protocol]

    @property
    def carries_udp(self) -> bool:
        return self.protocol in ("UDP", "TCP_UDP")

    def ports(self, port: int) -> list[ec2.Port]:
        """The security group ports that carry this listener's protocol on ``port``."""
        tcp = [ec2.Port.tcp(port)] if self.protocol != "UDP" else []
        return [*tcp, *([ec2.Port.udp(port)] if self.carries_udp else [])]


class SecureNetworkLoadBalancer(Construct):
    """A Network Load Balancer for TCP, TLS and UDP services, hardened for production.

    Internal unless asked; its own security group admits only ``allowed_sources`` on the
    listener ports services add; cross-zone load balancing; deletion protection; access logs
    (written for TLS listeners) to an encrypted, versioned, SSL-only, private bucket.

    Args:
        vpc: the VPC. Internet-facing load balancers use its public subnets, internal ones
            its private subnets.
        certificate: the ACM certificate of TLS listeners that name none. Default: none
            (a TLS listener then needs its own).
        internet_facing: accept traffic from the internet. Default: False.
        allowed_sources: who may connect (CIDR peers, prefix lists, security groups).
            Default: anywhere (IPv4) when internet-facing, nobody when internal (add callers
            with ``allow_from``). Anywhere is not acknowledged: no WAF protects a Network
            Load Balancer, so the rule packs report it (AwsSolutions-EC23) for the app to
            fix or acknowledge.
        deletion_protection: refuse deletion. Default: True (off warns,
            ``ecs-patterns-plus:deletion-protection-off``).
        access_logs_bucket: where access logs go. Default: a new hardened bucket, as for
            ``SecureLoadBalancer``.
        load_balancer_name: Default: generated.

    Attributes:
        load_balancer, security_group, certificate, access_logs_bucket,
        server_access_logs_bucket (None for a passed-in bucket), listeners (by port),
        dns_name.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        certificate: acm.ICertificate | None = None,
        internet_facing: bool = defaults.INTERNET_FACING,
        allowed_sources: Sequence[ec2.IPeer] | None = None,
        deletion_protection: bool = defaults.LOAD_BALANCER_DELETION_PROTECTION,
        access_logs_bucket: s3.IBucket | None = None,
        load_balancer_name: str | None = None,
    ) -> None:
        problems = Problems(scope, construct_id)
        check_log_region(problems, scope, access_logs_bucket)
        problems.require(
            bool(vpc.public_subnets) if internet_facing else bool(vpc.private_subnets),
            "internet_facing" if internet_facing else "vpc",
            "the VPC has no public subnets for an internet-facing load balancer"
            if internet_facing
            else "has no private subnets for an internal load balancer",
            internet_facing,
            "use a SecureVpc, or change internet_facing",
        )
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        self.vpc = vpc
        self.certificate = certificate
        self.listeners: dict[int, elbv2.NetworkListener] = {}
        self._specs: dict[int, NlbListener] = {}
        self._owners: dict[int, str] = {}
        self._sources = list(
            allowed_sources
            if allowed_sources is not None
            else ([ec2.Peer.any_ipv4()] if internet_facing else [])
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Network load balancer: listener ports from allowed sources; only to "
            "its targets",
            allow_all_outbound=False,
        )
        self.load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=internet_facing,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PUBLIC if internet_facing else private_subnet_type(vpc)
            ),
            security_groups=[self.security_group],
            cross_zone_enabled=defaults.NLB_CROSS_ZONE,
            deletion_protection=deletion_protection,
            load_balancer_name=load_balancer_name,
        )
        if not deletion_protection:
            warn_deletion_protection_off(self)
        self.access_logs_bucket, self.server_access_logs_bucket = access_log_buckets(
            self, access_logs_bucket
        )
        self.load_balancer.log_access_logs(self.access_logs_bucket, prefix="nlb")
        self.dns_name = self.load_balancer.load_balancer_dns_name

    @property
    def connections(self) -> ec2.Connections:
        return self.load_balancer.connections

    def allow_from(self, *sources: ec2.IPeer) -> None:
        """Admit ``sources`` to every listener, those added later too."""
        self._sources.extend(sources)
        for port, listener in self._specs.items():
            self._admit(sources, port, listener)

    def check_listener(self, problems: Problems, argument: str, listener: NlbListener) -> None:
        """Record problems with ``listener`` (``argument`` is how the caller named it)."""
        if not problems.require(
            listener.protocol in _PROTOCOLS,
            f"{argument}.protocol",
            "must be one of the Network Load Balancer's protocols",
            listener.protocol,
            f"pass one of {sorted(_PROTOCOLS)}",
        ):
            return
        if problems.in_range(f"{argument}.port", listener.port, 1, 65535) and not is_token(
            listener.port
        ):
            problems.require(
                listener.port not in self._owners,
                f"{argument}.port",
                f"is taken on this load balancer by {self._owners.get(listener.port)}",
                listener.port,
                f"use a port other than {sorted(self._owners)}",
            )
        tls = listener.protocol == "TLS"
        problems.require(
            not tls or (listener.certificate or self.certificate) is not None,
            f"{argument}.certificate",
            "a TLS listener needs a certificate, and neither the listener nor the load "
            "balancer has one",
            None,
            "pass NlbListener(certificate=...) or SecureNetworkLoadBalancer(certificate=...), "
            "or protocol='TCP' to pass TLS through to the tasks",
        )
        for name in ("certificate", "alpn_policy"):
            problems.require(
                tls or getattr(listener, name) is None,
                f"{argument}.{name}",
                f"is only used by TLS listeners; this one is {listener.protocol}",
                listener.protocol,
                f"use protocol='TLS', or leave {name} out",
            )

    def add_listener(
        self,
        scope: Construct,
        construct_id: str,
        listener: NlbListener,
        target_group: elbv2.INetworkTargetGroup,
        *,
        test_sources: Sequence[ec2.IPeer] | None = None,
    ) -> elbv2.NetworkListener:
        """Forward ``listener`` (checked with ``check_listener``) to ``target_group``, and
        admit the allowed sources to its port (a deployment's test listener: only
        ``test_sources``, never those added later). The listener is created in ``scope`` (the
        service's construct), so a service in another stack keeps it in its own stack."""
        tls = listener.protocol == "TLS"
        certificate = listener.certificate or self.certificate
        added = elbv2.NetworkListener(
            scope,
            construct_id,
            load_balancer=self.load_balancer,
            port=listener.port,
            protocol=listener.elb_protocol,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)]
            if tls and certificate is not None
            else None,
            ssl_policy=defaults.TLS_POLICY if tls else None,
            alpn_policy=listener.alpn_policy,
            default_action=elbv2.NetworkListenerAction.forward([target_group]),
        )
        self._owners[listener.port] = scope.node.path
        if test_sources is not None:
            self._admit(test_sources, listener.port, listener)
            return added
        self.listeners[listener.port] = added
        self._specs[listener.port] = listener
        self._admit(self._sources, listener.port, listener)
        return added

    def _admit(self, sources: Sequence[ec2.IPeer], port: int, listener: NlbListener) -> None:
        for peer in sources:
            for allowed in listener.ports(port):
                self.security_group.add_ingress_rule(
                    peer, allowed, f"Clients to the load balancer on {port}"
                )
