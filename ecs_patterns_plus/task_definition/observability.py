"""Observability sidecars of a task definition: a FireLens log router and an OpenTelemetry
collector, each a hardened sidecar preset with exactly the permissions it needs.

What this relies on (AWS documentation and the images' sources):

- ECS developer guide, "Send Amazon ECS logs to an AWS service or AWS Partner" (FireLens) and
  its "Example task definitions": one container with ``firelensConfiguration`` (type
  ``fluentbit``) is the log router, marked essential; the application's ``awsfirelens``
  log options become a Fluent Bit ``[OUTPUT]`` section (``Name`` is the plugin, the others
  its parameters; ECS writes the ``Match``); the task role needs the destination's
  permissions (``firehose:PutRecordBatch`` for Firehose); the router's own logs go through
  ``awslogs``; AWS's examples give the router a 50 MiB memory reservation; FireLens listens
  on port 24224, which the task's security group must not admit (the library's groups admit
  listener ports only).
- FireLens and ``user``: ECS used to refuse any user but uid 0 on the FireLens container
  ("If 'user' field is specified on firelens container, then 'UID' has to be '0'"). ECS
  agent 1.96.0 ("Support ECS Firelens non-root user mode") gives the socket directory to the
  container's user, so the router runs as a non-root uid (EC2 instances need that agent).
  The aws-for-fluent-bit image itself has no ``USER`` (root by default) and no ``VOLUME``;
  it writes nothing outside ``/tmp`` with the CloudWatch and Firehose outputs; ECS mounts
  the generated configuration and the log socket itself.
- Fluent Bit outputs: ``cloudwatch_logs`` (``region``, ``log_group_name``,
  ``log_stream_prefix`` + tag, ``auto_create_group`` false by default; needs
  ``logs:CreateLogStream`` and ``logs:PutLogEvents``, ``CreateLogGroup`` only to create the
  group) and ``kinesis_firehose`` (``region``, ``delivery_stream``; needs
  ``firehose:PutRecordBatch``).
- Fluent Bit's ``s3`` output (Fluent Bit manual, "Amazon S3"): needs ``s3:PutObject`` only;
  names the objects from ``s3_key_format`` (must start with ``/``, should hold ``$UUID``);
  buffers in a writable ``store_dir``; without persistent disk (Fargate) use
  ``use_put_object On``, small files, a short ``upload_timeout``; ``retry_limit`` is 1
  unless set. SSE-KMS PutObject needs ``kms:GenerateDataKey`` (Amazon S3 user guide).
- IAM user guide, "IAM policy elements: Variables and tags" and "Pass session tags in AWS
  STS": ``${aws:PrincipalTag/<key>}`` may stand in a ``Resource``, a role session's
  principal tags include the role's tags, and a variable without a value matches nothing.
- AWS Distro for OpenTelemetry collector image: runs as the unprivileged user ``aoc``
  (4317), reads its configuration from ``AOT_CONFIG_CONTENT`` when that variable is set
  (instead of ``--config``), and ships ``/healthcheck``, which polls
  ``127.0.0.1:13133``. Its built-in ECS configurations (``/etc/ecs/ecs-default-config.yaml``:
  OTLP, X-Ray and StatsD in, X-Ray and EMF out; ``ecs-xray.yaml``: OTLP traces to X-Ray;
  ``ecs-cloudwatch.yaml``: OTLP metrics as EMF; ``ecs-cloudwatch-xray.yaml``: both) all write
  EMF to the fixed log group ``/aws/ecs/application/metrics``, which the exporter creates,
  unencrypted and kept forever, when it is missing. So the collector here gets its own
  configuration: OTLP metrics as EMF into the task's encrypted log group.
- The EMF exporter (``awsemf``) calls ``PutLogEvents``, ``CreateLogStream`` when its stream
  is missing and ``CreateLogGroup`` only when the group is missing; CloudWatch extracts the
  metrics from the EMF events, so no ``cloudwatch:PutMetricData`` is needed.
- X-Ray's ``PutTraceSegments``, ``PutTelemetryRecords``, ``GetSamplingRules`` and
  ``GetSamplingTargets`` have no resource-level permissions (X-Ray developer guide,
  "Identity-based policy examples"; CDK's own tracing grant). The ``awsxray`` exporter sends
  OTLP spans as segments; ADOT's ``ecs-xray.yaml`` batches them every second, 50 at a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .. import compliance, defaults
from ..boundary import AdoptedRole
from ..encryption import shared_scope
from ..errors import Problems, is_token
from ..iam import XRAY_ROUTE, route_statement
from .options import ContainerSpec, HealthCheckOptions, SidecarOptions

PROTOCOLS = {"grpc": 4317, "http/protobuf": 4318}
"""OTLP transports the collector receives, with their standard ports."""

_HEALTH_ENDPOINT = "127.0.0.1:13133"
"""Where the collector's health_check extension listens: what the image's ``/healthcheck``
polls."""

_NAMESPACE = re.compile(r"^[0-9A-Za-z._/#: -]{1,255}$")
"""CloudWatch's characters for a metric namespace (``AWS/`` is reserved, ``:`` cannot start
it)."""

_LOG_GROUP_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")

_XRAY_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)
"""CDK's own tracing grant, in its order: the stack's ``XRayPolicy`` holds one statement."""

_S3_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$")
"""Key path segments an IAM tag value (at most 256 characters) can hold."""
_S3_PREFIX_MAX = 200
_S3_BUCKET_TAG, _S3_PREFIX_TAG = "EcsPatternsPlusLogBucket", "EcsPatternsPlusLogPrefix"


@dataclass(frozen=True, kw_only=True)
class LogRouter:
    """A FireLens log router (Fluent Bit) sending the application's output to one destination.

    The application container logs through ``awsfirelens`` to this sidecar and starts after
    it; the router's own logs stay on ``awslogs`` in the task's log group (stream prefix
    ``log-router``), so they are kept whatever the destination does. The router is hardened
    like every sidecar: read-only root filesystem with ``/tmp`` writable, no capabilities,
    init process, hard memory limit, non-root. The task role may write exactly the chosen
    destination. Choose exactly one destination.

    To S3, Fluent Bit buffers in its own writable path ``/var/fluent-bit/s3`` and puts a gzip
    object at 10 MB or every minute: ``<prefix>/%Y/%m/%d/<container>-firelens-<task
    id>/%H%M%S-<uuid>.gz``. It names the objects, so the grant is ``s3:PutObject`` on
    ``<bucket>/<prefix>/*``: the task role is tagged with both (``EcsPatternsPlusLogBucket``,
    ``EcsPatternsPlusLogPrefix``) and the stack's one ``LogRouterS3Policy`` names them with
    ``${aws:PrincipalTag/...}`` (keep ``iam:TagRole`` as tight as ``iam:PutRolePolicy``). A
    given ``task_role`` gets the statement with the bucket's name instead, which
    ``AwsSolutions-IAM5`` reports, and a warning (``ecs-patterns-plus:s3-log-grant``). On
    Fargate the volume is root's unless the image declares it (``VOLUME``, owned by the uid).

    Args:
        image: AWS for Fluent Bit, pinned by digest, e.g.
            ``ecs.ContainerImage.from_registry("public.ecr.aws/aws-observability/``
            ``aws-for-fluent-bit@sha256:<digest>")``. The current stable release's digest:
            ``docker buildx imagetools inspect public.ecr.aws/aws-observability/``
            ``aws-for-fluent-bit:stable`` (its ``Digest:`` line; one digest for x86_64 and
            arm64). Without a NAT gateway, copy it to ECR and pass
            ``ContainerImage.from_ecr_repository(repository, "<immutable tag>")``.
        cloudwatch_logs: send the application's lines to the task's own encrypted log group
            (``/ecs/<family>`` unless ``logging`` names it), stream ``<container_name>/<container_name>-firelens-<task
            id>``, as JSON records with the ECS metadata (cluster, task ARN, task definition).
            The group exists, so the router never creates one. Default: False.
        firehose_delivery_stream: send them to this Amazon Data Firehose stream (record by
            record, ``kinesis_firehose`` output); the task role may call
            ``firehose:PutRecordBatch`` on it only. Without a NAT gateway the tasks need a
            ``kinesis-firehose`` interface endpoint. Default: none.
        s3_bucket: send them to this bucket under ``s3_prefix`` (above); with a KMS key the
            app knows (``bucket.encryption_key``) the task role may ``kms:GenerateDataKey``
            on it through S3 only. Without NAT it needs the ``s3`` gateway endpoint. Default:
            none.
        s3_prefix: the key prefix, required with ``s3_bucket``: segments of letters,
            digits, ``.``, ``_``, ``-`` joined by ``/`` (``"logs/orders"``), at most 200
            characters; empty, ``/`` or a wildcard are refused. Default: none.
        memory_limit_mib: the router's hard memory limit, at least 50 MiB; it buffers in
            memory while the destination is slow. Default: 128 MiB.
        user: the uid:gid Fluent Bit runs as. ECS runs a FireLens container as a non-root
            user since ECS agent 1.96.0 (EC2 instances need that agent or newer); ``"0"``
            keeps it root and warns (``ecs-patterns-plus:root-user``). Default: ``1000:1000``.
        name: the router's container name. Default: ``log-router``.
    """

    image: ecs.ContainerImage
    cloudwatch_logs: bool = False
    firehose_delivery_stream: firehose.IDeliveryStream | None = None
    s3_bucket: s3.IBucket | None = None
    s3_prefix: str | None = None
    memory_limit_mib: int = defaults.LOG_ROUTER_MEMORY_MIB
    user: str = defaults.CONTAINER_USER
    name: str = defaults.LOG_ROUTER_NAME

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems with these options under ``argument`` (``log_router``); the
        container checks (image pinning, name, user, memory) run with the task's sidecars."""
        chosen = [
            name
            for name, on in (
                ("cloudwatch_logs", self.cloudwatch_logs),
                ("firehose_delivery_stream", self.firehose_delivery_stream is not None),
                ("s3_bucket", self.s3_bucket is not None),
            )
            if on
        ]
        problems.require(
            len(chosen) == 1,
            argument,
            "routes to no destination"
            if not chosen
            else f"routes to {len(chosen)} destinations ({', '.join(chosen)}); a router "
            "sends the application's lines to exactly one",
            chosen,
            "pass exactly one of cloudwatch_logs=True, firehose_delivery_stream=stream or "
            "s3_bucket=bucket",
        )
        self._validate_prefix(problems, f"{argument}.s3_prefix")
        limit = self.memory_limit_mib
        problems.require(
            is_token(limit) or limit >= defaults.LOG_ROUTER_MIN_MEMORY_MIB,
            f"{argument}.memory_limit_mib",
            f"must be at least {defaults.LOG_ROUTER_MIN_MEMORY_MIB} MiB, what AWS's FireLens "
            "examples give Fluent Bit",
            limit,
            f"pass memory_limit_mib={defaults.LOG_ROUTER_MEMORY_MIB} or more",
        )

    def _validate_prefix(self, problems: Problems, argument: str) -> None:
        prefix = self.s3_prefix
        if self.s3_bucket is None or is_token(prefix):
            problems.require(
                self.s3_bucket is not None or prefix is None,
                argument,
                "names the key prefix of the S3 destination, which is not chosen",
                prefix,
                "pass s3_bucket=bucket with it, or leave it out",
            )
            return
        if prefix is None or not prefix.strip("/"):
            what = "is required with s3_bucket, and not empty or '/' (the whole bucket)"
        elif "*" in prefix or "?" in prefix:
            what = "must not hold a wildcard (* or ?): the grant would reach beyond one prefix"
        elif not _S3_PREFIX.match(prefix) or len(prefix) > _S3_PREFIX_MAX:
            what = (
                "must be key path segments of letters, digits, '.', '_' or '-' joined by single "
                f"'/', not starting with '/', at most {_S3_PREFIX_MAX} characters"
            )
        else:
            return
        problems.require(False, argument, what, prefix, "e.g. s3_prefix='logs/orders'")

    def sidecar(self) -> SidecarOptions:
        s3_store = (defaults.LOG_ROUTER_S3_STORE_DIR,) if self.s3_bucket is not None else ()
        return SidecarOptions(
            name=self.name,
            image=self.image,
            memory_limit_mib=self.memory_limit_mib,
            user=self.user,
            writable_paths=(*defaults.WRITABLE_PATHS, *s3_store),
            app_waits_for=ecs.ContainerDependencyCondition.START,
        )

    def s3_options(self) -> dict[str, str]:
        """The ``s3`` output of an S3 router (``awsfirelens`` options)."""
        bucket = self.s3_bucket
        assert bucket is not None and self.s3_prefix is not None
        return {
            "Name": "s3",
            "region": bucket.env.region,
            "bucket": bucket.bucket_name,
            "s3_key_format": f"/{_prefix(self.s3_prefix)}/{defaults.LOG_ROUTER_S3_KEY_FORMAT}",
            "store_dir": defaults.LOG_ROUTER_S3_STORE_DIR,
            **defaults.LOG_ROUTER_S3_OUTPUT,
        }


@dataclass(frozen=True, kw_only=True)
class OpenTelemetryCollector:
    """An AWS Distro for OpenTelemetry collector that turns the application's OTLP metrics
    into CloudWatch metrics in one namespace.

    The collector listens on the task's loopback only (OTLP gRPC 4317, HTTP 4318) and writes
    the metrics in Embedded Metric Format into the task's own encrypted log group (stream
    ``otel-metrics/<task id>``), from which CloudWatch extracts them; the task role may create
    streams in and write to that group only (no ``CreateLogGroup``, no ``PutMetricData``).
    Each data point's own attributes are its dimensions (no roll-ups, no resource attributes:
    every dimension combination is a billed custom metric). A memory limiter refuses data
    beyond 80% of the collector's limit. The application container gets
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` (``http://127.0.0.1:4317``, or ``:4318`` for HTTP),
    ``OTEL_EXPORTER_OTLP_PROTOCOL`` and ``OTEL_METRICS_EXPORTER=otlp`` as plain variables,
    ``OTEL_TRACES_EXPORTER=otlp`` with traces (``none`` without), and
    ``OTEL_LOGS_EXPORTER=none``: logs go through stdout. Variables the application sets
    itself (``environment`` or ``secrets``) are kept. The collector is hardened like every
    sidecar, with its own health check, and the application starts after it.

    With ``traces=True`` the collector also sends the application's OTLP spans to AWS X-Ray
    (``awsxray`` exporter, batched every second). X-Ray's calls have no resource-level
    permissions: the stack's one ``XRayPolicy`` (``xray:PutTraceSegments``,
    ``PutTelemetryRecords``, ``GetSamplingRules``, ``GetSamplingTargets`` on ``*``,
    acknowledged for that reason) is attached to the task role, a given one too. Without NAT
    the VPC needs the ``xray`` endpoint (``VpcEndpoints(services=[..., "xray"])``). The SDK's
    sampler decides what is sent (``OTEL_TRACES_SAMPLER``; X-Ray bills each trace). No X-Ray
    daemon listens (no ``AWS_XRAY_DAEMON_ADDRESS``): OTLP only.

    Args:
        image: the aws-otel-collector image, pinned by digest, e.g.
            ``ecs.ContainerImage.from_registry("public.ecr.aws/aws-observability/``
            ``aws-otel-collector@sha256:<digest>")``; ``docker buildx imagetools inspect
            public.ecr.aws/aws-observability/aws-otel-collector:latest`` prints the current
            release's digest. Without a NAT gateway, copy it to ECR and pass
            ``from_ecr_repository``.
        namespace: the CloudWatch namespace of the metrics: 1-255 letters, digits and
            ``. - _ / # :`` or spaces, not starting with ``AWS/``. Default:
            ``ECS/AWSOTel/Application``.
        protocol: how the application exports: ``"grpc"`` (port 4317) or ``"http/protobuf"``
            (port 4318). Default: ``"grpc"``.
        traces: also send OTLP traces to X-Ray (above). Default: False (metrics only, no
            grant on ``Resource: *``).
        memory_limit_mib: the collector's hard memory limit. Default: 128 MiB.
        user: the uid:gid it runs as. Default: ``4317:4317`` (the image's ``aoc`` user).
        name: the collector's container name. Default: ``otel-collector``.
    """

    image: ecs.ContainerImage
    namespace: str = defaults.OTEL_METRICS_NAMESPACE
    protocol: str = defaults.OTEL_PROTOCOL
    traces: bool = defaults.OTEL_TRACES
    memory_limit_mib: int = defaults.OTEL_COLLECTOR_MEMORY_MIB
    user: str = defaults.OTEL_COLLECTOR_USER
    name: str = defaults.OTEL_COLLECTOR_NAME

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems with these options under ``argument`` (``telemetry``)."""
        problems.require(
            self.protocol in PROTOCOLS,
            f"{argument}.protocol",
            "is not an OTLP transport the collector receives",
            self.protocol,
            f"use one of {', '.join(PROTOCOLS)}",
        )
        namespace = self.namespace
        if not is_token(namespace):
            problems.require(
                bool(_NAMESPACE.match(namespace))
                and bool(namespace.strip())
                and not namespace.startswith(("AWS/", ":")),
                f"{argument}.namespace",
                "must be 1-255 letters, digits, spaces or . - _ / # : (not starting with "
                "'AWS/', reserved for AWS services, or ':')",
                namespace,
                "e.g. 'MyCompany/Orders'",
            )

    def app_variables(self) -> dict[str, str]:
        """What the application container is told: where and how to export, and what not
        (asked before ``validate``: an unknown protocol is refused there)."""
        port = PROTOCOLS.get(self.protocol, PROTOCOLS[defaults.OTEL_PROTOCOL])
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": self.protocol,
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_TRACES_EXPORTER": "otlp" if self.traces else "none",
            "OTEL_LOGS_EXPORTER": "none",
        }

    def sidecar(self, configuration: str) -> SidecarOptions:
        return SidecarOptions(
            name=self.name,
            image=self.image,
            memory_limit_mib=self.memory_limit_mib,
            user=self.user,
            environment={"AOT_CONFIG_CONTENT": configuration},
            health_check=HealthCheckOptions(command=["CMD", "/healthcheck"]),
            app_waits_for=ecs.ContainerDependencyCondition.START,
        )

    def configuration(self, *, log_group_name: str, region: str) -> dict[str, Any]:
        """The collector's configuration: OTLP on loopback in; EMF (and X-Ray) out."""
        configuration: dict[str, Any] = {
            "extensions": {"health_check": {"endpoint": _HEALTH_ENDPOINT}},
            "receivers": {
                "otlp": {
                    "protocols": {
                        "grpc": {"endpoint": f"127.0.0.1:{PROTOCOLS['grpc']}"},
                        "http": {"endpoint": f"127.0.0.1:{PROTOCOLS['http/protobuf']}"},
                    }
                }
            },
            "processors": {
                "memory_limiter": {
                    "check_interval": "1s",
                    "limit_percentage": 80,
                    "spike_limit_percentage": 25,
                },
                "resourcedetection": {"detectors": ["env", "ecs"]},
                "batch/metrics": {"timeout": "60s"},
            },
            "exporters": {
                "awsemf": {
                    "namespace": self.namespace,
                    "region": region,
                    "log_group_name": log_group_name,
                    "log_stream_name": "otel-metrics/{TaskId}",
                    "dimension_rollup_option": "NoDimensionRollup",
                }
            },
            "service": {
                "extensions": ["health_check"],
                "pipelines": {
                    "metrics": {
                        "receivers": ["otlp"],
                        "processors": ["memory_limiter", "resourcedetection", "batch/metrics"],
                        "exporters": ["awsemf"],
                    }
                },
            },
        }
        if self.traces:
            configuration["processors"]["batch/traces"] = {"timeout": "1s", "send_batch_size": 50}
            configuration["exporters"]["awsxray"] = {"region": region}
            configuration["service"]["pipelines"]["traces"] = {
                "receivers": ["otlp"],
                "processors": ["memory_limiter", "resourcedetection", "batch/traces"],
                "exporters": ["awsxray"],
            }
        return configuration


class Observability:
    """The log router and collector of one task definition: their sidecars, the application's
    variables and log driver, and their grants (internal to ``HardenedTaskDefinition``)."""

    def __init__(
        self,
        *,
        log_router: LogRouter | None,
        telemetry: OpenTelemetryCollector | None,
        container_name: str,
    ) -> None:
        self.log_router = log_router
        self.telemetry = telemetry
        self._container_name = container_name
        self._log_group: logs.ILogGroup | None = None
        self.sidecars: list[SidecarOptions] = []
        self._arguments: list[str] = []  # how the user named each preset, in sidecar order
        if log_router is not None:
            self.sidecars.append(log_router.sidecar())
            self._arguments.append("log_router.")
        if telemetry is not None:
            configuration = cdk.Lazy.string(_CollectorConfiguration(self, telemetry))
            self.sidecars.append(telemetry.sidecar(configuration))
            self._arguments.append("telemetry.")

    def app_environment(
        self, environment: Mapping[str, str] | None, secrets: Mapping[str, Any] | None
    ) -> Mapping[str, str] | None:
        """The application's plain variables with the collector's added (the application's
        own ``environment`` and ``secrets`` win)."""
        if self.telemetry is None:
            return environment
        merged = dict(environment or {})
        taken = {*merged, *(secrets or {})}
        for name, value in self.telemetry.app_variables().items():
            if name not in taken:
                merged[name] = value
        return merged

    def label(self, containers: Sequence[ContainerSpec]) -> list[ContainerSpec]:
        """The containers, the presets (last) named by their own argument (``log_router.``,
        ``telemetry.``) instead of ``sidecars[<n>].``."""
        count = len(self._arguments)
        if not count:
            return list(containers)
        head, presets = list(containers[:-count]), containers[-count:]
        return [
            *head,
            *(
                replace(spec, argument=name)
                for spec, name in zip(presets, self._arguments, strict=True)
            ),
        ]

    def validate(self, problems: Problems) -> None:
        if self.log_router is not None:
            self.log_router.validate(problems, "log_router")
        if self.telemetry is not None:
            self.telemetry.validate(problems, "telemetry")

    def bind(self, *, task_role: iam.IRole, log_group: logs.ILogGroup) -> Observability:
        """Grant the task role what the router and the collector write (nothing more)."""
        self._log_group = log_group
        router = self.log_router
        if (router is not None and router.cloudwatch_logs) or self.telemetry is not None:
            task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=list(_LOG_GROUP_ACTIONS), resources=[log_group.log_group_arn]
                )
            )
        if router is not None and router.firehose_delivery_stream is not None:
            task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["firehose:PutRecordBatch"],
                    resources=[router.firehose_delivery_stream.delivery_stream_arn],
                )
            )
        if router is not None and router.s3_bucket is not None and router.s3_prefix is not None:
            _grant_log_objects(task_role, router.s3_bucket, _prefix(router.s3_prefix))
        if self.telemetry is not None and self.telemetry.traces:
            # Like ECS Exec: the stack's one acknowledged policy, attached to the role itself.
            role = task_role.role if isinstance(task_role, AdoptedRole) else task_role
            statement = iam.PolicyStatement(actions=list(_XRAY_ACTIONS), resources=["*"])
            route_statement(cdk.Stack.of(task_role), role, [XRAY_ROUTE], set(), statement)
        return self

    def adder(
        self, task_definition: ecs.TaskDefinition, name: str
    ) -> Callable[..., ecs.ContainerDefinition]:
        """How container ``name`` joins the task: the router as CDK's FireLens router (which
        also keeps CDK from adding an unpinned router of its own), the others as containers."""
        if self.log_router is not None and name == self.log_router.name:
            return partial(
                task_definition.add_firelens_log_router,
                firelens_config=ecs.FirelensConfig(type=ecs.FirelensLogRouterType.FLUENTBIT),
            )
        return task_definition.add_container

    def log_driver(self, item: ContainerSpec) -> ecs.LogDriver | None:
        """``awsfirelens`` to the destination for the application container; None otherwise."""
        router = self.log_router
        if router is None or item.sidecar:
            return None
        assert self._log_group is not None, "bind() first"
        if router.s3_bucket is not None:
            options = router.s3_options()
        elif router.firehose_delivery_stream is not None:
            stream = router.firehose_delivery_stream
            options = {
                "Name": "kinesis_firehose",
                "region": stream.env.region,
                "delivery_stream": stream.delivery_stream_name,
            }
        else:
            options = {
                "Name": "cloudwatch_logs",
                "region": cdk.Stack.of(self._log_group).region,
                "log_group_name": self._log_group.log_group_name,
                "log_stream_prefix": f"{self._container_name}/",
                "auto_create_group": "false",
            }
        return ecs.LogDrivers.firelens(options=options)

    def collector_configuration(self, telemetry: OpenTelemetryCollector) -> str:
        assert self._log_group is not None, "bind() first"
        configuration = telemetry.configuration(
            log_group_name=self._log_group.log_group_name,
            region=cdk.Stack.of(self._log_group).region,
        )
        # JSON is YAML: the collector reads it as its configuration file.
        return json.dumps(configuration, separators=(",", ":"))


@jsii.implements(cdk.IStableStringProducer)
class _CollectorConfiguration:
    """Produces the collector's configuration at synthesis, once the log group exists."""

    def __init__(self, observability: Observability, telemetry: OpenTelemetryCollector) -> None:
        self._observability = observability
        self._telemetry = telemetry

    def produce(self) -> str | None:
        return self._observability.collector_configuration(self._telemetry)


def _prefix(prefix: str) -> str:
    """The prefix without a trailing ``/`` (a token as it is)."""
    return prefix if is_token(prefix) else prefix.rstrip("/")


def _grant_log_objects(task_role: iam.IRole, bucket: s3.IBucket, prefix: str) -> None:
    """``s3:PutObject`` on ``<bucket>/<prefix>/*`` (and the bucket's key through S3)."""
    if isinstance(task_role, AdoptedRole):
        task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{prefix}/*")]
            )
        )
        cdk.Annotations.of(task_role).add_warning_v2(
            "ecs-patterns-plus:s3-log-grant",
            "The given task role gets s3:PutObject on the log bucket's prefix by name, which "
            "AwsSolutions-IAM5 reports: acknowledge it, or let the library create the role.",
        )
    else:
        tags = cdk.Tags.of(task_role)
        tags.add(_S3_BUCKET_TAG, bucket.bucket_name)
        tags.add(_S3_PREFIX_TAG, prefix)
        _log_objects_policy(cdk.Stack.of(task_role)).attach_to_role(task_role)
    key = bucket.encryption_key
    if key is not None:
        task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{bucket.env.region}.amazonaws.com"}
                },
            )
        )


def _log_objects_policy(scope: Construct) -> iam.ManagedPolicy:
    """The stack's one policy letting a tagged role put objects under its tagged prefix."""
    shared = shared_scope(scope)
    existing = shared.node.try_find_child("LogRouterS3Policy")
    if isinstance(existing, iam.ManagedPolicy):
        return existing
    objects = f"${{aws:PrincipalTag/{_S3_BUCKET_TAG}}}/${{aws:PrincipalTag/{_S3_PREFIX_TAG}}}/*"
    policy = iam.ManagedPolicy(
        shared,
        "LogRouterS3Policy",
        description="FireLens S3 output: s3:PutObject under the role's tagged bucket and prefix",
        statements=[
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{objects}"]
            )
        ],
    )
    compliance.LOG_ROUTER_S3_OBJECTS.apply(policy)
    return policy
