"""HardenedTaskDefinition: one hardened application container (plus sidecars), its roles and logs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import compliance, defaults
from .encryption import create_key, encrypted_log_group
from .errors import Problems, is_token
from .secrets import SecretValue

FARGATE_CPU_MEMORY_MIB: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
"""Every task size Fargate accepts (Linux, platform 1.4): CPU units -> memory in MiB."""

FARGATE_EPHEMERAL_STORAGE_GIB = (21, 200)
"""Fargate ephemeral storage beyond the free 20 GiB."""

EC2_TASK_CPU = (128, 196608)
"""Task-level CPU units ECS accepts for EC2 tasks."""

MIN_CONTAINER_MEMORY_MIB = 6
"""The smallest hard memory limit Docker accepts."""

MIN_APP_MEMORY_MIB = 64
"""Below this, the application container has no room left next to its sidecars."""

SUPPORTED_COMPATIBILITIES = (
    ecs.Compatibility.FARGATE,
    ecs.Compatibility.EC2,
    ecs.Compatibility.EC2_AND_FARGATE,
)

EXEC_ACTIONS = frozenset(
    {
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "logs:DescribeLogGroups",
    }
)
"""What ECS Exec needs on ``Resource: *`` (the SSM channels; the session-log group lookup)."""

EXEC_LOG_ACTIONS = frozenset(
    {"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}
)
"""What ECS Exec needs on the cluster's session-log group."""

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOG_GROUP_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
_PATH = re.compile(r"^(/[A-Za-z0-9._@+-]+)+$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")
_ROOT_USER = re.compile(r"^(0|root)(:.*)?$")
_LOG_GROUP_NAME_ARN = re.compile(r":log-group:\$\{Token\[[^\]]+\]\}:\*$")
_SECRET_VALUE = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----")


