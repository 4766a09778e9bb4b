"""ValidationError and the helpers that collect and phrase argument problems."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
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


def is_token(value: Any) -> bool:
    """True when ``value`` is (or contains) an unresolved CDK token: skip checks on it."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return cdk.Token.is_unresolved(value)
    return False


def show(value: Any) -> str:
    """Render a user value for a message: repr for strings, str for the rest."""
    if isinstance(value, cdk.Duration):
        return value.to_human_string()
    return repr(value)


class Problems:
    """Collects argument problems so a construct can raise them all at once.

    ``path`` is the path the construct will have (``scope.node.path/construct_id``).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        parent = scope.node.path
        self.path = f"{parent}/{construct_id}" if parent else construct_id
        self._problems: list[str] = []

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
        """Record a problem unless ``low <= value <= high`` (tokens and ``None`` pass)."""
        if value is None or is_token(value):
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
        """Record a problem unless the duration lies within ``low..high`` whole seconds."""
        if value is None or is_token(value.to_seconds()):
            return True
        seconds = value.to_seconds()
        return self.require(
            low <= seconds <= high,
            argument,
            f"must be between {low} and {high} seconds",
            value,
            f"pass cdk.Duration.seconds(n) with {low} <= n <= {high}",
        )

    def __bool__(self) -> bool:
        return bool(self._problems)

    def raise_if_any(self) -> None:
        """Raise one ValidationError listing every recorded problem, if there are any."""
        if self._problems:
            raise ValidationError(self.path, self._problems)
