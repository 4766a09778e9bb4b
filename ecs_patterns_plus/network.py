"""SecureVpc and VpcEndpoints: private networking for ECS tasks."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import compliance, defaults
from .egress import EgressFirewall, EgressOptions
from .encryption import stack_key
from .errors import Problems, checked, is_token
from .launch import check_subnets
from .retention import Retention, check_retention, retained_log_group

_KNOWN_ENDPOINTS = (*defaults.INTERFACE_ENDPOINTS, *defaults.GATEWAY_ENDPOINTS)


def check_endpoint_names(problems: Problems, argument: str, names: Iterable[str]) -> None:
    """Record a problem for endpoint names ``VpcEndpoints`` does not know."""
    unknown = [name for name in names if name not in _KNOWN_ENDPOINTS]
    problems.require(
        not unknown,
        argument,
        f"unknown endpoint name(s) {', '.join(map(repr, unknown))}",
        list(names),
        f"use names from {', '.join(_KNOWN_ENDPOINTS)}",
    )


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def egress_only_security_group(
    scope: Construct, vpc: ec2.IVpc, *, description: str, port: int, egress_description: str
) -> ec2.SecurityGroup:
    """A security group with no inbound rules and one way out: TCP ``port`` to any IPv4 address.

    Its child id is ``SecurityGroup``; AWS APIs are reached through VPC endpoints or NAT.
    """
    group = ec2.SecurityGroup(
        scope, "SecurityGroup", vpc=vpc, description=description, allow_all_outbound=False
    )
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(port), egress_description)
    return group


class VpcEndpoints(Construct):
    """The VPC endpoints tasks need to run with no internet route, on their own security group.

    The security group admits HTTPS (443) only from the security groups passed to
    ``allow_from``; nothing is open to the VPC CIDR.

    Args:
        vpc: the VPC to add the endpoints to.
        services: endpoint names, from ``ecr_api``, ``ecr_dkr``, ``s3``, ``logs``,
            ``secretsmanager``, ``ssm``, ``kms``, ``ssmmessages``, ``sts``, ``monitoring``,
            ``ecs``, ``ecs_agent``, ``ecs_telemetry``, ``sqs``, ``sns``, ``events``,
            ``xray``, ``dynamodb``.
            Default: ``defaults.FARGATE_ENDPOINTS`` (ECR api + dkr, S3, Logs,
            Secrets Manager, SSM, KMS).
        subnets: where the interface endpoints' network interfaces live.
            Default: the VPC's private subnets, one per AZ.

    Attributes:
        vpc: the VPC.
        security_group: the interface endpoints' security group.
        interface_endpoints / gateway_endpoints: the endpoints, by name.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        services: Sequence[str] = defaults.FARGATE_ENDPOINTS,
        subnets: ec2.SubnetSelection | None = None,
    ) -> None:
        problems = Problems(scope, construct_id)
        check_endpoint_names(problems, "services", services)
        if subnets is not None:
            check_subnets(problems, "subnets", vpc, subnets, what="endpoints")
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        names = list(dict.fromkeys(services))
        self.vpc = vpc
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="VPC interface endpoints: HTTPS from task security groups only",
            allow_all_outbound=False,
        )
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {
            name: ec2.InterfaceVpcEndpoint(
                self,
                _pascal(name),
                vpc=vpc,
                service=defaults.INTERFACE_ENDPOINTS[name],
                security_groups=[self.security_group],
                subnets=subnets,
                private_dns_enabled=True,
                open=False,
            )
            for name in names
            if name in defaults.INTERFACE_ENDPOINTS
        }
        self.gateway_endpoints: dict[str, ec2.GatewayVpcEndpoint] = {
            name: ec2.GatewayVpcEndpoint(
                self, _pascal(name), vpc=vpc, service=defaults.GATEWAY_ENDPOINTS[name]
            )
            for name in names
            if name in defaults.GATEWAY_ENDPOINTS
        }

    @checked
    def allow_from(self, *peers: ec2.IConnectable, egress: bool = True) -> None:
        """Admit HTTPS from each peer's security groups (and let restricted peers send it).

        The rules live in the peer's stack, so a service stack may use the endpoints of a
        network stack without making the network stack depend on it.

        Args:
            peers: what may reach the endpoints (services, tasks, security groups).
            egress: also add an HTTPS egress rule to each peer's groups; a peer that may
                already send HTTPS anywhere needs none. Default: True.
        """
        port = ec2.Port.tcp(defaults.ENDPOINT_PORT)
        description = "HTTPS from tasks to VPC endpoints"
        for peer in peers:
            for group in peer.connections.security_groups:
                self.security_group.add_ingress_rule(group, port, description, remote_rule=True)
                if egress:
                    group.add_egress_rule(self.security_group, port, description)