@dataclass(frozen=True, kw_only=True)
class HealthCheckOptions:
    """The container's own health check, run by ECS inside the container.

    Args:
        command: the check, ``["CMD-SHELL", "curl -fsS http://localhost/health || exit 1"]``
            or ``["CMD", "/bin/healthcheck"]``; without a ``CMD``/``CMD-SHELL`` prefix the
            words run through the shell. The image must contain the tool it calls.
        interval: time between checks, 5-300 s. Default: 30 seconds.
        timeout: time a check may take, 2-120 s and below ``interval``. Default: 5 seconds.
        retries: consecutive failures that make the container unhealthy, 1-10. Default: 3.
        start_period: failures in this first period after start do not count, 0-300 s; the
            service also waits this long before the load balancer's checks count.
            Default: 60 seconds.
    """

    command: Sequence[str]
    interval: cdk.Duration = defaults.HEALTH_CHECK_INTERVAL
    timeout: cdk.Duration = defaults.HEALTH_CHECK_TIMEOUT
    retries: int = defaults.HEALTH_CHECK_RETRIES
    start_period: cdk.Duration = defaults.HEALTH_CHECK_START_PERIOD

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems with these options under ``argument`` (e.g. ``health_check``)."""
        command = [self.command] if isinstance(self.command, str) else list(self.command)
        words = command[1:] if command[:1] in (["CMD"], ["CMD-SHELL"]) else command
        problems.require(
            not isinstance(self.command, str)
            and bool(words)
            and all(isinstance(word, str) and word for word in words),
            f"{argument}.command",
            "must name a command",
            command,
            "e.g. ['CMD-SHELL', 'curl -fsS http://localhost/health || exit 1']",
        )
        interval_ok = problems.seconds_in_range(f"{argument}.interval", self.interval, 5, 300)
        timeout_ok = problems.seconds_in_range(f"{argument}.timeout", self.timeout, 2, 120)
        problems.in_range(f"{argument}.retries", self.retries, 1, 10)
        problems.seconds_in_range(f"{argument}.start_period", self.start_period, 0, 300)
        if interval_ok and timeout_ok and not _unresolved(self.interval, self.timeout):
            problems.require(
                self.timeout.to_seconds() < self.interval.to_seconds(),
                f"{argument}.timeout",
                f"must be shorter than the interval ({self.interval.to_human_string()})",
                self.timeout,
                "lower the timeout or raise the interval",
            )

    def to_health_check(self) -> ecs.HealthCheck:
        return ecs.HealthCheck(
            command=list(self.command),
            interval=self.interval,
            timeout=self.timeout,
            retries=self.retries,
            start_period=self.start_period,
        )


@dataclass(frozen=True, kw_only=True)
class LogOptions:
    """Where and how the containers' stdout/stderr go: awslogs to one encrypted log group.

    Args:
        log_group_name: the log group's literal name, unique per account and region.
            Default: ``/ecs/<family>``.
        retention: how long log events are kept. Default: one year.
        encryption_key: KMS key of the log group; it must allow CloudWatch Logs.
            Default: a new rotating key.
        mode: ``NON_BLOCKING`` buffers lines so a CloudWatch Logs slowdown never blocks the
            application (lines beyond the buffer are dropped); ``BLOCKING`` never drops but
            can stall writes. Default: ``NON_BLOCKING``.
        max_buffer_size_mib: the non-blocking buffer, 1-1024 MiB. Default: 25 MiB.
    """

    log_group_name: str | None = None
    retention: logs.RetentionDays = defaults.LOG_RETENTION
    encryption_key: kms.IKey | None = None
    mode: ecs.AwsLogDriverMode = defaults.LOG_DRIVER_MODE
    max_buffer_size_mib: int = defaults.LOG_MAX_BUFFER_SIZE_MIB


@dataclass(frozen=True, kw_only=True)
class SidecarOptions:
    """A hardened helper container next to the application (proxy, agent, log router).

    It gets the same hardening as the application container: read-only root filesystem
    with ``writable_paths``, non-root ``user``, no capabilities, init process, hard memory
    limit, awslogs with its own stream prefix.

    Args:
        name: the container name, unique in the task.
        image: pinned like the application image (digest, or tag on an ECR repository).
        memory_limit_mib: hard memory limit, taken from the task's memory. Default: 128 MiB.
        cpu: CPU units reserved for the sidecar. Default: none reserved (shares the task's).
        port: a TCP port the sidecar listens on. Default: none.
        command: overrides the image's command. Default: the image's.
        environment: plain, non-secret variables. Default: none.
        secrets: variables read from Secrets Manager or SSM at start. Default: none.
        health_check: the sidecar's health check. Default: none.
        writable_paths: the only writable paths. Default: ``("/tmp",)``.
        user: the uid:gid to run as. Default: ``1000:1000``.
        essential: stop the task when this sidecar stops. Default: True.
        app_waits_for: the application container starts once the sidecar has reached this
            condition (``START``, ``HEALTHY`` with a health check, ``COMPLETE``/``SUCCESS``
            for non-essential init containers), or ``None``. Default: ``START``.
    """

    name: str
    image: ecs.ContainerImage
    memory_limit_mib: int = defaults.SIDECAR_MEMORY_MIB
    cpu: int | None = None
    port: int | None = None
    command: Sequence[str] | None = None
    environment: Mapping[str, str] | None = None
    secrets: Mapping[str, SecretValue] | None = None
    health_check: HealthCheckOptions | None = None
    writable_paths: Sequence[str] = defaults.WRITABLE_PATHS
    user: str = defaults.CONTAINER_USER
    essential: bool = True
    app_waits_for: ecs.ContainerDependencyCondition | None = ecs.ContainerDependencyCondition.START


@dataclass(frozen=True)
class _Container:
    """One container to add, application or sidecar, after defaults are applied."""

    argument: str  # how the user named it in arguments: "" for the app, "sidecars[0]."
    name: str
    image: ecs.ContainerImage
    memory_limit_mib: int
    cpu: int | None
    port: int | None
    command: Sequence[str] | None
    environment: Mapping[str, str]
    secrets: Mapping[str, SecretValue]
    health_check: HealthCheckOptions | None
    writable_paths: Sequence[str]
    user: str
    essential: bool = True
    app_waits_for: ecs.ContainerDependencyCondition | None = None
    sidecar: bool = False


@dataclass(frozen=True)
class _Route:
    """Statements of these actions on ``Resource: *`` go to their own acknowledged policy."""

    policy_id: str
    description: str
    actions: frozenset[str]
    acknowledgement: compliance.Acknowledgement

    def matches(self, statement: iam.PolicyStatement) -> bool:
        return (
            statement.effect == iam.Effect.ALLOW
            and list(statement.resources) == ["*"]
            and bool(statement.actions)
            and set(statement.actions) <= self.actions
            and not statement.has_principal
            and not statement.conditions
        )


class _RoutedRole(iam.Role):
    """A role that keeps statements needing ``Resource: *`` out of its DefaultPolicy.

    CDK grants (``repository.grant_pull``, ECS Exec) add such statements to the role's
    DefaultPolicy; here each goes into a small managed policy of its own, acknowledged for
    exactly that reason, so the DefaultPolicy stays ARN-scoped.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assumed_by: iam.IPrincipal,
        description: str,
        routes: Sequence[_Route],
        exec_logging: bool = False,
    ) -> None:
        super().__init__(scope, construct_id, assumed_by=assumed_by, description=description)
        self._routes = tuple(routes)
        self._exec_logging = exec_logging
        self._routed: dict[str, iam.ManagedPolicy] = {}

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        if self._exec_logging:
            statement = _exec_session_log_statement(statement) or statement
        for route in self._routes:
            if route.matches(statement):
                policy = self._routed.get(route.policy_id)
                if policy is None:
                    policy = iam.ManagedPolicy(
                        self, route.policy_id, description=route.description, roles=[self]
                    )
                    route.acknowledgement.apply(policy)
                    self._routed[route.policy_id] = policy
                policy.add_statements(statement)
                return iam.AddToPrincipalPolicyResult(
                    statement_added=True, policy_dependable=policy
                )
        return super().add_to_principal_policy(statement)


