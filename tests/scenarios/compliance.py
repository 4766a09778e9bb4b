"""What the rule packs must catch: a finding that fails the synthesis."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

from ecs_patterns_plus.log_buckets import log_bucket

from . import scenario


@scenario("UnencryptedLogGroup", compliant=False)
def unencrypted_log_group(stack: cdk.Stack) -> None:
    """A log group without a KMS key: Control Tower's CT.CLOUDWATCH.PR.3 must report it, and
    the synthesis must fail on it, also beside a Control Tower finding the library
    acknowledges (a log bucket's SSE-S3): once CDK suppresses one finding of a plugin, it
    fails the synthesis only on the plugin's remaining findings of severity ``error``."""
    logs.LogGroup(stack, "Unencrypted", retention=logs.RetentionDays.ONE_YEAR)
    log_bucket(stack, "AccessLogsBucket")
