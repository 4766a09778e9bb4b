"""Where a task runs: Fargate or EC2 capacity providers, checked against its task definition."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs

from .errors import Problems, is_token
from .task_definition import HardenedTaskDefinition

FARGATE_CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def check_capacity_strategy(
    problems: Problems,
    argument: str,
    strategy: Sequence[ecs.CapacityProviderStrategy],
    providers: Iterable[str] = FARGATE_CAPACITY_PROVIDERS,
) -> None:
    """Record problems with a capacity provider strategy (names, weights, a single base)."""
    known = tuple(providers)
    if not strategy:
        problems.add(argument, "must name at least one capacity provider", [], f"use {known}")
        return
    names = [item.capacity_provider for item in strategy]
    unknown = [name for name in names if name not in known]
    problems.require(
        not unknown, argument, "unknown capacity provider", unknown, f"use names from {known}"
    )
    problems.require(
        len(set(names)) == len(names),
        argument,
        "names a capacity provider twice",
        names,
        "give each provider once",
    )
    # A token weight or base is known only at deploy time: the checks that need it skip it.
    weights = [item.weight or 0 for item in strategy]
    bases = [item.base or 0 for item in strategy]
    literal_weights = [weight for weight in weights if not is_token(weight)]
    literal_bases = [base for base in bases if not is_token(base)]
    problems.require(
        all(0 <= weight <= 1000 for weight in literal_weights),
        argument,
        "weights must be between 0 and 1000",
        literal_weights,
        "pass weights from 0 to 1000",
    )
    problems.require(
        len(literal_weights) < len(weights) or any(weight > 0 for weight in weights),
        argument,
        "at least one provider needs a weight above 0",
        weights,
        "give one provider weight >= 1",
    )
    problems.require(
        all(0 <= base <= 100000 for base in literal_bases)
        and sum(is_token(base) or base > 0 for base in bases) <= 1,
        argument,
        "only one provider may have a base, from 0 to 100000",
        literal_bases,
        "set base on a single provider (e.g. FARGATE base=1)",
    )


TaskDefinitionLike = ecs.TaskDefinition | HardenedTaskDefinition
"""What tasks run from: a ``HardenedTaskDefinition``, or any ``ecs.TaskDefinition``."""


def unwrap_task_definition(task_definition: TaskDefinitionLike) -> ecs.TaskDefinition:
    """The ``ecs.TaskDefinition`` itself (a ``HardenedTaskDefinition``'s ``.task_definition``)."""
    if isinstance(task_definition, HardenedTaskDefinition):
        return task_definition.task_definition
    return task_definition


def _is_fargate_name(name: str) -> bool:
    return not is_token(name) and name.upper().startswith("FARGATE")


class Launch:
    """Where a task runs, as decided from its task definition and capacity provider strategy."""

    def __init__(self, fargate: bool, strategy: Sequence[ecs.CapacityProviderStrategy]) -> None:
        self.fargate = fargate
        self.strategy = list(strategy)


def check_launch(
    problems: Problems,
    task_definition: TaskDefinitionLike,
    strategy: Sequence[ecs.CapacityProviderStrategy] | None,
    default_strategy: Sequence[ecs.CapacityProviderStrategy],
    placement: bool,
) -> Launch | None:
    """Record problems with the task definition and strategy; return where the task runs."""
    definition = unwrap_task_definition(task_definition)
    if definition.network_mode != ecs.NetworkMode.AWS_VPC:
        problems.add(
            "task_definition",
            "network mode must be awsvpc: each task gets its own network interface and "
            "security group (host and bridge modes share the instance's; CT.ECS.PR.4)",
            str(definition.network_mode.value),
            "use network_mode=ecs.NetworkMode.AWS_VPC (HardenedTaskDefinition always does)",
        )
    given = strategy is not None
    if strategy is None:
        if not definition.is_fargate_compatible:
            problems.add(
                "capacity_provider_strategy",
                "an EC2 task definition needs the EC2 capacity provider(s) to run on",
                None,
                "pass e.g. [platform.ec2_capacity['gpu'].strategy()]",
            )
            return None
        strategy = default_strategy
        if not strategy:  # launch type FARGATE
            _refuse_placement_on_fargate(problems, placement, ["FARGATE"])
            return Launch(True, ())
    names = [item.capacity_provider for item in strategy]
    fargate = [name for name in names if _is_fargate_name(name)]
    ec2_names = [name for name in names if not _is_fargate_name(name)]
    check_capacity_strategy(
        problems,
        "capacity_provider_strategy",
        strategy,
        (*FARGATE_CAPACITY_PROVIDERS, *ec2_names),
    )
    if fargate and ec2_names:
        problems.add(
            "capacity_provider_strategy",
            "mixes Fargate and EC2 capacity providers, which one task cannot use together",
            [str(name) for name in names],
            "use FARGATE/FARGATE_SPOT only, or EC2 capacity providers only",
        )
        return None
    on_fargate = bool(fargate)
    if on_fargate and not definition.is_fargate_compatible:
        problems.add(
            "capacity_provider_strategy",
            "names Fargate, but the task definition is EC2-only (GPUs, EC2 features)",
            fargate,
            "run it on an EC2 capacity provider, e.g. [platform.ec2_capacity['gpu'].strategy()]",
        )
    if not on_fargate and names and not definition.is_ec2_compatible:
        problems.add(
            "capacity_provider_strategy",
            "names EC2 capacity, but the task definition is Fargate-only",
            [str(name) for name in names],
            "use FARGATE/FARGATE_SPOT, or compatibility=ecs.Compatibility.EC2_AND_FARGATE",
        )
    if on_fargate:
        _refuse_placement_on_fargate(problems, placement, fargate)
        _refuse_arm_on_fargate_spot(problems, definition, strategy, given=given)
    return Launch(on_fargate, strategy)


def _refuse_arm_on_fargate_spot(
    problems: Problems,
    definition: ecs.TaskDefinition,
    strategy: Sequence[ecs.CapacityProviderStrategy],
    *,
    given: bool,
) -> None:
    """Fargate Spot runs only X86_64 Linux tasks: "Linux tasks with the ARM64 architecture don't
    support the Fargate Spot capacity provider" (Amazon ECS documentation, "Fargate capacity
    providers" considerations: docs.aws.amazon.com/AmazonECS/latest/userguide/
    fargate-capacity-providers.html). A provider with weight and base 0 receives no tasks."""
    if _cpu_architecture(definition) != "ARM64":
        return
    spot = [
        item
        for item in strategy
        if item.capacity_provider == "FARGATE_SPOT"
        and any(is_token(n) or (n or 0) > 0 for n in (item.weight, item.base))
    ]
    problems.require(
        not spot,
        "capacity_provider_strategy",
        "names FARGATE_SPOT"
        + ("" if given else " (the default)")
        + ", which does not run ARM64 (Graviton) tasks, so no task would ever start",
        [item.capacity_provider for item in strategy],
        "pass capacity_provider_strategy=[ecs.CapacityProviderStrategy("
        "capacity_provider='FARGATE', weight=1)], or build the task definition for X86_64",
    )


def _cpu_architecture(definition: ecs.TaskDefinition) -> str | None:
    """``ARM64`` or ``X86_64`` as the task definition's runtime platform names it, else None."""
    resource = definition.node.default_child
    platform = resource.runtime_platform if isinstance(resource, ecs.CfnTaskDefinition) else None
    if isinstance(platform, ecs.CfnTaskDefinition.RuntimePlatformProperty):
        architecture = platform.cpu_architecture
        return architecture if isinstance(architecture, str) else None
    return None


def _refuse_placement_on_fargate(problems: Problems, placement: bool, fargate: list[str]) -> None:
    problems.require(
        not placement,
        "placement_strategies",
        "placement strategies and constraints apply to EC2 capacity only",
        fargate,
        "drop them, or run on an EC2 capacity provider",
    )


def check_subnets(
    problems: Problems,
    argument: str,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection | None,
    *,
    what: str,
) -> None:
    """Record a problem unless ``subnets`` (default: the VPC's private subnets) select some.

    ``what`` names who runs there (``tasks``, ``instances``), which never get public IPs.
    """
    if subnets is None:
        problems.require(
            has_private_subnets(vpc),
            argument,
            f"the VPC has no private subnets for the {what}, which never get public IPs",
            None,
            "pass subnets=ec2.SubnetSelection(...) or use a VPC with private subnets (SecureVpc)",
        )
        return
    try:
        selected = vpc.select_subnets(**subnets._values).subnets
    except RuntimeError as error:  # CDK: the VPC has no subnet group of the type asked for
        first = str(error).splitlines()[0]
        code, colon, message = first.partition(": ")  # "SomeErrorCode: the message"
        reason = (message if colon and " " not in code else first).rstrip(".")
        problems.add(
            argument,
            f"selects no subnet of the VPC ({reason})",
            subnets,
            "select subnets the VPC has, e.g. its private ones (the default)",
        )
        return
    problems.require(
        bool(selected),
        argument,
        "selects no subnet of the VPC",
        subnets,
        "select subnets the VPC has, e.g. its private ones (the default)",
    )


def has_private_subnets(vpc: ec2.IVpc) -> bool:
    """True when ``vpc`` has private (or isolated) subnets, where tasks and instances run."""
    return bool(vpc.private_subnets or vpc.isolated_subnets)


def private_subnets(vpc: ec2.IVpc) -> ec2.SubnetSelection:
    """The VPC's private subnets, or its isolated ones when it has none with a NAT route."""
    return ec2.SubnetSelection(subnets=vpc.private_subnets or vpc.isolated_subnets)


def check_daemon_launch(
    problems: Problems,
    task_definition: HardenedTaskDefinition,
    strategy: Sequence[ecs.CapacityProviderStrategy] | None,
    placement_strategies: Sequence[ecs.PlacementStrategy],
) -> Launch | None:
    """Record problems with where a DAEMON service's tasks run; return it (EC2, launch type).

    The DAEMON strategy places one task on each active container instance that meets the
    placement constraints; "Fargate tasks do not support the DAEMON scheduling strategy"
    (Amazon ECS Developer Guide, scheduling strategies). CreateService refuses a capacity
    provider strategy with DAEMON ("Specifying a capacity provider strategy is not supported
    when you create a service using the DAEMON scheduling strategy"): the service uses launch
    type EC2. Placement strategies do not apply either ("The daemon scheduling strategy does
    not support placement strategies"); placement constraints choose the instances.
    """
    definition = unwrap_task_definition(task_definition)
    ec2_ok = problems.require(
        definition.is_ec2_compatible,
        "task_definition",
        "is Fargate-only, and Fargate does not run daemons: a DAEMON service runs one task on "
        "every EC2 container instance",
        str(definition.compatibility.value),
        "build it with compatibility=ecs.Compatibility.EC2 (or EC2_AND_FARGATE)",
    )
    problems.require(
        strategy is None,
        "capacity_provider_strategy",
        "does not apply to a daemon: ECS refuses a capacity provider strategy with the DAEMON "
        "scheduling strategy (it runs with launch type EC2 on every matching instance)",
        [str(item.capacity_provider) for item in strategy or ()],
        "leave it out; name the EC2 capacity the daemon runs on instead",
    )
    problems.require(
        not placement_strategies,
        "placement_strategies",
        "do not apply to a daemon: ECS refuses placement strategies with the DAEMON "
        "scheduling strategy (one task goes on every instance the constraints admit)",
        len(placement_strategies),
        "leave them out; placement_constraints choose the instances",
    )
    return Launch(False, ()) if ec2_ok else None
