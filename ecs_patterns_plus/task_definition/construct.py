"""HardenedTaskDefinition: one hardened application container (plus sidecars), its roles and logs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .. import compliance, defaults
from ..boundary import AdoptedRole, check_given_role, warn_if_shared
from ..encryption import stack_key
from ..errors import Problems, checked, is_token, number_text
from ..iam import ECR_AUTH_ROUTE, EXEC_ACTIONS, EXEC_ROUTE, RoutedRole, acknowledge_default_policy
from ..retention import check_retention, retained_log_group
from ..secrets import SecretValue
from ..storage import EfsVolume, check_efs_volumes, mount_efs_volumes
from .ebs import EbsVolume, check_ebs_volumes, mount_ebs_volumes
from .environment_files import bind_environment_files, check_environment_files
from .images import check_image
from .observability import LogRouter, Observability, OpenTelemetryCollector
from .options import ContainerSpec, HealthCheckOptions, LogOptions, SidecarOptions, sidecar_spec
from .validation import check_containers, check_logging, check_port_name, check_task

_ROOT_USER = re.compile(r"^(0|root)(:.*)?$")


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
        port_protocol: the transport of ``container_port``: ``ecs.Protocol.TCP``, or ``UDP``
            behind a UDP listener of a ``SecureNetworkLoadBalancer``. Default: TCP.
        additional_ports: more TCP ports the application container listens on, 1024-65535,
            e.g. an admin or metrics port (``AlbFargateService(additional_routes=...)`` routes
            each). Default: none.
        port_name: names ``container_port`` for Service Connect, which publishes named ports
            (``BackendService``): up to 64 lower-case letters, digits, ``_`` and ``-``, e.g.
            ``orders``. A named port also leaves 64 MiB of the task's memory to the Service
            Connect proxy that ECS adds to the task. Default: none.
        app_protocol: what the named port speaks: ``ecs.AppProtocol.http``, ``http2`` or
            ``grpc`` (Service Connect then measures requests, 5xx and response time), or
            ``None`` for plain TCP (connection counts only). Default: HTTP.
        environment: plain, non-secret variables; names that look like secrets
            (``PASSWORD``, ``TOKEN``, ``API_KEY``, ...) are refused. Default: none.
        environment_files: ``.env`` files of plain variables for the application container,
            read at start: ``ecs.EnvironmentFile.from_asset("config/prod.env")`` (uploaded;
            its names get the same refusal as ``environment``) or ``.from_bucket(bucket,
            "prod.env")``; the execution role may read exactly these objects. Up to 10.
            Default: none.
        efs_volumes: directories of EFS file systems mounted into the application container
            (``EfsVolume``), each through an access point as the container's user, with TLS
            and IAM authorization; read-only unless ``read_only=False``. Services and jobs
            admit their tasks to the file systems. Default: none.
        ebs_volumes: one ``EbsVolume`` (ECS allows one per task), configured at launch and
            mounted writable in the application container: every service built on this task
            definition gives each task its own new encrypted volume, deleted when the task
            stops. Not for daemons or jobs. Default: none.
        secrets: variables read from Secrets Manager or SSM Parameter Store at start
            (``SecretValue``). Default: none.
        command: overrides the image's command. Default: the image's.
        health_check: the container health check. Default: none (the load balancer's check
            still applies); ``health_check_start_period`` is then 60 seconds.
        logging: log group name, retention, key, mode and buffer. Default: ``LogOptions()``.
        writable_paths: the only writable paths of the application container, each a task
            volume. Default: ``("/tmp",)``.
        sidecars: helper containers (``SidecarOptions``). Default: none.
        log_router: a FireLens log router (``LogRouter``): a hardened Fluent Bit sidecar that
            starts first and sends the application container's output to one destination
            (the task's log group, a Firehose stream or an S3 prefix), with exactly that grant
            for the task role; its own logs stay in the task's log group, and ``logging``'s
            mode and buffer then apply to the sidecars only. Default: none (awslogs).
        telemetry: an OpenTelemetry collector (``OpenTelemetryCollector``): a hardened AWS
            Distro for OpenTelemetry sidecar that turns the application's OTLP metrics into
            CloudWatch metrics through the task's log group and, with ``traces=True``, sends
            its spans to X-Ray; the application container is told its endpoint
            (``OTEL_EXPORTER_OTLP_ENDPOINT``, ...). Default: none.
        architecture: ``X86_64`` or ``ARM64`` (Graviton); the image must match.
            Default: ``X86_64``.
        ephemeral_storage_gib: Fargate ephemeral storage, 21-200 GiB. Default: 20 GiB.
        enable_exec: prepare for ECS Exec: mount the SSM agent's writable paths in every
            container and give the task role the session channels. Services that enable
            ECS Exec require it. Default: False.
        compatibility: ``FARGATE``, ``EC2`` or ``EC2_AND_FARGATE``; always ``awsvpc``
            networking. Default: ``FARGATE``.
        gpu_count: GPUs for the application container, EC2 only. Default: none.
        memory_limit_mib: the application container's hard memory limit; needed with sidecars
            when ``memory_mib`` or a sidecar's limit is a token. Default: the task memory minus
            the sidecars' limits.
        stop_timeout: time between SIGTERM and SIGKILL, 2-120 s. Default: 30 seconds.
        user: the uid:gid the application container runs as; root is allowed but warned
            about (``ecs-patterns-plus:root-user``). Default: ``1000:1000``.
        readonly_root_filesystem: False makes the application's root filesystem writable and
            warns (``ecs-patterns-plus:writable-root-filesystem``). Default: True.
        execution_role: an existing role for the ECS agent instead of a new one, e.g.
            ``iam.Role.from_role_arn(self, "Exec", arn)``. It must trust
            ``ecs-tasks.amazonaws.com`` (checked for a role of this app; an imported role's
            trust policy cannot be read). A role of this app or a mutable import gets the exact
            grants (images, log group, secrets, environment files) in a policy the library
            attaches to it. An immutable one (``mutable=False``, another account) gets nothing:
            ``secrets`` and ``environment_files`` are refused, and a warning
            (``ecs-patterns-plus:immutable-role-permissions``) lists what it must already allow
            (image pulls, log writes). Default: a new role with exactly those grants.
        task_role: an existing role for the application instead of a new, empty one; it must
            trust ``ecs-tasks.amazonaws.com``, ideally only for this account
            (``aws:SourceAccount``, ``aws:SourceArn``), as the library's own does. Grants to
            ``task_role`` (queues, topics, ``bucket.grant_read(td.task_role)``) go to a policy
            attached to it; an immutable role is refused with ``enable_exec`` and
            ``efs_volumes`` and gets the same warning for later grants. The same role for both
            warns (``ecs-patterns-plus:shared-task-execution-role``). Default: a new role.

    Attributes:
        task_definition, container (the essential application container), sidecars (by
        name), container_name, container_port, container_ports (container name -> port, the
        sidecars' too), additional_ports, port_name, app_protocol (``None`` without a
        port name), log_group, encryption_key (of the log group), execution_role, task_role
        (new, or the given ones as an ``AdoptedRole``: grant to these),
        health_check_start_period, exec_enabled, unreserved_memory_mib (task memory no
        container's hard limit claims, left to the Service Connect proxy; ``None`` for tokens),
        stop_timeout, ebs_volumes (as given), variables (the application container's
        variable and secret names),
        health_check and secrets (the application container's, as given), telemetry.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ecs.ContainerImage,
        cpu: int = defaults.TASK_CPU,
        memory_mib: int = defaults.TASK_MEMORY_MIB,
        family: str | None = None,
        container_name: str = defaults.CONTAINER_NAME,
        container_port: int | None = None,
        port_protocol: ecs.Protocol = ecs.Protocol.TCP,
        additional_ports: Sequence[int] = (),
        port_name: str | None = None,
        app_protocol: ecs.AppProtocol | None = defaults.SERVICE_CONNECT_APP_PROTOCOL,
        environment: Mapping[str, str] | None = None,
        environment_files: Sequence[ecs.EnvironmentFile] = (),
        efs_volumes: Sequence[EfsVolume] = (),
        ebs_volumes: Sequence[EbsVolume] = (),
        secrets: Mapping[str, SecretValue] | None = None,
        command: Sequence[str] | None = None,
        health_check: HealthCheckOptions | None = None,
        logging: LogOptions | None = None,
        writable_paths: Sequence[str] = defaults.WRITABLE_PATHS,
        sidecars: Sequence[SidecarOptions] = (),
        architecture: ecs.CpuArchitecture = defaults.TASK_ARCHITECTURE,
        ephemeral_storage_gib: int | None = None,
        enable_exec: bool = False,
        compatibility: ecs.Compatibility = defaults.TASK_COMPATIBILITY,
        gpu_count: int | None = None,
        memory_limit_mib: int | None = None,
        stop_timeout: cdk.Duration = defaults.STOP_TIMEOUT,
        user: str = defaults.CONTAINER_USER,
        readonly_root_filesystem: bool = defaults.READONLY_ROOT_FILESYSTEM,
        execution_role: iam.IRole | None = None,
        task_role: iam.IRole | None = None,
        log_router: LogRouter | None = None,
        telemetry: OpenTelemetryCollector | None = None,
    ) -> None:
        log_options = logging or LogOptions()
        # The observability presets are sidecars; the collector's variables go to the app.
        presets = Observability(
            log_router=log_router, telemetry=telemetry, container_name=container_name
        )
        sidecars = [*sidecars, *presets.sidecars]
        environment = presets.app_environment(environment, secrets)
        # The application gets what the sidecars leave; CloudFormation cannot subtract tokens.
        memory_tokens = [is_token(memory_mib), *(is_token(s.memory_limit_mib) for s in sidecars)]
        share_unknown = memory_limit_mib is None and bool(sidecars) and any(memory_tokens)
        proxy = defaults.SERVICE_CONNECT_PROXY_MEMORY_MIB if port_name is not None else 0
        app = ContainerSpec(
            argument="",
            name=container_name,
            image=image,
            memory_limit_mib=memory_limit_mib
            if memory_limit_mib is not None
            else memory_mib
            if share_unknown
            else memory_mib - proxy - sum(s.memory_limit_mib for s in sidecars),
            cpu=None,
            port=container_port,
            extra_ports=tuple(additional_ports),
            command=command,
            environment=dict(environment or {}),
            secrets=dict(secrets or {}),
            health_check=health_check,
            writable_paths=writable_paths,
            user=user,
        )
        containers = presets.label(
            [app, *(sidecar_spec(index, s) for index, s in enumerate(sidecars))]
        )

        problems = Problems(scope, construct_id)
        fargate = compatibility in (ecs.Compatibility.FARGATE, ecs.Compatibility.EC2_AND_FARGATE)
        check_task(
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
        problems.require(
            not share_unknown,
            "memory_limit_mib",
            "is needed when memory_mib or a sidecar's memory_limit_mib is a token: the "
            "application's share is what the sidecars leave, which cannot be computed from a token",
            None,
            "pass memory_limit_mib for the application container (a number or a token)",
        )
        check_logging(problems, log_options)
        check_retention(problems, "logging.retention", log_options.retention)
        check_containers(
            problems,
            containers,
            cpu=cpu,
            memory_mib=memory_mib,
            app_limit_given=memory_limit_mib is not None,
        )
        for item in containers:
            check_image(problems, f"{item.argument}image", item.image, scope)
        check_port_name(problems, port_name, container_port)
        check_efs_volumes(problems, efs_volumes, user=user, writable_paths=writable_paths)
        check_ebs_volumes(
            problems,
            ebs_volumes,
            containers=containers,
            exec_paths=defaults.EXEC_WRITABLE_PATHS if enable_exec else (),
            efs_paths=[volume.container_path for volume in efs_volumes],
            fargate=fargate,
        )
        check_environment_files(problems, scope, environment_files, app.environment, app.secrets)
        check_given_role(
            problems,
            "execution_role",
            execution_role,
            refused=[
                (any(item.secrets for item in containers), "read access to the secrets"),
                (bool(environment_files), "read access to the environment files"),
            ],
        )
        check_given_role(
            problems,
            "task_role",
            task_role,
            refused=[
                (enable_exec, "the ECS Exec permissions"),
                (bool(efs_volumes), "the EFS mount permissions"),
                (bool(presets.sidecars), "the log router's or collector's write permissions"),
            ],
        )
        presets.validate(problems)
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        stack = cdk.Stack.of(self)
        self.exec_enabled = enable_exec
        self.health_check = health_check
        self.secrets: dict[str, SecretValue] = dict(secrets or {})
        self.telemetry = telemetry
        self.stop_timeout = stop_timeout
        self.container_name = container_name
        self.container_port = container_port
        self.port_name = port_name
        self.port_protocol = port_protocol
        self.container_ports: dict[str, int] = {
            item.name: item.port for item in containers if item.port is not None
        }
        self.additional_ports: tuple[int, ...] = tuple(additional_ports)
        self.app_protocol = app_protocol if port_name is not None else None
        limits = [memory_mib, *(item.memory_limit_mib for item in containers)]
        self.unreserved_memory_mib: int | None = (
            None if any(is_token(limit) for limit in limits) else limits[0] - sum(limits[1:])
        )
        self.health_check_start_period: cdk.Duration = (
            health_check.start_period if health_check else defaults.HEALTH_CHECK_START_PERIOD
        )
        self.execution_role: iam.IRole = (
            AdoptedRole(
                self,
                "ExecutionRole",
                role=execution_role,
                purpose="execution role",
                routes=[ECR_AUTH_ROUTE],
            )
            if execution_role is not None
            else RoutedRole(
                self,
                "ExecutionRole",
                assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                description="ECS agent: pull the images, write the logs, read the task's secrets",
                routes=[ECR_AUTH_ROUTE],
            )
        )
        if task_role is not None:
            self.task_role: iam.IRole = AdoptedRole(
                self,
                "TaskRole",
                role=task_role,
                purpose="task role",
                routes=[EXEC_ROUTE] if enable_exec else [],
                exec_logging=enable_exec,
            )
        else:
            self.task_role = RoutedRole(
                self,
                "TaskRole",
                assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com").with_conditions(
                    {
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {"aws:SourceArn": stack.format_arn(service="ecs", resource="*")},
                    }
                ),
                description="The application's own AWS permissions",
                routes=[EXEC_ROUTE] if enable_exec else [],
                exec_logging=enable_exec,
            )
            # Grants by the application (bucket.grant_read(task_role), ...) land in the task
            # role's DefaultPolicy, ARN-scoped by the grant.
            compliance.GRANT_DEFAULT_POLICY.apply(self.task_role)
        warn_if_shared(self, execution_role, task_role)

        self.task_definition = ecs.TaskDefinition(
            self,
            "TaskDefinition",
            compatibility=compatibility,
            network_mode=ecs.NetworkMode.AWS_VPC,
            cpu=number_text(cpu),
            memory_mib=number_text(memory_mib),
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
        bind_environment_files(self, environment_files, self.execution_role)
        self._environment_files = list(environment_files)
        self.encryption_key: kms.IKey = log_options.encryption_key or stack_key(self)
        self.log_group = retained_log_group(
            self,
            "LogGroup",
            key=self.encryption_key,
            retention=log_options.retention,
            log_group_name=log_options.log_group_name
            or f"{defaults.LOG_GROUP_PREFIX}{self.task_definition.family}",
        )
        self._observability = presets.bind(task_role=self.task_role, log_group=self.log_group)

        privileged_ports = [
            c.port for c in containers if c.port is not None and _binds_privileged_port(c)
        ]
        unprivileged_port_start = min(privileged_ports) if privileged_ports else None
        exec_paths = defaults.EXEC_WRITABLE_PATHS if enable_exec else ()
        built: dict[str, ecs.ContainerDefinition] = {}
        for index, item in enumerate(containers):
            built[item.name] = self._add_container(
                index,
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
        self.efs_volumes = tuple(efs_volumes)
        self.file_systems = mount_efs_volumes(
            self, self.task_definition, self.container, efs_volumes, user
        )
        self.ebs_volumes = mount_ebs_volumes(
            self, self.task_definition, self.container, ebs_volumes
        )
        self._variables = {*app.environment, *app.secrets}
        for item in containers:
            if item.sidecar and item.app_waits_for is not None:
                self.container.add_container_dependencies(
                    ecs.ContainerDependency(
                        container=built[item.name], condition=item.app_waits_for
                    )
                )
            for target, condition in item.waits_for.items():
                built[item.name].add_container_dependencies(
                    ecs.ContainerDependency(container=built[target], condition=condition)
                )

        if enable_exec:  # what an ECS Exec session needs, also for RunTask without a service
            self.task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=sorted(a for a in EXEC_ACTIONS if a.startswith("ssmmessages:")),
                    resources=["*"],
                )
            )
        acknowledge_default_policy(self.execution_role)
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

    @property
    def variables(self) -> frozenset[str]:
        """Names of the application container's environment variables and secrets."""
        return frozenset(self._variables)

    def add_variable(self, name: str, value: str) -> None:
        """Give the application container plain configuration the library derives, such as
        a queue URL or topic ARN (checked by the caller against ``variables``)."""
        self.container.add_environment(name, value)
        self._variables.add(name)
        compliance.PLAIN_ENVIRONMENT.apply(self.task_definition)

    def _add_container(
        self,
        index: int,
        item: ContainerSpec,
        *,
        log_options: LogOptions,
        stop_timeout: cdk.Duration,
        ec2_only: bool,
        unprivileged_port_start: int | None,
        exec_paths: Sequence[str],
        readonly: bool,
        gpu_count: int | None,
    ) -> ecs.ContainerDefinition:
        buffer = log_options.max_buffer_size_mib
        buffer_token = is_token(buffer)
        non_blocking = log_options.mode == ecs.AwsLogDriverMode.NON_BLOCKING
        firelens = self._observability.log_driver(item)  # the app's lines via a log router
        linux_parameters = ecs.LinuxParameters(
            self,
            f"{_pascal(item.name)}LinuxParameters",
            init_process_enabled=defaults.INIT_PROCESS_ENABLED,
        )
        linux_parameters.drop_capabilities(*defaults.DROPPED_CAPABILITIES)
        binds_privileged_port = _binds_privileged_port(item)
        container = self._observability.adder(self.task_definition, item.name)(
            item.name,
            container_name=item.name,
            image=item.image,
            essential=item.essential,
            memory_limit_mib=item.memory_limit_mib,
            cpu=item.cpu,
            command=list(item.command) if item.command is not None else None,
            environment=dict(item.environment) or None,
            environment_files=None if item.sidecar else (self._environment_files or None),
            secrets={name: value.to_ecs_secret() for name, value in item.secrets.items()} or None,
            port_mappings=[
                ecs.PortMapping(
                    container_port=item.port,
                    protocol=ecs.Protocol.TCP if item.sidecar else self.port_protocol,
                    name=None if item.sidecar else self.port_name,
                    app_protocol=None if item.sidecar else self.app_protocol,
                ),
                *(ecs.PortMapping(container_port=port) for port in item.extra_ports),
            ]
            if item.port is not None
            else None,
            health_check=item.health_check.to_health_check() if item.health_check else None,
            logging=firelens
            or ecs.LogDrivers.aws_logs(
                stream_prefix=item.name,
                log_group=self.log_group,
                mode=log_options.mode,
                max_buffer_size=cdk.Size.mebibytes(
                    defaults.LOG_MAX_BUFFER_SIZE_MIB if buffer_token else buffer
                )
                if non_blocking
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
            gpu_count=None if is_token(gpu_count) else gpu_count,
        )
        # Values CloudFormation takes as tokens but CDK compares or converts at synth time.
        overrides: dict[str, object] = {}
        if non_blocking and buffer_token and firelens is None:
            overrides["LogConfiguration.Options.max-buffer-size"] = cdk.Fn.join(
                "", [cdk.Token.as_string(buffer), "m"]
            )
        if gpu_count is not None and is_token(gpu_count):
            overrides["ResourceRequirements"] = [
                {"Type": "GPU", "Value": cdk.Token.as_string(gpu_count)}
            ]
        if item.health_check is not None:
            overrides.update(item.health_check.token_overrides())
        definition = self.task_definition.node.default_child
        for path, value in overrides.items():
            definition.add_property_override(f"ContainerDefinitions.{index}.{path}", value)  # type: ignore[union-attr]
        for path in dict.fromkeys((*item.writable_paths, *exec_paths)):
            volume = f"{item.name}-{_slug(path)}"[:255]
            self.task_definition.add_volume(name=volume)
            container.add_mount_points(
                ecs.MountPoint(container_path=path, source_volume=volume, read_only=False)
            )
        return container


# --- Helpers --------------------------------------------------------------------------------


def _architecture_name(stack: cdk.Stack, architecture: ecs.CpuArchitecture) -> str:
    """``x86_64`` or ``arm64``: the ECS instance attribute value of an architecture."""
    rendered = stack.resolve(architecture)
    name = rendered.get("_cpuArchitecture") if isinstance(rendered, dict) else None
    return "arm64" if name == "ARM64" else "x86_64"


def _binds_privileged_port(item: ContainerSpec) -> bool:
    """A non-root container listening below 1024 (the kernel reserves those ports for root)."""
    port = item.port
    return port is not None and not is_token(port) and port < 1024 and not _is_root(item.user)


def _is_root(user: str) -> bool:
    return bool(_ROOT_USER.match(user))


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name) if part)


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "root"
