"""The check of an EventBridge Scheduler expression: cron, rate and one-time (at) schedules.

The rules are those of "Schedule types in EventBridge Scheduler"
(docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html) and of the cron fields
and wildcards it shares with EventBridge (docs.aws.amazon.com/eventbridge/latest/userguide/
eb-cron-expressions.html); a value that is a token is skipped.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass

from aws_cdk import aws_scheduler as scheduler

from ..errors import Problems, is_token

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_EXAMPLE = "cron(0 3 * * ? *)"


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # JAN-DEC or SUN-SAT, standing for low.. in order
    question_mark: bool = False  # '?': any, in day-of-month and day-of-week only
    special: re.Pattern[str] | None = None  # L, W and # forms

    @property
    def allowed(self) -> str:
        names = f" or {self.names[0]}-{self.names[-1]}" if self.names else ""
        return f"{self.low}-{self.high}{names}"


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field(
        "day-of-month", 1, 31, question_mark=True, special=re.compile(r"L|LW|L-\d{1,2}|\d{1,2}W")
    ),
    _Field("month", 1, 12, names=_MONTHS),
    _Field(
        "day-of-week",
        1,
        7,
        names=_WEEKDAYS,
        question_mark=True,
        special=re.compile(r"L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5])", re.IGNORECASE),
    ),
    _Field("year", 1970, 2199),
)
_RATE = re.compile(r"rate\((?P<value>\S+) (?P<unit>\S+)\)")
_RATE_UNITS = ("minute", "minutes", "hour", "hours", "day", "days")
_AT = re.compile(r"at\((?P<moment>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_LARGEST_UTC_OFFSET = datetime.timedelta(hours=14)
"""No time zone is further from UTC: a moment this much later has passed in every zone."""


def check_schedule_expression(
    problems: Problems, argument: str, schedule: scheduler.ScheduleExpression
) -> None:
    """Record a problem with a cron, rate or at expression that Scheduler cannot run."""
    expression = schedule.expression_string
    body = expression.strip()
    if body.startswith("cron(") and body.endswith(")"):
        _check_cron(problems, argument, expression, body[5:-1].split())
    elif body.startswith("rate("):
        _check_rate(problems, argument, expression)
    elif body.startswith("at("):
        _check_at(problems, argument, expression, schedule)
    elif not is_token(expression):
        problems.add(
            argument,
            "is not a cron(...), rate(...) or at(...) expression",
            expression,
            "build it with scheduler.ScheduleExpression.cron(...), .rate(...) or .at(...)",
        )


def _check_cron(problems: Problems, argument: str, expression: str, fields: list[str]) -> None:
    if len(fields) != len(_FIELDS):
        problems.add(
            argument,
            f"a cron expression has {len(_FIELDS)} fields "
            f"({' '.join(field.name for field in _FIELDS)}), this one {len(fields)}",
            expression,
            f"write all six, e.g. {_EXAMPLE} (every day at 03:00)",
        )
        return
    for field, value in zip(_FIELDS, fields, strict=True):
        if not is_token(value) and not _field_ok(field, value):
            problems.add(
                argument,
                f"the {field.name} field {value!r} is not {field.allowed} with the wildcards "
                f"{_wildcards(field)}",
                expression,
                f"fix the {field.name} field, e.g. {_EXAMPLE}",
            )
    day_of_month, day_of_week = fields[2], fields[4]
    if not is_token(day_of_month) and not is_token(day_of_week):
        problems.require(
            (day_of_month == "?") != (day_of_week == "?"),
            argument,
            "exactly one of day-of-month and day-of-week must be '?'",
            expression,
            "put '?' in day-of-week to pick days of the month, or in day-of-month to pick "
            f"weekdays, e.g. {_EXAMPLE}",
        )


def _wildcards(field: _Field) -> str:
    extra = ""
    if field.question_mark:
        extra = " ? L W" if field.name == "day-of-month" else " ? L #"
    return ", - * /" + extra


def _field_ok(field: _Field, value: str) -> bool:
    if value == "?":
        return field.question_mark
    return all(_item_ok(field, item) for item in value.split(","))


def _item_ok(field: _Field, item: str) -> bool:
    if field.special is not None and field.special.fullmatch(item):
        return _special_ok(field, item)
    base, _, step = item.partition("/")
    if step and not (step.isdigit() and int(step) > 0):
        return False
    if base == "*":
        return True
    first, _, last = base.partition("-")
    parts = (first, last) if last else (first,)
    numbers = [n for n in (_value(field, part) for part in parts) if n is not None]
    return len(numbers) == len(parts)


def _special_ok(field: _Field, item: str) -> bool:
    """``3W`` is day 3; ``6#2`` and ``FRIL`` are weekdays; ``L-3`` is 3 days before the last."""
    digits = re.match(r"\d+", item)
    if field.name == "day-of-month" and digits and item.endswith("W"):
        return field.low <= int(digits.group()) <= field.high
    if item.startswith("L-"):
        return 0 <= int(item[2:]) <= 30
    return True


def _value(field: _Field, text: str) -> int | None:
    if text.isdigit():
        number = int(text)
        return number if field.low <= number <= field.high else None
    upper = text.upper()
    return field.low + field.names.index(upper) if upper in field.names else None


def _check_rate(problems: Problems, argument: str, expression: str) -> None:
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        problems.add(
            argument,
            "a rate expression is rate(<value> <unit>)",
            expression,
            "use scheduler.ScheduleExpression.rate(cdk.Duration.hours(1)), e.g. rate(1 hour)",
        )
        return
    value, unit = match.group("value"), match.group("unit")
    if not is_token(value):
        problems.require(
            value.isdigit() and int(value) > 0,
            argument,
            "a rate's value must be a positive whole number",
            expression,
            "e.g. rate(5 minutes)",
        )
    if not is_token(unit):
        problems.require(
            unit in _RATE_UNITS,
            argument,
            f"a rate's unit must be one of {', '.join(_RATE_UNITS)}",
            expression,
            "e.g. rate(5 minutes), rate(1 hour) or rate(7 days)",
        )


def _check_at(
    problems: Problems, argument: str, expression: str, schedule: scheduler.ScheduleExpression
) -> None:
    if is_token(expression):
        return
    match = _AT.fullmatch(expression.strip())
    moment = _parse(match.group("moment")) if match else None
    if moment is None:
        problems.add(
            argument,
            "a one-time expression is at(yyyy-mm-ddThh:mm:ss), a real date and time",
            expression,
            "use scheduler.ScheduleExpression.at(datetime, time_zone)",
        )
        return
    zone = schedule.time_zone
    name = "UTC" if zone is None else zone.timezone_name
    if is_token(name):
        return  # known at deploy time only: not compared
    runs_at = _in_utc(moment, name)
    problems.require(
        runs_at > datetime.datetime.now(datetime.UTC),
        argument,
        f"the one-time schedule, read in its time zone ({name}), is in the past, so the task "
        "would never run",
        expression,
        "pick a time in the future, or use cron(...) or rate(...) for a recurring job",
    )


def _parse(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def _in_utc(moment: datetime.datetime, zone: str) -> datetime.datetime:
    """When the schedule runs, in UTC; with a zone unknown here, the latest it could be."""
    try:
        return moment.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(datetime.UTC)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return moment.replace(tzinfo=datetime.UTC) + _LARGEST_UTC_OFFSET