class SecureVpc(Construct):
    """A VPC for ECS: tasks in private subnets, flow logs, restricted default security group.

    Public subnets hold only load balancers and NAT gateways and never auto-assign
    public IPs. With ``nat_gateways=0`` the VPC is isolated: private subnets have no
    route to the internet and tasks reach AWS through the VPC endpoints.

    Args:
        cidr: the VPC's IPv4 CIDR block, /16 to /28 (large enough for the subnets); a literal,
            since the subnets are carved from it at synth time. Default: ``10.0.0.0/16``.
        max_azs: availability zones to use, 2 to 6: the first ``max_azs`` of the
            region's zones (``Fn::GetAZs``), resolved at deploy time; a literal (one subnet
            per AZ is created at synth time). Default: 2.
        nat_gateways: NAT gateways, 0 (isolated) up to one per AZ; use one per AZ in
            production, 1 to save cost; a literal. Default: one per AZ.
        public_subnets: create public subnets for internet-facing load balancers and
            NAT. Default: True (required when ``nat_gateways`` > 0).
        endpoints: VPC endpoints to create (see ``VpcEndpoints``); ``()`` for none, which
            isolated VPCs do not allow. Default: ``defaults.FARGATE_ENDPOINTS``.
        flow_log_retention: how long flow logs are kept: ``logs.RetentionDays`` or days (a
            token too). Default: one year.
        encryption_key: KMS key for the flow-log (and DNS query-log) group. Default: the
            stack's shared key.
        egress: resolve only the AWS names and ``egress.allowed_domains``, block (or alert on)
            every other name, and log DNS queries (see ``EgressFirewall``). Default: no
            DNS filtering.

    Attributes:
        vpc, flow_log, flow_log_group, encryption_key, endpoints (``None`` when none),
        egress (the ``EgressFirewall``, ``None`` without ``egress``).
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str = defaults.VPC_CIDR,
        max_azs: int = defaults.MAX_AZS,
        nat_gateways: int | None = None,
        public_subnets: bool = True,
        endpoints: Sequence[str] = defaults.FARGATE_ENDPOINTS,
        flow_log_retention: Retention = defaults.LOG_RETENTION,
        encryption_key: kms.IKey | None = None,
        egress: EgressOptions | None = None,
    ) -> None:
        nat_count = max_azs if nat_gateways is None else nat_gateways
        problems = Problems(scope, construct_id)
        self._validate(problems, cidr, max_azs, nat_gateways, public_subnets, endpoints)
        check_retention(problems, "flow_log_retention", flow_log_retention)
        if egress is not None:
            egress.validate(problems, "egress")
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        isolated = nat_count == 0
        subnets = [
            ec2.SubnetConfiguration(
                name="Private",
                subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                if isolated
                else ec2.SubnetType.PRIVATE_WITH_EGRESS,
                cidr_mask=defaults.PRIVATE_SUBNET_MASK,
            )
        ]
        if public_subnets:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=defaults.PUBLIC_SUBNET_MASK,
                    map_public_ip_on_launch=False,
                )
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            # Fn::GetAZs keeps the template region- and account-agnostic (no literal AZs,
            # no context lookup) and allows more than the 2 AZs CDK assumes without an account.
            availability_zones=[cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(max_azs)],
            nat_gateways=nat_count,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
        )
        for subnet in self.vpc.public_subnets:
            compliance.PUBLIC_SUBNET_ROUTE.apply(subnet)
        self._acknowledge_custom_resource_lambdas()

        self.encryption_key = encryption_key or stack_key(self)
        self.flow_log_group = retained_log_group(
            self, "FlowLogGroup", key=self.encryption_key, retention=flow_log_retention
        )
        self.flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
            traffic_type=defaults.FLOW_LOG_TRAFFIC,
        )
        compliance.GRANT_DEFAULT_POLICY.apply(self.flow_log.node.find_child("IAMRole"))
        self.endpoints = (
            VpcEndpoints(self, "Endpoints", vpc=self.vpc, services=endpoints) if endpoints else None
        )
        self.egress = (
            EgressFirewall(
                self,
                "Egress",
                vpc=self.vpc,
                options=egress
                if egress.log_retention is not None
                else replace(egress, log_retention=flow_log_retention),
                encryption_key=self.encryption_key,
            )
            if egress is not None
            else None
        )

    @staticmethod
    def _validate(
        problems: Problems,
        cidr: str,
        max_azs: int,
        nat_gateways: int | None,
        public_subnets: bool,
        endpoints: Sequence[str],
    ) -> None:
        literal = all(
            [
                problems.require(
                    not is_token(value),
                    argument,
                    f"must be known at synth time, where CDK creates {what}",
                    value,
                    f"pass a literal {'CIDR' if argument == 'cidr' else 'number'}",
                )
                for argument, value, what in (
                    ("cidr", cidr, "the subnets' blocks from it"),
                    ("max_azs", max_azs, "one subnet per AZ"),
                    ("nat_gateways", nat_gateways, "one NAT gateway each"),
                )
            ]
        )
        check_endpoint_names(problems, "endpoints", endpoints)
        if not literal:
            return  # the size checks below need all three
        nat_gateways = max_azs if nat_gateways is None else nat_gateways
        azs_ok = problems.in_range("max_azs", max_azs, 2, 6)
        if azs_ok:
            problems.in_range("nat_gateways", nat_gateways, 0, max_azs)
        if nat_gateways > 0 and not public_subnets:
            problems.add(
                "public_subnets",
                "NAT gateways live in public subnets",
                public_subnets,
                "set public_subnets=True or nat_gateways=0 for an isolated VPC",
            )
        missing = [name for name in defaults.FARGATE_ENDPOINTS if name not in endpoints]
        if nat_gateways == 0 and missing:
            problems.add(
                "endpoints",
                f"an isolated VPC (nat_gateways=0) needs the endpoints {', '.join(missing)} "
                "for tasks to pull images, write logs and read secrets",
                list(endpoints),
                "keep defaults.FARGATE_ENDPOINTS in endpoints, or add NAT gateways",
            )
        _validate_cidr(problems, cidr, max_azs if azs_ok else 2, public_subnets)

    def _acknowledge_custom_resource_lambdas(self) -> None:
        stack = cdk.Stack.of(self)
        for child in stack.node.children:
            if child.node.id.startswith("Custom::VpcRestrictDefaultSG"):
                handler = child.node.try_find_child("Handler")
                if handler is not None:
                    compliance.CDK_CUSTOM_RESOURCE_LAMBDA.apply(handler)


def _validate_cidr(problems: Problems, cidr: str, max_azs: int, public_subnets: bool) -> None:
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as error:
        problems.add("cidr", f"not a valid IPv4 network ({error})", cidr, "pass e.g. '10.0.0.0/16'")
        return
    if not 16 <= network.prefixlen <= 28:
        problems.add("cidr", "a VPC block must be /16 to /28", cidr, "pass e.g. '10.0.0.0/16'")
        return
    needed = max_azs * 2 ** (32 - defaults.PRIVATE_SUBNET_MASK)
    if public_subnets:
        needed += max_azs * 2 ** (32 - defaults.PUBLIC_SUBNET_MASK)
    largest_prefix = 32 - math.ceil(math.log2(needed))
    problems.require(
        network.prefixlen <= largest_prefix,
        "cidr",
        f"too small for {max_azs} AZs of /{defaults.PRIVATE_SUBNET_MASK} private"
        + (f" and /{defaults.PUBLIC_SUBNET_MASK} public" if public_subnets else "")
        + " subnets",
        cidr,
        f"use a /{largest_prefix} or larger block",
    )


def same_vpc(first: ec2.IVpc, second: ec2.IVpc) -> bool:
    """False only when two VPCs are known to differ (tokens of other constructs, or ids)."""
    return first is second or first.vpc_id == second.vpc_id


def check_endpoints(problems: Problems, endpoints: VpcEndpoints | None, vpc: ec2.IVpc) -> None:
    """Record a problem unless ``endpoints`` (when given) are in ``vpc``, where the tasks run."""
    if endpoints is None:
        return
    problems.require(
        same_vpc(endpoints.vpc, vpc),
        "endpoints",
        "are in another VPC than the cluster: the tasks could not reach them",
        endpoints.node.path,
        "pass the endpoints of the cluster's VPC (SecureVpc(...).endpoints)",
    )
