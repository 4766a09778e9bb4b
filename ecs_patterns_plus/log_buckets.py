"""Hardened S3 buckets for load balancer access logs and the server access logs of those."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import compliance, defaults
from .errors import Problems


def log_bucket(
    scope: Construct, construct_id: str, *, server_access_logs_bucket: s3.IBucket | None = None
) -> s3.Bucket:
    """A private, SSL-only, versioned, SSE-S3 log bucket with lifecycle expiry, kept on delete."""
    bucket = private_bucket(
        scope,
        construct_id,
        expiration=defaults.ACCESS_LOG_EXPIRATION,
        expiry_rule_id="ExpireLogs",
        server_access_logs_bucket=server_access_logs_bucket,
    )
    compliance.LOG_BUCKET_ENCRYPTION.apply(bucket)
    return bucket


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    expiration: cdk.Duration,
    expiry_rule_id: str,
    encryption_key: kms.IKey | None = None,
    server_access_logs_bucket: s3.IBucket | None = None,
) -> s3.Bucket:
    """A bucket that passes the rule packs: private, SSL only (TLS 1.2+), versioned, Object
    Lock, EventBridge notifications, objects expiring after ``expiration`` (old versions 30
    days later) by the lifecycle rule ``expiry_rule_id``, kept on delete; SSE-KMS with
    ``encryption_key``, else SSE-S3 (what log delivery supports); server access logs into
    ``server_access_logs_bucket`` if given."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=encryption_key,
        bucket_key_enabled=True if encryption_key else None,
        enforce_ssl=True,
        minimum_tls_version=defaults.LOG_BUCKET_MINIMUM_TLS_VERSION,
        versioned=True,
        # Object Lock on (CT.S3.PR.9) without a default retention: log delivery refuses
        # buckets with one, and the lifecycle rule must still expire old objects.
        object_lock_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=defaults.DATA_REMOVAL_POLICY,
        lifecycle_rules=[
            s3.LifecycleRule(
                id=expiry_rule_id,
                expiration=expiration,
                noncurrent_version_expiration=defaults.NONCURRENT_LOG_EXPIRATION,
                abort_incomplete_multipart_upload_after=defaults.INCOMPLETE_UPLOAD_EXPIRATION,
            )
        ],
    )
    cfn_bucket = notify_event_bridge(bucket)
    if server_access_logs_bucket is not None:
        log_server_access(cfn_bucket, bucket, server_access_logs_bucket)
    return bucket


def notify_event_bridge(bucket: s3.Bucket) -> s3.CfnBucket:
    """Send the bucket's events to EventBridge (CT.S3.PR.4) natively: CDK's
    ``event_bridge_enabled`` adds a notification-handler Lambda. Returns the ``CfnBucket``."""
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
            event_bridge_enabled=True
        )
    )
    return cfn_bucket


def log_server_access(cfn_bucket: s3.CfnBucket, source: s3.IBucket, target: s3.IBucket) -> None:
    """S3 server access logging of ``source`` into ``target``, granted by bucket policy.

    Written here rather than through ``server_access_logs_bucket``: without the app's feature
    flag ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`` CDK would grant with an ACL,
    which an owner-enforced bucket refuses. The policy is the one that flag writes.
    """
    prefix = defaults.SERVER_ACCESS_LOG_PREFIX
    cfn_bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=target.bucket_name, log_file_prefix=prefix
    )
    target.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[target.arn_for_objects(f"{prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": source.bucket_arn},
                "StringEquals": {"aws:SourceAccount": cdk.Stack.of(source).account},
            },
        )
    )


def access_log_buckets(
    scope: Construct, given: s3.IBucket | None
) -> tuple[s3.IBucket, s3.Bucket | None]:
    """A load balancer's access log bucket (``given``, or a new ``AccessLogsBucket`` that logs
    its own access to a new ``ServerAccessLogsBucket``) and that second bucket, if any."""
    if given is not None:
        return given, None
    server = log_bucket(scope, "ServerAccessLogsBucket")
    compliance.FINAL_ACCESS_LOG_BUCKET.apply(server)
    return log_bucket(scope, "AccessLogsBucket", server_access_logs_bucket=server), server


def check_log_region(problems: Problems, scope: Construct, given: s3.IBucket | None) -> None:
    """Access log delivery is granted per region: a new bucket needs the stack's region."""
    if given is None:
        region = cdk.Stack.of(scope).region
        problems.require(
            not cdk.Token.is_unresolved(region),
            "access_logs_bucket",
            "load balancer access logs need the stack's region to be known at synth time",
            region,
            "give the stack env=cdk.Environment(region=...)",
        )
