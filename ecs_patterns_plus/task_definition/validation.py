"""The checks of a task definition's arguments: sizes, logging, containers, paths, variables."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs

from .. import defaults
from ..errors import Problems, checked, is_token
from .options import ContainerSpec, LogOptions

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

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
PORT_NAME = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,63}$")
"""ECS's rule for a port mapping name (what Service Connect publishes)."""
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOG_GROUP_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
_PATH = re.compile(r"^(/[A-Za-z0-9._@+-]+)+$")
_SECRET_VALUE = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----")


def check_task(
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
            problems.in_range(
                "ephemeral_storage_gib",
                ephemeral_storage_gib,
                *FARGATE_EPHEMERAL_STORAGE_GIB,
                "GiB",
            )
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


def check_logging(problems: Problems, options: LogOptions) -> None:
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


def check_containers(
    problems: Problems,
    containers: Sequence[ContainerSpec],
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
    ports = [
        port
        for c in containers
        for port in (c.port, *c.extra_ports)
        if port is not None and not is_token(port)
    ]
    taken = sorted({p for p in ports if ports.count(p) > 1})
    problems.require(
        not taken,
        "sidecars",
        f"containers of an awsvpc task share one network namespace; port(s) {taken} are used twice",
        ports,
        "give each container its own port",
    )
    _check_start_order(problems, containers)
    if not any(
        is_token(value) for value in (memory_mib, *(c.memory_limit_mib for c in containers))
    ):
        _check_memory(problems, app, sidecars, memory_mib, app_limit_given)
    if not any(is_token(value) for value in (cpu, *(s.cpu for s in sidecars))):
        sidecar_cpu = sum(s.cpu or 0 for s in sidecars)
        problems.require(
            sidecar_cpu < cpu,
            "sidecars",
            f"the sidecars reserve {sidecar_cpu} of the task's {cpu} CPU units, leaving the "
            "application none",
            [s.cpu for s in sidecars],
            "raise cpu or lower the sidecars' cpu",
        )


def check_port_name(problems: Problems, port_name: str | None, container_port: int | None) -> None:
    """A port name names the application's ``container_port`` in ECS's characters."""
    if port_name is None:
        return
    problems.require(
        container_port is not None,
        "port_name",
        "names the container port, and there is none",
        port_name,
        "pass container_port=8080 with it",
    )
    if not is_token(port_name):
        problems.require(
            bool(PORT_NAME.match(port_name)),
            "port_name",
            "must be 1-64 lower-case letters, digits, '_' or '-', not starting with '-' "
            "(ECS's rule for port mapping names)",
            port_name,
            "e.g. 'orders'",
        )


def _check_memory(
    problems: Problems,
    app: ContainerSpec,
    sidecars: Sequence[ContainerSpec],
    memory_mib: int,
    app_limit_given: bool,
) -> None:
    sidecar_memory = sum(s.memory_limit_mib for s in sidecars)
    if app_limit_given:
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


def _check_container(problems: Problems, item: ContainerSpec) -> None:
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
    for index, port in enumerate(item.extra_ports):
        problems.in_range(f"additional_ports[{index}]", port, 1024, 65535)
    problems.require(
        item.port is not None or not item.extra_ports,
        "additional_ports",
        "are more ports besides container_port, and there is none",
        list(item.extra_ports),
        "pass container_port too",
    )
    if item.sidecar:
        problems.require(
            is_token(item.memory_limit_mib) or item.memory_limit_mib >= MIN_CONTAINER_MEMORY_MIB,
            f"{arg}memory_limit_mib",
            f"must be at least {MIN_CONTAINER_MEMORY_MIB} MiB (Docker's minimum)",
            item.memory_limit_mib,
            f"pass memory_limit_mib={defaults.SIDECAR_MEMORY_MIB} or more",
        )
        if item.cpu is not None:
            problems.in_range(f"{arg}cpu", item.cpu, 0, EC2_TASK_CPU[1], "CPU units")
        _check_dependency(problems, item)
    problems.require(
        bool(item.user) and not item.user.startswith(":"),
        f"{arg}user",
        "must be a user name, uid or uid:gid",
        item.user,
        "e.g. '1000:1000'",
    )
    _check_paths(problems, f"{arg}writable_paths", item.writable_paths)
    check_environment(problems, f"{arg}environment", item.environment)
    for secret_name, value in item.secrets.items():
        argument = f"{arg}secrets[{secret_name!r}]"
        problems.require(
            bool(_ENV_NAME.match(secret_name)),
            f"{arg}secrets",
            "variable names must be letters, digits and '_', not starting with a digit",
            secret_name,
            "e.g. 'DB_PASSWORD'",
        )
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


def _check_start_order(problems: Problems, containers: Sequence[ContainerSpec]) -> None:
    """Every ``waits_for`` names another container, with a condition it can reach, and the
    start order (the application after its sidecars' ``app_waits_for``) has no cycle: ECS
    could never start a task whose containers wait for each other."""
    by_name = {item.name: item for item in containers}
    app = containers[0]
    edges: dict[str, set[str]] = {item.name: set() for item in containers}
    for item in containers[1:]:
        if item.app_waits_for is not None:
            edges[app.name].add(item.name)
        for target, condition in item.waits_for.items():
            argument = f"{item.argument}waits_for[{target!r}]"
            other = by_name.get(target)
            if not problems.require(
                other is not None and target != item.name,
                argument,
                "must name another container of the task",
                target,
                f"name one of {sorted(set(by_name) - {item.name})}",
            ):
                continue
            assert other is not None
            edges[item.name].add(target)
            if condition == ecs.ContainerDependencyCondition.HEALTHY:
                problems.require(
                    other.health_check is not None,
                    argument,
                    f"HEALTHY needs {target} to have a health check",
                    condition.value,
                    f"give {target} a health_check, or wait for START",
                )
            if condition in (
                ecs.ContainerDependencyCondition.COMPLETE,
                ecs.ContainerDependencyCondition.SUCCESS,
            ):
                problems.require(
                    not other.essential,
                    argument,
                    f"{condition.value} waits for {target} to exit, and an essential container "
                    "that exits stops the task",
                    condition.value,
                    f"make {target} a non-essential init container, or wait for START",
                )
    cycle = _cycle(edges)
    problems.require(
        cycle is None,
        "sidecars",
        "wait for each other in a cycle, so ECS could never start the task: "
        + " -> ".join(cycle or []),
        cycle,
        "remove one of these waits_for / app_waits_for",
    )


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in the "starts after" graph, as the names along it; None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for after in sorted(edges[name]):
            if state.get(after) == 1:
                return [*path[path.index(after) :], after]
            if after not in state and (found := visit(after)) is not None:
                return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(edges):
        if name not in state and (found := visit(name)) is not None:
            return found
    return None


def _check_dependency(problems: Problems, item: ContainerSpec) -> None:
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
    bad = [p for p in paths if not _PATH.match(p) or "/../" in f"{p}/"]
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


def check_environment(problems: Problems, argument: str, environment: Mapping[str, str]) -> None:
    """Record problems with plain variables: bad names, secret-looking names or values."""
    for name, value in environment.items():
        if not _ENV_NAME.match(name):
            problems.add(
                argument,
                "variable names must be letters, digits and '_', not starting with a digit",
                name,
                "e.g. 'SPRING_PROFILES_ACTIVE'",
            )
            continue
        if looks_like_secret_name(name):
            problems.add(
                argument,
                f"{name} looks like a secret and would be stored in plain text in the task "
                "definition",
                name,
                f"pass it as secrets={{{name!r}: SecretValue.from_secrets_manager(secret)}} "
                "(or SecretValue.from_ssm_parameter)",
            )
        elif not is_token(value) and _SECRET_VALUE.search(value):
            problems.add(
                argument,
                f"the value of {name} looks like a credential (access key or private key)",
                f"{name}=<redacted>",
                "store it in Secrets Manager and pass it through secrets=",
            )


@checked
def looks_like_secret_name(name: str) -> bool:
    """True when an environment variable name looks like it holds a secret (see defaults)."""
    upper = name.upper()
    if upper.endswith(defaults.SECRET_REFERENCE_SUFFIXES):
        return False
    squashed = upper.replace("_", "")
    return any(marker in squashed for marker in defaults.SECRET_LIKE_NAMES)
