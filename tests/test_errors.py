"""The argument type checks every public constructor runs before it builds anything."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from ecs_patterns_plus import HealthCheckOptions, ListenerRouting, SecureVpc, ValidationError
from ecs_patterns_plus.errors import Problems, checked
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
        schedule: scheduler.ScheduleExpression | None = None,
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
        (
            {"schedule": "rate(1 hour)"},
            "schedule: expected a scheduler.ScheduleExpression; got str 'rate(1 hour)'; build one "
            "with scheduler.ScheduleExpression.at(...), .cron(...), .expression(...) or .rate(...)",
        ),
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


def test_tokens_are_never_shown_by_their_placeholder() -> None:
    stack = stack_for_errors()
    number = cdk.CfnParameter(stack, "Number", type="Number").value_as_number
    text = cdk.CfnParameter(stack, "Text").value_as_string
    delay, compatibility = _problems(compatibility=text, delay=number)
    assert delay == "delay: expected a Duration; got a float token; use Duration.seconds(token)"
    assert compatibility.startswith(
        "compatibility: expected an ecs.Compatibility; got a str token; use one of "
        "ecs.Compatibility.EC2, "
    )


class Peers(Construct):
    """A construct with a method that takes ``*peers`` and ``**labels``."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.peers: tuple[ec2.IPeer, ...] = ()

    @checked
    def allow(self, *peers: ec2.IPeer, **labels: str) -> None:
        self.peers = peers


def test_each_variadic_argument_is_checked_and_a_method_reports_at_its_construct() -> None:
    stack = stack_for_errors()
    peers = Peers(stack, "Peers")
    with pytest.raises(ValidationError) as raised:
        peers.allow(ec2.Peer.any_ipv4(), "10.0.0.0/8", team=7)  # type: ignore[arg-type]
    assert raised.value.path == "Errors/Peers.allow"
    assert [problem.split(";")[0] for problem in raised.value.problems] == [
        "peers[1]: expected an ec2.IPeer",
        "team: expected a str",
    ]
    assert peers.peers == ()
    peers.allow(ec2.Peer.any_ipv4(), team="web")
    assert len(peers.peers) == 1


class HasDelay(typing.Protocol):
    """A Python protocol, checked by the members of the value itself."""

    @property
    def delay(self) -> cdk.Duration: ...


@checked
def wait_for(holder: HasDelay) -> cdk.Duration:
    return holder.delay


def test_a_python_protocol_is_checked_by_each_member_and_its_type() -> None:
    assert wait_for(types.SimpleNamespace(delay=DELAY)) is DELAY
    with pytest.raises(ValidationError) as raised:
        wait_for(types.SimpleNamespace(delay=3))  # type: ignore[arg-type]
    assert str(raised.value) == (
        "wait_for: holder: expected a HasDelay; got SimpleNamespace; "
        "pass an object whose .delay is a Duration"
    )
    with pytest.raises(ValidationError, match=r"holder: expected a HasDelay; got str 'soon'"):
        wait_for("soon")  # type: ignore[arg-type]


def test_durations_are_whole_units_and_tokens_come_in_the_unit_aws_takes() -> None:
    stack = stack_for_errors()
    number = cdk.CfnParameter(stack, "Number", type="Number").value_as_number
    problems = Problems.named("Job")
    assert problems.seconds_in_range("age", cdk.Duration.seconds(number), 60, 86400)
    assert problems.minutes_in_range("window", cdk.Duration.minutes(number), 1, 1440)
    assert problems.in_range("count", 3, 1, number)  # a token bound is never compared
    assert not problems
    assert not problems.seconds_in_range("age", cdk.Duration.minutes(number), 60, 86400)
    assert not problems.seconds_in_range("stop", cdk.Duration.millis(1500), 2, 120)
    assert not problems.minutes_in_range("window", cdk.Duration.seconds(90), 1, 1440)
    assert not problems.minutes_in_range("window", cdk.Duration.days(2), 1, 1440)
    with pytest.raises(ValidationError) as raised:
        problems.raise_if_any()
    assert raised.value.problems == (
        "age: a token in minutes cannot be converted to the seconds AWS takes here; "
        "got <token> minutes; pass cdk.Duration.seconds(token)",
        "stop: must be whole seconds; got 1 second 500 millis; pass cdk.Duration.seconds(n) with "
        "2 <= n <= 120",
        "window: must be whole minutes; got 1 minute 30 seconds; pass cdk.Duration.minutes(n) "
        "with 1 <= n <= 1440",
        "window: must be between 1 and 1440 minutes; got 2 days; pass cdk.Duration.minutes(n) "
        "with 1 <= n <= 1440",
    )
