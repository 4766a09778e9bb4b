"""ValidationError and the helpers that collect and phrase argument problems."""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import inspect
import struct
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

import aws_cdk as cdk
import typeguard
import typing_extensions
from constructs import Construct


class ValidationError(ValueError):
    """Invalid arguments for a construct: every problem found, named by argument.

    Each problem reads ``<argument>: <what is wrong>; got <value>; <what to do>``.
    """

    def __init__(self, path: str, problems: Iterable[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = f"{path}: {self.problems[0]}"
        else:
            message = f"{path}: {len(self.problems)} invalid arguments:\n" + "\n".join(
                f"  - {problem}" for problem in self.problems
            )
        super().__init__(message)


_STRING_TOKEN = "${Token["
"""How CDK marks a token inside a string (``${Token[NAME.123]}``)."""
_DOUBLE_TOKEN_MARKER = 0xFBFF0000
"""The high 16 bits CDK gives a number that encodes a token (``extractTokenDouble``)."""


def is_token(value: Any) -> bool:
    """True when ``value`` is (or contains) an unresolved CDK token: skip checks on it.

    The same test as ``cdk.Token.is_unresolved`` for strings and numbers, done here: the
    library asks it of every checked value, and each jsii call costs a round trip to Node.js.
    """
    if isinstance(value, str):
        return _STRING_TOKEN in value
    if isinstance(value, float):
        high = struct.unpack("<II", struct.pack("<d", value))[1]
        return (high & 0xFFFF0000) == _DOUBLE_TOKEN_MARKER
    return False


def number_text(value: float) -> str:
    """A number inside a string (a template string, a command line): a token stays a token
    (``str`` would print its placeholder) and resolves where the string does."""
    return cdk.Token.as_string(value) if is_token(value) else str(value)


_SECONDS: dict[int, tuple[cdk.Duration, float | None]] = {}


def duration_seconds(value: cdk.Duration) -> float | None:
    """The duration in (fractional) seconds, or None for a token; remembered per object.

    Durations are immutable and the library's defaults are shared objects, so each is asked
    once (every question is a round trip to Node.js).
    """
    known = _SECONDS.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    seconds = None if value.is_unresolved() else value.to_seconds(integral=False)
    _SECONDS[id(value)] = (value, seconds)
    return seconds


def show(value: Any) -> str:
    """Render a user value for a message: repr for strings, str for the rest."""
    if isinstance(value, _Raw):
        return str(value)
    if is_token(value):  # its placeholder means nothing to the reader
        return f"a {type(value).__name__} token"
    if isinstance(value, cdk.Duration):
        return value.to_human_string()
    return repr(value)


class Problems:
    """Collects argument problems so a construct can raise them all at once.

    ``path`` is the path the construct will have (``scope.node.path/construct_id``).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        self._scope: Construct | None = scope
        self._construct_id = construct_id
        self._path: str | None = None
        self._problems: list[str] = []

    @classmethod
    def named(cls, path: str) -> Problems:
        """Problems reported under ``path`` (a function or factory, not a construct)."""
        problems = cls.__new__(cls)
        problems._scope, problems._construct_id = None, ""
        problems._path = path
        problems._problems = []
        return problems

    @property
    def path(self) -> str:
        """Where the problems are reported (read from the scope only when needed)."""
        if self._path is None:
            parent = self._scope.node.path if self._scope is not None else ""
            self._path = f"{parent}/{self._construct_id}" if parent else self._construct_id
        return self._path

    @path.setter
    def path(self, value: str) -> None:
        self._path = value

    def add(self, argument: str, what: str, got: Any, fix: str) -> None:
        """Record that ``argument`` is wrong (``what``), was ``got``, and how to ``fix`` it."""
        self._problems.append(f"{argument}: {what}; got {show(got)}; {fix}")

    def require(self, ok: bool, argument: str, what: str, got: Any, fix: str) -> bool:
        """Record a problem unless ``ok``; return ``ok`` so checks can be chained."""
        if not ok:
            self.add(argument, what, got, fix)
        return ok

    def in_range(
        self,
        argument: str,
        value: float | None,
        low: float,
        high: float,
        unit: str = "",
    ) -> bool:
        """Record a problem unless ``low <= value <= high`` (tokens and ``None`` pass, also
        when a bound is a token)."""
        if value is None or any(is_token(number) for number in (value, low, high)):
            return True
        suffix = f" {unit}" if unit else ""
        return self.require(
            low <= value <= high,
            argument,
            f"must be between {low:g} and {high:g}{suffix}",
            value,
            f"pass a value from {low:g} to {high:g}",
        )

    def seconds_in_range(
        self, argument: str, value: cdk.Duration | None, low: int, high: int
    ) -> bool:
        """Record a problem unless the duration is whole seconds within ``low..high``.

        A token passes in seconds (``Duration.seconds(token)``), the unit AWS takes here: a
        token cannot be converted to another unit.
        """
        return self._duration_in_range(argument, value, low, high, "seconds")

    def minutes_in_range(
        self, argument: str, value: cdk.Duration | None, low: int, high: int
    ) -> bool:
        """Record a problem unless the duration is whole minutes within ``low..high``.

        A token passes in minutes (``Duration.minutes(token)``), the unit AWS takes here.
        """
        return self._duration_in_range(argument, value, low, high, "minutes")

    def _duration_in_range(
        self, argument: str, value: cdk.Duration | None, low: int, high: int, unit: str
    ) -> bool:
        if value is None:
            return True
        seconds = duration_seconds(value)
        if seconds is None:
            return self.require(
                value.unit_label() == unit,
                argument,
                f"a token in {value.unit_label()} cannot be converted to the {unit} AWS takes here",
                value,
                f"pass cdk.Duration.{unit}(token)",
            )
        amount = seconds / (60 if unit == "minutes" else 1)
        if not self.require(
            amount == int(amount),
            argument,
            f"must be whole {unit}",
            value,
            f"pass cdk.Duration.{unit}(n) with {low} <= n <= {high}",
        ):
            return False
        return self.require(
            low <= amount <= high,
            argument,
            f"must be between {low} and {high} {unit}",
            value,
            f"pass cdk.Duration.{unit}(n) with {low} <= n <= {high}",
        )

    def probe_timing(self, argument: str, interval: cdk.Duration, timeout: cdk.Duration) -> None:
        """Record problems with a health check's ``interval`` (5-300 s) and ``timeout``
        (2-120 s, shorter than the interval), under ``argument.interval`` / ``.timeout``."""
        interval_ok = self.seconds_in_range(f"{argument}.interval", interval, 5, 300)
        timeout_ok = self.seconds_in_range(f"{argument}.timeout", timeout, 2, 120)
        every, wait = duration_seconds(interval), duration_seconds(timeout)
        if interval_ok and timeout_ok and every is not None and wait is not None:
            self.require(
                wait < every,
                f"{argument}.timeout",
                f"must be shorter than {argument}.interval ({interval.to_human_string()})",
                timeout,
                "lower the timeout or raise the interval",
            )

    def __bool__(self) -> bool:
        return bool(self._problems)

    def raise_if_any(self) -> None:
        """Raise one ValidationError listing every recorded problem, if there are any."""
        if self._problems:
            raise ValidationError(self.path, self._problems)


# --- Types: every argument checked against its annotation before anything is built ----------

_NUMBERS = (int, float)
_WRAPPER_ATTRIBUTES = ("vpc", "cluster", "task_definition", "load_balancer", "service", "topic")
"""Attributes of the library's constructs that stand for them where a CDK object is expected
(``vpc=SecureVpc(...)`` means its ``.vpc``)."""


def _is_protocol(expected: Any) -> bool:
    """A Protocol that ``isinstance`` cannot check: a jsii interface (``ec2.IVpc``) or one of
    the library's own (``ServiceConstruct``)."""
    return isinstance(expected, type) and getattr(expected, "_is_protocol", False)


def _is_jsii(protocol: Any) -> bool:
    return hasattr(protocol, "__jsii_type__")


def _implements(value: Any, protocol: Any) -> bool:
    """True when ``value`` has every member of the jsii interface ``protocol`` (without
    calling into JavaScript: members are looked up on its class and its proxies' classes)."""
    if value is None or isinstance(value, (str, int, float, bool, list, tuple, dict)):
        return False
    classes = [type(value), *(type(item) for item in getattr(value, "_delegates", ()))]
    members = typing_extensions.get_protocol_members(protocol)
    return all(any(hasattr(cls, member) for cls in classes) for member in members)


def _member_types(protocol: Any) -> dict[str, Any]:
    """The declared type of each member of a Python protocol (``Any`` when undeclared)."""
    types_: dict[str, Any] = {}
    for member in typing_extensions.get_protocol_members(protocol):
        declared = inspect.getattr_static(protocol, member, None)
        if isinstance(declared, property) and declared.fget is not None:
            types_[member] = _hints(declared.fget).get("return", Any)
        else:
            types_[member] = _hints(protocol).get(member, Any)
    return types_


def _name(expected: Any) -> str:
    """How a message names a type: ``a Duration``, ``a list of IPeer``, ``an int``."""
    origin = typing.get_origin(expected)
    args = [arg for arg in typing.get_args(expected) if arg is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_name(arg) for arg in args)
    if origin in (list, tuple, collections.abc.Sequence):
        return f"a list of {_plain(args[0]) if args else 'values'}"
    if origin in (dict, collections.abc.Mapping):
        return f"a mapping of {_plain(args[0])} to {_plain(args[1])}"
    plain = _plain(expected)
    return f"{'an' if plain[:1].lower() in 'aeiou' else 'a'} {plain}"


def _plain(expected: Any) -> str:
    if expected is Any:
        return "value"
    if typing.get_origin(expected) is not None:
        return _name(expected).split(" ", 1)[1]
    module = getattr(expected, "__module__", "")
    name = getattr(expected, "__name__", str(expected))
    if module.startswith("aws_cdk.aws_"):
        return f"{_ALIASES.get(module, module.removeprefix('aws_cdk.aws_'))}.{name}"
    return name


_ALIASES = {
    "aws_cdk.aws_elasticloadbalancingv2": "elbv2",
    "aws_cdk.aws_applicationautoscaling": "appscaling",
    "aws_cdk.aws_certificatemanager": "acm",
    "aws_cdk.aws_lambda": "lambda_",
}
"""Module aliases as the README imports them (``from aws_cdk import aws_ec2 as ec2``)."""


def _fix(value: Any, expected: Any) -> str:
    """A one-line remedy for ``value`` where ``expected`` was wanted."""
    target = _single(expected)
    if target is cdk.Duration and isinstance(value, _NUMBERS) and not isinstance(value, bool):
        return f"use Duration.seconds({'token' if is_token(value) else repr(value)})"
    if typing.get_origin(target) in (list, tuple, collections.abc.Sequence):
        return f"wrap it in a list: [{_short(value)}]"
    if isinstance(target, type) and issubclass(target, enum.Enum) and isinstance(value, str):
        members = [m.name for m in target if m.name == value.upper().replace("-", "_")]
        if members:
            return f"use {_plain(target)}.{members[0]}"
        return f"use one of {', '.join(f'{_plain(target)}.{m.name}' for m in target)}"
    if target is str and isinstance(value, _NUMBERS) and not isinstance(value, bool):
        return f"use the string {str(value)!r}"
    if target in _NUMBERS and isinstance(value, str):
        try:
            return f"use the number {float(value):g}, not a string"
        except ValueError:
            pass
    if _is_protocol(target) and not _is_jsii(target):
        wanted = ", ".join(f".{m} is {_name(t)}" for m, t in _member_types(target).items())
        return f"pass an object whose {wanted}"
    factories = _factories(target)
    if factories:
        return f"build one with {_plain(target)}.{factories[0]}(...)" + "".join(
            f"{' or' if index == len(factories) - 1 else ','} .{name}(...)"
            for index, name in enumerate(factories[1:], start=1)
        )
    return f"pass {_name(expected)}"


def _factories(target: Any) -> list[str]:
    """The public factory methods of a class (``ScheduleExpression.cron``, ``.rate``, ...)."""
    if not isinstance(target, type) or issubclass(target, enum.Enum):
        return []
    return sorted(
        name
        for name, member in vars(target).items()
        if isinstance(member, classmethod) and not name.startswith("_")
    )


def _single(expected: Any) -> Any:
    """The one non-None alternative of an Optional, else ``expected`` itself."""
    args = [arg for arg in typing.get_args(expected) if arg is not type(None)]
    if typing.get_origin(expected) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return expected


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, (str, int, float)) else "..."
    return text if len(text) <= 60 else text[:57] + "..."


def _shown(value: Any) -> str:
    if value is None:
        return "None"
    if is_token(value):
        return show(value)
    if isinstance(value, (str, int, float, bool)):
        return f"{type(value).__name__} {value!r}"
    delegates = getattr(value, "_delegates", None)
    if delegates:  # a jsii object known only by the interfaces it implements
        return " and ".join(
            type(item).__name__.strip("_").removesuffix("Proxy") for item in delegates
        )
    return type(value).__name__


class TypeProblems:
    """Checks values against type annotations and coerces what is clearly meant.

    Optional, unions, sequences and mappings are walked here; jsii interfaces (which
    ``isinstance`` cannot check) by their members; library option dataclasses field by field;
    every other type by ``typeguard``. Tokens pass wherever a string or number goes. A
    library construct passed where one of its attributes is clearly meant (``vpc=SecureVpc(...)``)
    is replaced by that attribute.
    """

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def check(self, argument: str, value: Any, expected: Any) -> Any:
        """Record a problem unless ``value`` fits ``expected``; return it (coerced if meant)."""
        ok, result = self._fits(value, expected)
        if not ok:
            coerced = self._unwrap(value, expected)
            if coerced is not None:
                return coerced
            self.problems.add(
                argument, f"expected {_name(expected)}", _Raw(_shown(value)), _fix(value, expected)
            )
            return value
        return self._walk(argument, result, expected)

    def _fits(self, value: Any, expected: Any) -> tuple[bool, Any]:
        """Shallow fit: the value's own type (items are walked separately)."""
        if expected is Any:
            return True, value
        origin = typing.get_origin(expected)
        args = typing.get_args(expected)
        if origin in (typing.Union, types.UnionType):
            if value is None:
                return type(None) in args, value
            for arg in args:
                if arg is not type(None) and self._fits(value, arg)[0]:
                    return True, value
            return False, value
        if origin in (list, tuple, collections.abc.Sequence):
            return isinstance(value, (list, tuple)), value
        if origin in (dict, collections.abc.Mapping):
            return isinstance(value, collections.abc.Mapping), value
        if expected in _NUMBERS or expected is str:
            if is_token(value):
                return isinstance(value, (str, int, float)), value
            if isinstance(value, bool):
                return False, value
            if expected is float:
                return isinstance(value, _NUMBERS), value
            return isinstance(value, expected), value
        if _is_protocol(expected):
            if _is_jsii(expected):
                return _implements(value, expected), value
            return self._has_members(value, expected), value
        try:
            typeguard.check_type("value", value, expected)
        except TypeError:
            return False, value
        return True, value

    def _has_members(self, value: Any, protocol: Any) -> bool:
        """True when ``value`` has every member of the Python protocol, each of its type."""
        if value is None or isinstance(value, (str, int, float, bool, list, tuple, dict)):
            return False
        for member, expected in _member_types(protocol).items():
            try:
                found = getattr(value, member)
            except Exception:  # a missing attribute, or a property that cannot be read
                return False
            if not self._fits(found, expected)[0]:
                return False
        return True

    def _walk(self, argument: str, value: Any, expected: Any) -> Any:
        """Check the items of a fitting container and the fields of option dataclasses."""
        origin = typing.get_origin(expected)
        args = typing.get_args(expected)
        if origin in (typing.Union, types.UnionType):
            for arg in args:
                if arg is not type(None) and self._fits(value, arg)[0]:
                    return self._walk(argument, value, arg)
            return value
        if origin in (list, tuple, collections.abc.Sequence) and args:
            item_type = args[0]
            return type(value)(
                self.check(f"{argument}[{index}]", item, item_type)
                for index, item in enumerate(value)
            )
        if origin in (dict, collections.abc.Mapping) and len(args) == 2:
            for key in value:
                self.check(f"{argument} key {key!r}", key, args[0])
            return {
                key: self.check(f"{argument}[{key!r}]", item, args[1])
                for key, item in value.items()
            }
        if dataclasses.is_dataclass(value) and type(value).__module__.startswith(__package__):
            self.check_dataclass(argument, value)
        return value

    def check_dataclass(self, argument: str, value: Any) -> None:
        """Check every field of a library option dataclass (``health_check.interval``)."""
        hints = _hints(type(value))  # type: ignore[arg-type]
        for item in dataclasses.fields(value):
            if item.name in hints:
                self.check(f"{argument}.{item.name}", getattr(value, item.name), hints[item.name])

    def _unwrap(self, value: Any, expected: Any) -> Any:
        """The attribute of a library construct that ``expected`` clearly means, or None."""
        if not type(value).__module__.startswith(f"{__package__}."):
            return None
        for attribute in _WRAPPER_ATTRIBUTES:
            inner = getattr(value, attribute, None)
            if inner is not None and self._fits(inner, expected)[0]:
                return inner
        return None


class _Raw(str):
    """A pre-rendered value for a message (``show`` prints it as is)."""


@functools.cache
def _hints(owner: Any) -> dict[str, Any]:
    return typing.get_type_hints(owner)


_Function = typing.TypeVar("_Function", bound=Callable[..., Any])


def checked(function: _Function) -> _Function:
    """Check a constructor's (or factory's, or method's) arguments against its annotations first.

    Wrong types raise one ``ValidationError`` naming each argument, what was expected and
    the fix, before the body runs (so before any construct exists); library constructs passed
    where their attribute is meant are replaced by it. Constructors are recognised by their
    ``(self, scope, construct_id, ...)`` signature; the error then carries the path the
    construct would have, and a construct's methods report at ``<path>.<method>``. Each item
    of ``*args`` and ``**kwargs`` is checked against their annotation. The decorated function
    keeps its signature for type checkers.
    """
    signature = inspect.signature(function)
    names = list(signature.parameters)
    is_construct = names[1:3] == ["scope", "construct_id"]
    kinds = {name: parameter.kind for name, parameter in signature.parameters.items()}

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        hints = _hints(function)
        owner = bound.arguments.get("self")
        if is_construct:
            scope, construct_id = bound.arguments["scope"], bound.arguments["construct_id"]
            problems = (
                Problems(scope, construct_id)
                if isinstance(scope, Construct) and isinstance(construct_id, str)
                else Problems.named(function.__qualname__.rsplit(".", 1)[0])
            )
        elif isinstance(owner, Construct):  # a method: reported at the construct's path
            problems = Problems.named(f"{owner.node.path}.{function.__name__}")
        else:
            problems = Problems.named(function.__qualname__)
        checker = TypeProblems(problems)
        for name, value in bound.arguments.items():
            if name not in hints or name in ("self", "cls", "return"):
                continue
            if kinds[name] is inspect.Parameter.VAR_POSITIONAL:  # each of *args
                bound.arguments[name] = tuple(
                    checker.check(f"{name}[{index}]", item, hints[name])
                    for index, item in enumerate(value)
                )
            elif kinds[name] is inspect.Parameter.VAR_KEYWORD:  # each of **kwargs
                bound.arguments[name] = {
                    key: checker.check(key, item, hints[name]) for key, item in value.items()
                }
            else:
                bound.arguments[name] = checker.check(name, value, hints[name])
        problems.raise_if_any()
        return function(*bound.args, **bound.kwargs)

    return typing.cast(_Function, wrapper)
