"""Service Connect: how services publish named ports in the cluster's namespace and call them.

A server publishes its task definition's named port (``orders``) under a name clients call
(``http://orders:8080``); a client names its servers (``connects_to=[orders]``), which joins
it to the namespace and admits it to each server's port, and nothing else. ECS adds a proxy
to every task of both; its logs and access logs go to the service's own encrypted log group.

Relied on (ECS developer guide, "Service Connect" and "Service Connect with TLS"; API
reference ``ServiceConnectService``, ``TimeoutConfiguration``): a client reaches only the
services of its own namespace; the server proxy listens on the container port, so that port
is what a server's security group admits; per-request timeouts do not apply to TCP; Service
Connect TLS needs AWS Private CA and an ECS infrastructure role; Cloud Map costs nothing
when Service Connect uses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import aws_cdk as cdk
from aws_cdk import aws_acmpca as acmpca
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct, Node

from .. import compliance, defaults
from ..encryption import stack_key
from ..errors import Problems, duration_seconds, is_token
from ..task_definition.validation import PORT_NAME

if TYPE_CHECKING:
    from ..task_definition import HardenedTaskDefinition

_DNS_NAME = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,126}$")


@dataclass(frozen=True, kw_only=True)
class ServiceConnectTls:
    """TLS between Service Connect proxies, with certificates from AWS Private CA.

    It costs money: a Private CA in short-lived certificate mode (which AWS recommends for
    Service Connect) is $50 a month per CA, general-purpose mode $400, plus about six
    certificates per service a month ($0.058 each in short-lived mode); ECS rotates them
    every five days. The CA must carry the tag ``AmazonECSManaged: true``.

    Args:
        authority: the AWS Private CA (``acmpca.CertificateAuthority.from_certificate_authority_arn``).
        key: the symmetric KMS key that encrypts the private keys ECS keeps in Secrets Manager.
            Default: the stack's shared key.
    """

    authority: acmpca.ICertificateAuthority
    key: kms.IKey | None = None


@dataclass(frozen=True, kw_only=True)
class ServiceConnectOptions:
    """How a service publishes its named port in the cluster's namespace.

    Args:
        port_name: the task definition's named port to publish. Default: its ``port_name``.
        dns_name: the name clients call (``http://<dns_name>:<port>``), up to 127 lower-case
            letters, digits, ``_``, ``-`` and ``.``. Default: the port name.
        discovery_name: the name in Cloud Map and in the Service Connect metrics
            (``TargetDiscoveryName``), unique in the namespace; metrics carry it without the
            namespace, so two environments in one account and Region need different ones.
            Default: the port name.
        port: the port clients call. Default: the container port.
        idle_timeout: how long the proxy keeps an idle connection (0 turns it off).
            Default: 5 minutes (AWS's default for HTTP; TCP's is 1 hour).
        per_request_timeout: how long a request may take before the proxy answers 504
            (0 turns it off); HTTP, HTTP/2 and gRPC only. Default: 15 seconds; none for TCP.
        access_logs: write the proxy's access logs (JSON, without query strings) to the
            service's log group. Default: True.
        tls: TLS between the proxies (``ServiceConnectTls``). Default: none.
    """

    port_name: str | None = None
    dns_name: str | None = None
    discovery_name: str | None = None
    port: int | None = None
    idle_timeout: cdk.Duration = defaults.SERVICE_CONNECT_IDLE_TIMEOUT
    per_request_timeout: cdk.Duration | None = None
    access_logs: bool = True
    tls: ServiceConnectTls | None = None


@dataclass(frozen=True)
class Published:
    """What a server publishes, as its clients and monitoring read it."""

    namespace: servicediscovery.INamespace
    port_name: str
    discovery_name: str
    dns_name: str
    port: int
    container_port: int
    app_protocol: ecs.AppProtocol | None

    @property
    def endpoint(self) -> str:
        """What a client calls, e.g. ``http://orders:8080``."""
        scheme = "grpc" if self.app_protocol is ecs.AppProtocol.grpc else "http"
        if self.app_protocol is None:
            return f"{self.dns_name}:{self.port}"
        return f"{scheme}://{self.dns_name}:{self.port}"


class Server(Protocol):
    """A service that publishes a port with Service Connect (``BackendService``)."""

    @property
    def node(self) -> Node: ...

    @property
    def published(self) -> Published: ...

    def allow_from(self, *clients: ec2.IConnectable) -> None: ...


def namespace_of(cluster: ecs.ICluster) -> servicediscovery.INamespace | None:
    """The cluster's Service Connect namespace (``HardenedCluster`` creates one)."""
    return cluster.default_cloud_map_namespace


def check_joins(
    problems: Problems,
    *,
    cluster: ecs.ICluster,
    task_definition: HardenedTaskDefinition,
    connects_to: Sequence[Server],
    publishes: bool,
) -> None:
    """Record problems with a service joining Service Connect (as a client or a server)."""
    if not (publishes or connects_to):
        return
    namespace = namespace_of(cluster)
    argument = "cluster" if publishes else "connects_to"
    if not problems.require(
        namespace is not None,
        argument,
        "the cluster has no Cloud Map namespace, which Service Connect needs",
        cluster.node.path,
        "use a HardenedCluster (it creates one by default) or call "
        "cluster.add_default_cloud_map_namespace(name=..., use_for_service_connect=True)",
    ):
        return
    assert namespace is not None
    for index, server in enumerate(connects_to):
        theirs = server.published.namespace
        problems.require(
            theirs.namespace_arn == namespace.namespace_arn,
            f"connects_to[{index}]",
            f"{server.node.path} publishes in another namespace than this service's cluster "
            "uses; a Service Connect client reaches only the services of its own namespace",
            server.node.path,
            "run both services in clusters that share one namespace (the same HardenedCluster), "
            "or call it through a load balancer",
        )
    spare = task_definition.unreserved_memory_mib
    problems.require(
        spare is None or spare >= defaults.SERVICE_CONNECT_PROXY_MEMORY_MIB,
        "task_definition",
        f"its containers' hard memory limits leave {spare} MiB of the task's memory to the "
        "Service Connect proxy ECS adds to each task, which needs "
        f"{defaults.SERVICE_CONNECT_PROXY_MEMORY_MIB} MiB (AWS's recommendation)",
        spare,
        "name the port (HardenedTaskDefinition(..., port_name='orders') leaves it), or lower "
        "memory_limit_mib",
    )


def check_published(
    problems: Problems,
    options: ServiceConnectOptions,
    task_definition: HardenedTaskDefinition,
) -> None:
    """Record problems with what a server publishes."""
    name = options.port_name or task_definition.port_name
    if not problems.require(
        name is not None,
        "task_definition",
        "has no named port; Service Connect publishes a port mapping by its name",
        task_definition.container_port,
        "build it with HardenedTaskDefinition(..., container_port=8080, port_name='orders')",
    ):
        return
    problems.require(
        options.port_name is None
        or task_definition.port_name is None
        or is_token(options.port_name)
        or options.port_name == task_definition.port_name,
        "service_connect.port_name",
        f"names no port of the task definition (its port is named {task_definition.port_name!r})",
        options.port_name,
        f"pass port_name={task_definition.port_name!r} or leave it out",
    )
    for argument, value in (
        ("dns_name", options.dns_name),
        ("discovery_name", options.discovery_name),
    ):
        if value is None or is_token(value):
            continue
        pattern = _DNS_NAME if argument == "dns_name" else PORT_NAME
        problems.require(
            bool(pattern.match(value)),
            f"service_connect.{argument}",
            "must be lower-case letters, digits, '_' or '-'"
            + (" and '.', up to 127 characters" if argument == "dns_name" else ", up to 64")
            + ", not starting with '-'",
            value,
            "e.g. 'orders'",
        )
    problems.in_range("service_connect.port", options.port, 1, 65535)
    problems.seconds_in_range(
        "service_connect.idle_timeout", options.idle_timeout, 0, 2_147_483_647
    )
    problems.seconds_in_range(
        "service_connect.per_request_timeout", options.per_request_timeout, 0, 2_147_483_647
    )
    problems.require(
        options.per_request_timeout is None or task_definition.app_protocol is not None,
        "service_connect.per_request_timeout",
        "applies to HTTP, HTTP/2 and gRPC; the port speaks TCP (app_protocol=None), for which "
        "only idle_timeout applies",
        options.per_request_timeout,
        "leave per_request_timeout out, or give the port an app_protocol",
    )


def published(
    options: ServiceConnectOptions, task_definition: HardenedTaskDefinition, cluster: ecs.ICluster
) -> Published:
    """What ``options`` publish (checked by ``check_published``)."""
    name = options.port_name or task_definition.port_name
    namespace = namespace_of(cluster)
    port = task_definition.container_port
    assert name is not None and namespace is not None and port is not None
    return Published(
        namespace=namespace,
        port_name=name,
        discovery_name=options.discovery_name or name,
        dns_name=options.dns_name or name,
        port=options.port or port,
        container_port=port,
        app_protocol=task_definition.app_protocol,
    )


def service_connect_props(
    scope: Construct,
    task_definition: HardenedTaskDefinition,
    options: ServiceConnectOptions | None,
    publishing: Published | None,
) -> ecs.ServiceConnectProps:
    """The service's Service Connect configuration: the proxy's logs and access logs to the
    service's log group, and the published port, if any."""
    access_logs = options.access_logs if options is not None else True
    services = None
    if options is not None and publishing is not None:
        per_request = options.per_request_timeout
        if per_request is None and publishing.app_protocol is not None:
            per_request = defaults.SERVICE_CONNECT_PER_REQUEST_TIMEOUT
        # CDK cannot read token ports and durations: ``write_tokens`` writes them after.
        services = [
            ecs.ServiceConnectService(
                port_mapping_name=publishing.port_name,
                discovery_name=publishing.discovery_name,
                dns_name=publishing.dns_name,
                port=None if is_token(publishing.port) else publishing.port,
                idle_timeout=_literal(options.idle_timeout),
                per_request_timeout=_literal(per_request),
                tls=_tls(scope, options.tls) if options.tls is not None else None,
            )
        ]
    return ecs.ServiceConnectProps(
        services=services,
        log_driver=ecs.LogDrivers.aws_logs(
            stream_prefix=defaults.SERVICE_CONNECT_LOG_PREFIX,
            log_group=task_definition.log_group,
            mode=defaults.LOG_DRIVER_MODE,
            max_buffer_size=cdk.Size.mebibytes(defaults.LOG_MAX_BUFFER_SIZE_MIB),
        ),
        access_log_configuration=ecs.ServiceConnectAccessLogConfiguration(
            format=defaults.SERVICE_CONNECT_ACCESS_LOG_FORMAT, include_query_parameters=False
        )
        if access_logs
        else None,
    )


def write_tokens(
    service: ecs.BaseService, options: ServiceConnectOptions, publishing: Published
) -> None:
    """Write the token port and timeouts CDK's own checks cannot read into the template."""
    path = "ServiceConnectConfiguration.Services.0."
    values = {
        "ClientAliases.0.Port": publishing.port,
        "Timeout.IdleTimeoutSeconds": options.idle_timeout,
        "Timeout.PerRequestTimeoutSeconds": options.per_request_timeout,
    }
    resource = service.node.default_child
    assert isinstance(resource, cdk.CfnResource)
    for name, value in values.items():
        if isinstance(value, cdk.Duration) and duration_seconds(value) is None:
            resource.add_property_override(path + name, value.to_seconds())
        elif value is not None and is_token(value):
            resource.add_property_override(path + name, value)


def _literal(duration: cdk.Duration | None) -> cdk.Duration | None:
    return None if duration is None or duration_seconds(duration) is None else duration


def _tls(scope: Construct, tls: ServiceConnectTls) -> ecs.ServiceConnectTlsConfiguration:
    """TLS with ``tls.authority``, and the ECS infrastructure role that issues the proxies'
    certificates and keeps their keys (``ecs-sc!*`` secrets) encrypted with ``tls.key``.

    The role carries the permissions of AWS's managed policy
    ``AmazonECSInfrastructureRolePolicyForServiceConnectTransportLayerSecurity``, narrowed to
    this CA and key, as an inline policy.
    """
    key = tls.key or stack_key(scope)
    # Pseudo parameters, not the stack's literal region: one acknowledgement fits every stack.
    secrets = f"arn:{cdk.Aws.PARTITION}:secretsmanager:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
    secrets += ":secret:ecs-sc!*"
    role = iam.Role(
        scope,
        "ServiceConnectTlsRole",
        assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
        description="ECS: issue Service Connect TLS certificates and keep their private keys",
    )
    policy = iam.ManagedPolicy(
        scope,
        "ServiceConnectTlsPolicy",
        description="Service Connect TLS: this CA's certificates, ECS's ecs-sc! secrets, one key",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:CreateSecret",
                    "secretsmanager:TagResource",
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:UpdateSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:RotateSecret",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                resources=[secrets],
            ),
            iam.PolicyStatement(
                actions=[
                    "acm-pca:GetCertificate",
                    "acm-pca:GetCertificateAuthorityCertificate",
                    "acm-pca:DescribeCertificateAuthority",
                    "acm-pca:IssueCertificate",
                ],
                resources=[tls.authority.certificate_authority_arn],
            ),
            iam.PolicyStatement(
                actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key.key_arn],
            ),
        ],
    )
    compliance.SERVICE_CONNECT_TLS_SECRETS.apply(policy)
    return ecs.ServiceConnectTlsConfiguration(
        aws_pca_authority_arn=tls.authority.certificate_authority_arn, kms_key=key, role=role
    )