def _exec_session_log_statement(statement: iam.PolicyStatement) -> iam.PolicyStatement | None:
    """CDK's ECS Exec session-log statement, scoped by the log group's own ``Arn`` attribute.

    A service with ECS Exec on a cluster that logs sessions to CloudWatch grants the task role
    ``logs:CreateLogStream/DescribeLogStreams/PutLogEvents`` on the literal
    ``arn:...:log-group:<name>:*``. That is exactly the log group's ``Arn`` attribute, which
    names the group instead of spelling a wildcard.
    """
    if set(statement.actions) != EXEC_LOG_ACTIONS or len(statement.resources) != 1:
        return None
    resource = statement.resources[0]
    if not _LOG_GROUP_NAME_ARN.search(resource):
        return None
    targets = [
        token.target
        for token in cdk.Tokenization.reverse_string(resource).tokens
        if isinstance(token, cdk.Reference)
        and token.display_name == "Ref"
        and isinstance(token.target, logs.CfnLogGroup)
    ]
    if len(targets) != 1:
        return None
    return iam.PolicyStatement(actions=sorted(EXEC_LOG_ACTIONS), resources=[targets[0].attr_arn])


_ECR_AUTH_ROUTE = _Route(
    policy_id="EcrAuthPolicy",
    description="ecr:GetAuthorizationToken, which has no resource-level permissions",
    actions=frozenset({"ecr:GetAuthorizationToken"}),
    acknowledgement=compliance.ECR_AUTH_TOKEN,
)
_EXEC_ROUTE = _Route(
    policy_id="ExecPolicy",
    description="ECS Exec session channels, which have no resource-level permissions",
    actions=EXEC_ACTIONS,
    acknowledgement=compliance.EXEC_SSM_MESSAGES,
)


