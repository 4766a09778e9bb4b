"""Log retention given as ``logs.RetentionDays`` or as a number of days, which may be a token."""

from __future__ import annotations

from typing import cast

from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import defaults
from .encryption import encrypted_log_group
from .errors import Problems, is_token

Retention = logs.RetentionDays | int
"""How long log events are kept: ``logs.RetentionDays.ONE_YEAR``, or days (``365`` or a token)."""

_BY_DAYS: dict[int, logs.RetentionDays] = {
    days: logs.RetentionDays[name]
    for days, name in (
        (1, "ONE_DAY"),
        (3, "THREE_DAYS"),
        (5, "FIVE_DAYS"),
        (7, "ONE_WEEK"),
        (14, "TWO_WEEKS"),
        (30, "ONE_MONTH"),
        (60, "TWO_MONTHS"),
        (90, "THREE_MONTHS"),
        (120, "FOUR_MONTHS"),
        (150, "FIVE_MONTHS"),
        (180, "SIX_MONTHS"),
        (365, "ONE_YEAR"),
        (400, "THIRTEEN_MONTHS"),
        (545, "EIGHTEEN_MONTHS"),
        (731, "TWO_YEARS"),
        (1096, "THREE_YEARS"),
        (1827, "FIVE_YEARS"),
        (2192, "SIX_YEARS"),
        (2557, "SEVEN_YEARS"),
        (2922, "EIGHT_YEARS"),
        (3288, "NINE_YEARS"),
        (3653, "TEN_YEARS"),
    )
}
"""The retention periods CloudWatch Logs offers, in days (``RetentionInDays``)."""


def check_retention(problems: Problems, argument: str, retention: Retention) -> None:
    """Record a problem unless ``retention`` is a period CloudWatch Logs offers (tokens pass)."""
    if isinstance(retention, logs.RetentionDays) or is_token(retention):
        return
    problems.require(
        retention in _BY_DAYS,
        argument,
        "is not a retention period CloudWatch Logs offers",
        retention,
        f"pass one of {', '.join(map(str, sorted(_BY_DAYS)))} days, "
        "or a logs.RetentionDays such as logs.RetentionDays.ONE_YEAR",
    )


def retained_log_group(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    retention: Retention,
    log_group_name: str | None = None,
) -> logs.LogGroup:
    """``encrypted_log_group`` with ``retention`` (checked by ``check_retention``) in days.

    ``logs.LogGroup`` takes only ``RetentionDays``: a token reaches ``RetentionInDays`` directly.
    """
    if isinstance(retention, logs.RetentionDays):
        days = retention
    else:
        days = defaults.LOG_RETENTION if is_token(retention) else _BY_DAYS[retention]
    group = encrypted_log_group(
        scope, construct_id, key=key, retention=days, log_group_name=log_group_name
    )
    if not isinstance(retention, logs.RetentionDays) and is_token(retention):
        cast(logs.CfnLogGroup, group.node.default_child).retention_in_days = retention
    return group
