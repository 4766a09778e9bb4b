"""The argument type checks every public constructor runs before it builds anything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns
from constructs import Construct

from ecs_patterns_plus import HealthCheckOptions, ListenerRouting, SecureVpc, ValidationError
from ecs_patterns_plus.errors import checked
from tests.util import stack_for_errors

DELAY = cdk.Duration.seconds(3)


class Typed(Construct):
    """A construct with one argument of each kind of annotation the library uses."""

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        delay: cdk.Duration = DELAY,
        cpu: int = 256,
        percent: float = 10.0,
        peers: Sequence[ec2.IPeer] = (),
        topic: sns.ITopic | None = None,
        compatibility: ecs.Compatibility = ecs.Compatibility.FARGATE,
        health_check: HealthCheckOptions | None = None,
        routing: ListenerRouting | None = None,
        environment: Mapping[str, str] | None = None,
        enabled: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = vpc
        self.peers = peers


def _problems(**arguments: object) -> list[str]:
    stack = stack_for_errors()
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-1", availability_zones=["a"])
    with pytest.raises(ValidationError) as raised:
        Typed(stack, "Typed", **{"vpc": vpc, **arguments})
    assert stack.node.try_find_child("Typed") is None, "nothing is built after a type error"
    assert raised.value.path == "Errors/Typed"
    return list(raised.value.problems)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"delay": 30}, "delay: expected a Duration; got int 30; use Duration.seconds(30)"),
        ({"cpu": "256"}, "cpu: expected an int; got str '256'; use the number 256, not a string"),
        ({"cpu": True}, "cpu: expected an int; got bool True; pass an int"),
        ({"peers": ec2.Peer.any_ipv4()}, "peers: expected a list of ec2.IPeer; got IPeer;"),
        ({"topic": "arn:aws:sns:x"}, "topic: expected a sns.ITopic; got str 'arn:aws:sns:x';"),
        (
            {"compatibility": "fargate"},
            "compatibility: expected an ecs.Compatibility; got str 'fargate'; "
            "use ecs.Compatibility.FARGATE",
        ),
        (
            {"health_check": HealthCheckOptions(command=["CMD", "true"], interval=30)},  # type: ignore[arg-type]
            "health_check.interval: expected a Duration; got int 30",
        ),
        (
            {"routing": ListenerRouting(priority=10, path_patterns="/api/*")},
            "routing.path_patterns: expected a list of str; got str '/api/*'; "
            "wrap it in a list: ['/api/*']",
        ),
        ({"environment": {"PORT": 8080}}, "environment['PORT']: expected a str; got int 8080"),
        ({"enabled": 1}, "enabled: expected a bool; got int 1"),
    ],
)
def test_wrong_types_are_named_with_the_fix(arguments: dict[str, object], problem: str) -> None:
    (found,) = _problems(**arguments)
    assert found.startswith(problem)


def test_every_wrong_type_of_one_call_is_reported_at_once() -> None:
    problems = _problems(delay=30, cpu="x", enabled="yes")
    assert [problem.split(":")[0] for problem in problems] == ["delay", "cpu", "enabled"]


def test_tokens_pass_where_numbers_and_strings_go() -> None:
    stack = stack_for_errors()
    number = cdk.CfnParameter(stack, "Cpu", type="Number").value_as_number
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", vpc_id="vpc-1", availability_zones=["a"])
    Typed(stack, "Typed", vpc=vpc, cpu=number, percent=number, delay=cdk.Duration.seconds(number))


def test_a_library_construct_stands_for_its_attribute() -> None:
    stack = stack_for_errors()
    network = SecureVpc(stack, "Network")
    typed = Typed(stack, "Typed", vpc=network, peers=[ec2.Peer.any_ipv4()])  # type: ignore[arg-type]
    assert typed.vpc is network.vpc


def test_a_construct_without_a_matching_attribute_is_refused() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"vpc: expected an ec2.IVpc; got Stack"):
        Typed(stack, "Typed", vpc=stack)  # type: ignore[arg-type]


@jsii.implements(cdk.IStableNumberProducer)
class _Three:
    def produce(self) -> float:
        return 3


def test_token_detection_agrees_with_cdk() -> None:
    from ecs_patterns_plus.errors import is_token

    stack = stack_for_errors()
    values: list[object] = [
        cdk.CfnParameter(stack, "Number", type="Number").value_as_number,
        cdk.CfnParameter(stack, "Text").value_as_string,
        cdk.Lazy.number(_Three()),
        cdk.Fn.select(0, cdk.CfnParameter(stack, "List", type="CommaDelimitedList").value_as_list),
        f"prefix-{cdk.Aws.REGION}-suffix",
        cdk.Token.as_number(cdk.Aws.ACCOUNT_ID),
        "plain",
        "${NotAToken}",
        0.0,
        -1.5e289,
        2.5,
        256,
    ]
    assert [is_token(value) for value in values] == [
        cdk.Token.is_unresolved(value) for value in values
    ]
    # CDK's own answer is the oracle; both answers occur among the values.
    assert {is_token(value) for value in values} == {True, False}