class HardenedTaskDefinition(Construct):
    """A task definition with one hardened, essential application container plus sidecars.

    Every container runs with a read-only root filesystem (``writable_paths`` as task
    volumes), a non-root user, no Linux capabilities, an init process, a hard memory limit,
    a stop timeout and awslogs (non-blocking) to one KMS-encrypted ``/ecs/<name>`` log group
    that outlives the stack. The execution role may pull the images, write the log group and
    read exactly the given secrets; the task role starts empty, and only ECS tasks of this
    account and region may assume it. Bad input (unpinned images, Fargate sizes that do not
    exist, secret-looking plain variables, ...) raises ``ValidationError`` before anything
    is created.

    Args:
        image: the application image, pinned: ``ContainerImage.from_ecr_repository(repo,
            "v1.2.3")`` (an immutable tag on ECR), ``ContainerImage.from_registry(
            "public.ecr.aws/x/y@sha256:<digest>")`` or ``ContainerImage.from_asset(dir)``.
            ``:latest``, tag-less and tag-only public images are refused.
        cpu: task CPU units; on Fargate 256, 512, 1024, 2048, 4096, 8192 or 16384.
            Default: 256.
        memory_mib: task memory; on Fargate a size that pairs with ``cpu`` (e.g. 512-2048
            for 256). Default: 512.
        family: the task definition family (revisions share it). Default: generated from
            the construct path.
        container_name: the application container's name. Default: ``app``.
        container_port: the TCP port the application listens on; below 1024 works for the
            non-root user (the unprivileged-port sysctl is set). Default: none (jobs).
        environment: plain, non-secret variables; names that look like secrets
            (``PASSWORD``, ``TOKEN``, ``API_KEY``, ...) are refused. Default: none.
        secrets: variables read from Secrets Manager or SSM Parameter Store at start
            (``SecretValue``). Default: none.
        command: overrides the image's command. Default: the image's.
        health_check: the container health check. Default: none (the load balancer's check
            still applies); ``health_check_start_period`` is then 60 seconds.
        logging: log group name, retention, key, mode and buffer. Default: ``LogOptions()``.
        writable_paths: the only writable paths of the application container, each a task
            volume. Default: ``("/tmp",)``.
        sidecars: helper containers (``SidecarOptions``). Default: none.
        architecture: ``X86_64`` or ``ARM64`` (Graviton); the image must match.
            Default: ``X86_64``.
        ephemeral_storage_gib: Fargate ephemeral storage, 21-200 GiB. Default: 20 GiB.
        enable_exec: prepare for ECS Exec: mount the SSM agent's writable paths in every
            container and give the task role the session channels. Services that enable
            ECS Exec require it. Default: False.
        compatibility: ``FARGATE``, ``EC2`` or ``EC2_AND_FARGATE``; always ``awsvpc``
            networking. Default: ``FARGATE``.
        gpu_count: GPUs for the application container, EC2 only. Default: none.
        memory_limit_mib: the application container's hard memory limit. Default: the task
            memory minus the sidecars' limits.
        stop_timeout: time between SIGTERM and SIGKILL, 2-120 s. Default: 30 seconds.
        user: the uid:gid the application container runs as; root is allowed but warned
            about (``ecs-patterns-plus:root-user``). Default: ``1000:1000``.
        readonly_root_filesystem: False makes the application's root filesystem writable and
            warns (``ecs-patterns-plus:writable-root-filesystem``). Default: True.

    Attributes:
        task_definition, container (the essential application container), sidecars (by
        name), container_name, container_port, log_group, encryption_key (of the log group),
        execution_role, task_role, health_check_start_period, exec_enabled.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ecs.ContainerImage,
        cpu: int = defaults.TASK_CPU,
        memory_mib: int = defaults.TASK_MEMORY_MIB,
        family: str | None = None,
        container_name: str = "app",
        container_port: int | None = None,
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, SecretValue] | None = None,
        command: Sequence[str] | None = None,
        health_check: HealthCheckOptions | None = None,
        logging: LogOptions | None = None,
        writable_paths: Sequence[str] = defaults.WRITABLE_PATHS,
        sidecars: Sequence[SidecarOptions] = (),
        architecture: ecs.CpuArchitecture = ecs.CpuArchitecture.X86_64,
        ephemeral_storage_gib: int | None = None,
        enable_exec: bool = False,
        compatibility: ecs.Compatibility = ecs.Compatibility.FARGATE,
        gpu_count: int | None = None,
        memory_limit_mib: int | None = None,
        stop_timeout: cdk.Duration = defaults.STOP_TIMEOUT,
        user: str = defaults.CONTAINER_USER,
        readonly_root_filesystem: bool = defaults.READONLY_ROOT_FILESYSTEM,
    ) -> None:
        log_options = logging or LogOptions()
        sidecar_memory = sum(
            s.memory_limit_mib for s in sidecars if isinstance(s.memory_limit_mib, int)
        )
        app = _Container(
            argument="",
            name=container_name,
            image=image,
            memory_limit_mib=memory_limit_mib
            if memory_limit_mib is not None
            else memory_mib - sidecar_memory,
            cpu=None,
            port=container_port,
            command=command,
            environment=dict(environment or {}),
            secrets=dict(secrets or {}),
            health_check=health_check,
            writable_paths=writable_paths,
            user=user,
        )
        containers = [app, *(_sidecar(index, s) for index, s in enumerate(sidecars))]

        problems = Problems(scope, construct_id)
        fargate = compatibility in (ecs.Compatibility.FARGATE, ecs.Compatibility.EC2_AND_FARGATE)
        _check_task(
            problems,
            compatibility=compatibility,
            fargate=fargate,
            cpu=cpu,
            memory_mib=memory_mib,
            family=family,
            ephemeral_storage_gib=ephemeral_storage_gib,
            gpu_count=gpu_count,
            stop_timeout=stop_timeout,
        )
        _check_logging(problems, log_options)
        _check_containers(
            problems,
            containers,
            cpu=cpu,
            memory_mib=memory_mib,
            app_limit_given=memory_limit_mib is not None,
        )
        for item in containers:
            _check_image(problems, f"{item.argument}image", item.image, scope)
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        stack = cdk.Stack.of(self)
        self.exec_enabled = enable_exec
        self.container_name = container_name
        self.container_port = container_port
        self.health_check_start_period: cdk.Duration = (
            health_check.start_period if health_check else defaults.HEALTH_CHECK_START_PERIOD
        )
        self.execution_role: iam.Role = _RoutedRole(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="ECS agent: pull the images, write the logs, read the task's secrets",
            routes=[_ECR_AUTH_ROUTE],
        )
        self.task_role: iam.Role = _RoutedRole(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": stack.format_arn(service="ecs", resource="*")},
                }
            ),
            description="The application's own AWS permissions",
            routes=[_EXEC_ROUTE] if enable_exec else [],
            exec_logging=enable_exec,
        )
        # Grants by the application (bucket.grant_read(task_role), ...) land in the task
        # role's DefaultPolicy, ARN-scoped by the grant.
        compliance.GRANT_DEFAULT_POLICY.apply(self.task_role)

        self.task_definition = ecs.TaskDefinition(
            self,
            "TaskDefinition",
            compatibility=compatibility,
            network_mode=ecs.NetworkMode.AWS_VPC,
            cpu=str(cpu),
            memory_mib=str(memory_mib),
            family=family,
            execution_role=self.execution_role,
            task_role=self.task_role,
            # EC2-only task definitions take no runtime platform: placement picks the instances.
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=architecture,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            )
            if fargate
            else None,
            placement_constraints=None
            if fargate
            else [
                ecs.PlacementConstraint.member_of(
                    f"attribute:ecs.cpu-architecture == {_architecture_name(stack, architecture)}"
                )
            ],
            ephemeral_storage_gib=ephemeral_storage_gib,
        )
        self.encryption_key: kms.IKey = log_options.encryption_key or create_key(
            self, "LogKey", description="Application logs of an ECS task definition"
        )
        self.log_group = encrypted_log_group(
            self,
            "LogGroup",
            key=self.encryption_key,
            retention=log_options.retention,
            log_group_name=log_options.log_group_name
            or f"{defaults.LOG_GROUP_PREFIX}{self.task_definition.family}",
        )

        privileged_ports = [
            c.port for c in containers if c.port is not None and _binds_privileged_port(c)
        ]
        unprivileged_port_start = min(privileged_ports) if privileged_ports else None
        exec_paths = defaults.EXEC_WRITABLE_PATHS if enable_exec else ()
        built: dict[str, ecs.ContainerDefinition] = {}
        for item in containers:
            built[item.name] = self._add_container(
                item,
                log_options=log_options,
                stop_timeout=stop_timeout,
                ec2_only=compatibility == ecs.Compatibility.EC2,
                unprivileged_port_start=unprivileged_port_start,
                exec_paths=exec_paths,
                readonly=readonly_root_filesystem or item.sidecar,
                gpu_count=None if item.sidecar else gpu_count,
            )
        self.container = built[container_name]
        self.sidecars = {name: c for name, c in built.items() if name != container_name}
        for item in containers:
            if item.sidecar and item.app_waits_for is not None:
                self.container.add_container_dependencies(
                    ecs.ContainerDependency(
                        container=built[item.name], condition=item.app_waits_for
                    )
                )

        if enable_exec:  # what an ECS Exec session needs, also for RunTask without a service
            self.task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=sorted(a for a in EXEC_ACTIONS if a.startswith("ssmmessages:")),
                    resources=["*"],
                )
            )
        default_policy = self.execution_role.node.try_find_child("DefaultPolicy")
        if default_policy is not None:
            compliance.GRANT_DEFAULT_POLICY.apply(default_policy)
        if any(item.environment for item in containers):
            compliance.PLAIN_ENVIRONMENT.apply(self.task_definition)
        for item in containers:
            if _is_root(item.user):
                cdk.Annotations.of(self).add_warning_v2(
                    "ecs-patterns-plus:root-user",
                    f"Container '{item.name}' runs as root ({item.user!r}): a container escape "
                    "starts with root privileges. Run it as a non-root uid (default 1000:1000).",
                )
        if not readonly_root_filesystem:
            cdk.Annotations.of(self).add_warning_v2(
                "ecs-patterns-plus:writable-root-filesystem",
                f"Container '{container_name}' has a writable root filesystem: an attacker can "
                "modify the image's binaries at run time. List the paths the application "
                "writes in writable_paths instead.",
            )

    def _add_container(
        self,
        item: _Container,
        *,
        log_options: LogOptions,
        stop_timeout: cdk.Duration,
        ec2_only: bool,
        unprivileged_port_start: int | None,
        exec_paths: Sequence[str],
        readonly: bool,
        gpu_count: int | None,
    ) -> ecs.ContainerDefinition:
        linux_parameters = ecs.LinuxParameters(
            self, f"{_pascal(item.name)}LinuxParameters", init_process_enabled=True
        )
        linux_parameters.drop_capabilities(*defaults.DROPPED_CAPABILITIES)
        binds_privileged_port = _binds_privileged_port(item)
        container = self.task_definition.add_container(
            item.name,
            container_name=item.name,
            image=item.image,
            essential=item.essential,
            memory_limit_mib=item.memory_limit_mib,
            cpu=item.cpu,
            command=list(item.command) if item.command is not None else None,
            environment=dict(item.environment) or None,
            secrets={name: value.to_ecs_secret() for name, value in item.secrets.items()} or None,
            port_mappings=[ecs.PortMapping(container_port=item.port, protocol=ecs.Protocol.TCP)]
            if item.port is not None
            else None,
            health_check=item.health_check.to_health_check() if item.health_check else None,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=item.name,
                log_group=self.log_group,
                mode=log_options.mode,
                max_buffer_size=cdk.Size.mebibytes(log_options.max_buffer_size_mib)
                if log_options.mode == ecs.AwsLogDriverMode.NON_BLOCKING
                else None,
            ),
            readonly_root_filesystem=readonly,
            user=item.user,
            privileged=False,
            linux_parameters=linux_parameters,
            stop_timeout=stop_timeout,
            system_controls=[
                ecs.SystemControl(
                    namespace=defaults.UNPRIVILEGED_PORT_SYSCTL,
                    value=str(unprivileged_port_start),
                )
            ]
            if binds_privileged_port
            else None,
            docker_security_options=list(defaults.EC2_SECURITY_OPTIONS) if ec2_only else None,
            gpu_count=gpu_count,
        )
        for path in dict.fromkeys((*item.writable_paths, *exec_paths)):
            volume = f"{item.name}-{_slug(path)}"[:255]
            self.task_definition.add_volume(name=volume)
            container.add_mount_points(
                ecs.MountPoint(container_path=path, source_volume=volume, read_only=False)
            )
        return container


# --- Validation ---------------------------------------------------------------------------------


def _sidecar(index: int, options: SidecarOptions) -> _Container:
    return _Container(
        argument=f"sidecars[{index}].",
        name=options.name,
        image=options.image,
        memory_limit_mib=options.memory_limit_mib,
        cpu=options.cpu,
        port=options.port,
        command=options.command,
        environment=dict(options.environment or {}),
        secrets=dict(options.secrets or {}),
        health_check=options.health_check,
        writable_paths=options.writable_paths,
        user=options.user,
        essential=options.essential,
        app_waits_for=options.app_waits_for,
        sidecar=True,
    )


def _check_task(
    problems: Problems,
    *,
    compatibility: ecs.Compatibility,
    fargate: bool,
    cpu: int,
    memory_mib: int,
    family: str | None,
    ephemeral_storage_gib: int | None,
    gpu_count: int | None,
    stop_timeout: cdk.Duration,
) -> None:
    problems.require(
        compatibility in SUPPORTED_COMPATIBILITIES,
        "compatibility",
        "must run tasks in awsvpc mode on Fargate or EC2",
        compatibility,
        "use ecs.Compatibility.FARGATE, EC2 or EC2_AND_FARGATE",
    )
    if family is not None and not is_token(family):
        problems.require(
            bool(_NAME.match(family)),
            "family",
            "must be 1-255 letters, digits, '-' or '_'",
            family,
            "e.g. 'myapp-task'",
        )
    if fargate:
        _check_fargate_size(problems, cpu, memory_mib)
        if ephemeral_storage_gib is not None:
            problems.in_range("ephemeral_storage_gib", ephemeral_storage_gib, 21, 200, "GiB")
        problems.require(
            gpu_count is None,
            "gpu_count",
            "Fargate has no GPUs",
            gpu_count,
            "use compatibility=ecs.Compatibility.EC2 with GPU instances, or drop gpu_count",
        )
    else:
        problems.in_range("cpu", cpu, *EC2_TASK_CPU, "CPU units")
        problems.require(
            is_token(memory_mib) or memory_mib >= 128,
            "memory_mib",
            "must be at least 128 MiB",
            memory_mib,
            "pass memory_mib=512 or more",
        )
        problems.require(
            ephemeral_storage_gib is None,
            "ephemeral_storage_gib",
            "is a Fargate setting; EC2 tasks use the instance's storage",
            ephemeral_storage_gib,
            "drop it, or size the instances' volumes",
        )
        if gpu_count is not None:
            problems.in_range("gpu_count", gpu_count, 1, 16)
    problems.seconds_in_range("stop_timeout", stop_timeout, 2, 120)


def _check_fargate_size(problems: Problems, cpu: int, memory_mib: int) -> None:
    if is_token(cpu) or is_token(memory_mib):
        return
    sizes = ", ".join(str(size) for size in FARGATE_CPU_MEMORY_MIB)
    if cpu not in FARGATE_CPU_MEMORY_MIB:
        problems.add("cpu", "is not a Fargate task size", cpu, f"use one of {sizes} CPU units")
        return
    allowed = FARGATE_CPU_MEMORY_MIB[cpu]
    problems.require(
        memory_mib in allowed,
        "memory_mib",
        f"Fargate does not pair {memory_mib} MiB with {cpu} CPU units",
        memory_mib,
        f"for cpu={cpu} use one of {', '.join(map(str, allowed))} MiB",
    )


def _check_logging(problems: Problems, options: LogOptions) -> None:
    name = options.log_group_name
    if name is not None and not is_token(name):
        problems.require(
            bool(_LOG_GROUP_NAME.match(name)) and not name.startswith("aws/"),
            "logging.log_group_name",
            "must be 1-512 of letters, digits and . - _ / #",
            name,
            "e.g. '/ecs/myapp'",
        )
    problems.in_range("logging.max_buffer_size_mib", options.max_buffer_size_mib, 1, 1024, "MiB")


def _check_containers(
    problems: Problems,
    containers: Sequence[_Container],
    *,
    cpu: int,
    memory_mib: int,
    app_limit_given: bool,
) -> None:
    app, sidecars = containers[0], containers[1:]
    names = [c.name for c in containers]
    for item in containers:
        _check_container(problems, item)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    problems.require(
        not duplicates,
        "sidecars",
        f"container names must be unique in the task (repeated: {', '.join(duplicates)})",
        names,
        "give every sidecar its own name, different from container_name",
    )
    ports = [c.port for c in containers if c.port is not None and not is_token(c.port)]
    taken = sorted({p for p in ports if ports.count(p) > 1})
    problems.require(
        not taken,
        "sidecars",
        f"containers of an awsvpc task share one network namespace; port(s) {taken} are used twice",
        ports,
        "give each container its own port",
    )
    sidecar_memory = sum(s.memory_limit_mib for s in sidecars)
    if is_token(memory_mib) or any(is_token(c.memory_limit_mib) for c in containers):
        pass
    elif app_limit_given:
        problems.in_range(
            "memory_limit_mib", app.memory_limit_mib, MIN_APP_MEMORY_MIB, memory_mib, "MiB"
        )
        total = sidecar_memory + app.memory_limit_mib
        problems.require(
            total <= memory_mib,
            "memory_limit_mib",
            f"with the sidecars' limits ({sidecar_memory} MiB) it exceeds the task's "
            f"{memory_mib} MiB",
            app.memory_limit_mib,
            f"pass at most {memory_mib - sidecar_memory}, or raise memory_mib",
        )
    else:
        problems.require(
            app.memory_limit_mib >= MIN_APP_MEMORY_MIB,
            "sidecars",
            f"their hard memory limits ({sidecar_memory} MiB) leave the application "
            f"{app.memory_limit_mib} of the task's {memory_mib} MiB (at least "
            f"{MIN_APP_MEMORY_MIB} needed)",
            [s.memory_limit_mib for s in sidecars],
            "raise memory_mib or lower the sidecars' memory_limit_mib",
        )
    sidecar_cpu = sum(s.cpu or 0 for s in sidecars)
    if not is_token(cpu):
        problems.require(
            sidecar_cpu < cpu,
            "sidecars",
            f"the sidecars reserve {sidecar_cpu} of the task's {cpu} CPU units, leaving the "
            "application none",
            [s.cpu for s in sidecars],
            "raise cpu or lower the sidecars' cpu",
        )


def _check_container(problems: Problems, item: _Container) -> None:
    arg = item.argument
    name_arg = f"{arg}name" if item.sidecar else "container_name"
    problems.require(
        bool(_NAME.match(item.name)),
        name_arg,
        "must be 1-255 letters, digits, '-' or '_'",
        item.name,
        "e.g. 'web'",
    )
    if item.port is not None:
        problems.in_range(f"{arg}port" if item.sidecar else "container_port", item.port, 1, 65535)
    if item.sidecar:
        problems.require(
            is_token(item.memory_limit_mib) or item.memory_limit_mib >= MIN_CONTAINER_MEMORY_MIB,
            f"{arg}memory_limit_mib",
            f"must be at least {MIN_CONTAINER_MEMORY_MIB} MiB (Docker's minimum)",
            item.memory_limit_mib,
            f"pass memory_limit_mib={defaults.SIDECAR_MEMORY_MIB} or more",
        )
        if item.cpu is not None:
            problems.in_range(f"{arg}cpu", item.cpu, 0, 196608, "CPU units")
        _check_dependency(problems, item)
    problems.require(
        bool(item.user) and not item.user.startswith(":"),
        f"{arg}user",
        "must be a user name, uid or uid:gid",
        item.user,
        "e.g. '1000:1000'",
    )
    _check_paths(problems, f"{arg}writable_paths", item.writable_paths)
    _check_environment(problems, f"{arg}environment", item.environment)
    for secret_name, value in item.secrets.items():
        argument = f"{arg}secrets[{secret_name!r}]"
        problems.require(
            bool(_ENV_NAME.match(secret_name)),
            f"{arg}secrets",
            "variable names must be letters, digits and '_', not starting with a digit",
            secret_name,
            "e.g. 'DB_PASSWORD'",
        )
        if not isinstance(value, SecretValue):
            problems.add(
                argument,
                "must be a SecretValue",
                value,
                "use SecretValue.from_secrets_manager(...) or SecretValue.from_ssm_parameter(...)",
            )
            continue
        value.validate(problems, argument)
    both = sorted(set(item.environment) & set(item.secrets))
    problems.require(
        not both,
        f"{arg}secrets",
        f"variable(s) {', '.join(both)} are set twice (environment and secrets)",
        both,
        "set each variable in one place",
    )
    if item.health_check is not None:
        item.health_check.validate(problems, f"{arg}health_check")


def _check_dependency(problems: Problems, item: _Container) -> None:
    condition = item.app_waits_for
    if condition == ecs.ContainerDependencyCondition.HEALTHY:
        problems.require(
            item.health_check is not None,
            f"{item.argument}app_waits_for",
            "HEALTHY needs the sidecar to have a health check",
            condition.value,
            "add health_check=HealthCheckOptions(...) or wait for START",
        )
    if condition in (
        ecs.ContainerDependencyCondition.COMPLETE,
        ecs.ContainerDependencyCondition.SUCCESS,
    ):
        problems.require(
            not item.essential,
            f"{item.argument}app_waits_for",
            f"{condition.value} is for init containers that exit, which must not be essential",
            condition.value,
            "set essential=False on this sidecar",
        )


def _check_paths(problems: Problems, argument: str, paths: Sequence[str]) -> None:
    if isinstance(paths, str):
        problems.add(argument, "must be a sequence of paths", paths, f"e.g. ({paths!r},)")
        return
    bad = [p for p in paths if not isinstance(p, str) or not _PATH.match(p) or "/../" in f"{p}/"]
    problems.require(
        not bad,
        argument,
        "must be absolute directory paths (not '/')",
        bad,
        "e.g. ('/tmp', '/var/cache/app')",
    )
    problems.require(
        len(set(paths)) == len(paths),
        argument,
        "lists a path twice",
        list(paths),
        "list each path once",
    )


def _check_environment(problems: Problems, argument: str, environment: Mapping[str, str]) -> None:
    for name, value in environment.items():
        if not _ENV_NAME.match(name):
            problems.add(
                argument,
                "variable names must be letters, digits and '_', not starting with a digit",
                name,
                "e.g. 'SPRING_PROFILES_ACTIVE'",
            )
            continue
        if not isinstance(value, str):
            problems.add(
                argument,
                f"the value of {name} must be a string",
                value,
                f"pass {name}={str(value)!r}",
            )
        elif looks_like_secret_name(name):
            problems.add(
                argument,
                f"{name} looks like a secret and would be stored in plain text in the task "
                "definition",
                name,
                f"pass it as secrets={{{name!r}: SecretValue.from_secrets_manager(secret)}} "
                "(or SecretValue.from_ssm_parameter)",
            )
        elif isinstance(value, str) and not is_token(value) and _SECRET_VALUE.search(value):
            problems.add(
                argument,
                f"the value of {name} looks like a credential (access key or private key)",
                f"{name}=<redacted>",
                "store it in Secrets Manager and pass it through secrets=",
            )


def looks_like_secret_name(name: str) -> bool:
    """True when an environment variable name looks like it holds a secret (see defaults)."""
    upper = name.upper()
    if upper.endswith(defaults.SECRET_REFERENCE_SUFFIXES):
        return False
    squashed = upper.replace("_", "")
    return any(marker in squashed for marker in defaults.SECRET_LIKE_NAMES)


def _check_image(
    problems: Problems, argument: str, image: ecs.ContainerImage, scope: Construct
) -> None:
    how_to_pin = (
        "pin it by digest, e.g. ContainerImage.from_registry('<repository>@sha256:<digest>') "
        "(`docker buildx imagetools inspect <image>` prints it), or push it to ECR and use "
        "ContainerImage.from_ecr_repository(repository, '<immutable tag>')"
    )
    if isinstance(image, ecs.EcrImage):
        reference = image.image_name.rsplit("/", 1)[-1]
        if "@" in reference:
            digest = reference.split("@", 1)[1]
            problems.require(
                is_token(digest) or bool(_DIGEST.match(digest)),
                argument,
                "has a malformed digest",
                digest,
                "use 'sha256:' followed by 64 lower-case hex digits",
            )
            return
        tag = reference.rsplit(":", 1)[-1] if ":" in reference else ""
        if not is_token(tag):
            problems.require(
                tag not in ("", "latest"),
                argument,
                "':latest' moves: every task start may run a different image",
                f"from_ecr_repository(..., tag={tag!r})",
                "pass an immutable version tag, e.g. from_ecr_repository(repository, 'v1.2.3'), "
                "or a digest 'sha256:<digest>'",
            )
        return
    if not isinstance(image, ecs.RepositoryImage):
        return  # a local build (from_asset, from_tarball): pinned by its content hash
    name = _registry_image_name(image, scope)
    if name is None or is_token(name):
        return
    if _ECR_HOST.match(name):
        problems.add(
            argument,
            "an ECR image by URI gets no pull permission and the task would fail to start",
            name,
            "use ContainerImage.from_ecr_repository(ecr.Repository.from_repository_name("
            "scope, 'Repo', '<name>'), '<tag>')",
        )
        return
    path, _, digest = name.partition("@")
    if digest:
        problems.require(
            bool(_DIGEST.match(digest)),
            argument,
            "has a malformed digest",
            name,
            "use '<repository>@sha256:' followed by 64 lower-case hex digits",
        )
        return
    last = path.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if tag == "latest":
        what = "':latest' moves: every task start may run a different image"
    elif not tag:
        what = "has no tag or digest, which means ':latest'"
    else:
        what = "a registry tag can be re-pointed at another image; only ECR tags may pin"
    problems.add(argument, what, name, how_to_pin)


def _registry_image_name(image: ecs.RepositoryImage, scope: Construct) -> str | None:
    """The name a registry image binds to, read in a throwaway app (no side effects here)."""
    stack = cdk.Stack.of(scope)
    env = cdk.Environment(
        account=None if cdk.Token.is_unresolved(stack.account) else stack.account,
        region=None if cdk.Token.is_unresolved(stack.region) else stack.region,
    )
    probe = cdk.Stack(cdk.App(auto_synth=False), "ImageProbe", env=env)
    task = ecs.FargateTaskDefinition(probe, "Task")
    task.add_container("Probe", image=image, memory_limit_mib=512)
    definitions = probe.resolve(task.node.default_child.container_definitions)  # type: ignore[union-attr]
    names = [d.get("image") for d in definitions or [] if isinstance(d, dict)]
    return names[0] if names and isinstance(names[0], str) else None


# --- Helpers --------------------------------------------------------------------------------


def _architecture_name(stack: cdk.Stack, architecture: ecs.CpuArchitecture) -> str:
    """``x86_64`` or ``arm64``: the ECS instance attribute value of an architecture."""
    rendered = stack.resolve(architecture)
    name = rendered.get("_cpuArchitecture") if isinstance(rendered, dict) else None
    return "arm64" if name == "ARM64" else "x86_64"


def _binds_privileged_port(item: _Container) -> bool:
    """A non-root container listening below 1024 (the kernel reserves those ports for root)."""
    port = item.port
    return port is not None and not is_token(port) and port < 1024 and not _is_root(item.user)


def _is_root(user: str) -> bool:
    return bool(_ROOT_USER.match(user))


def _unresolved(*durations: cdk.Duration) -> bool:
    return any(is_token(d.to_seconds()) for d in durations)


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "root"
