"""Secret references for containers: Secrets Manager and SSM Parameter Store, with exact grants.

A ``SecretValue`` becomes an entry of the container's ``secrets``: ECS reads the value at
task start with the execution role and hands it to the container as an environment
variable. The execution role is granted read on exactly the referenced secret or parameter
ARN, and ``kms:Decrypt`` on its customer managed key only (none for AWS managed keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from .errors import Problems, checked, is_token

_VERSION_STAGE = re.compile(r"^[A-Za-z0-9_+=.@-]{1,256}$")
_VERSION_ID = re.compile(r"^[A-Za-z0-9-]{32,64}$")


@dataclass(frozen=True, kw_only=True)
class SecretValue:
    """One secret for a container, from Secrets Manager or SSM Parameter Store.

    Build it with a factory method, never directly:
    ``SecretValue.from_secrets_manager(secret, field="password")`` or
    ``SecretValue.from_ssm_parameter(parameter)``. Pass existing secrets
    (``Secret.from_secret_name_v2``, ``StringParameter.from_secure_string_parameter_attributes``)
    or ones created in the same app; either way only the referenced ARN is granted.

    Attributes:
        secret: the Secrets Manager secret, or ``None``.
        parameter: the SSM parameter, or ``None``.
        field: the JSON key read from the secret, or ``None`` for the whole secret.
        version_stage / version_id: the pinned secret version, or ``None`` for AWSCURRENT.
    """

    secret: secretsmanager.ISecret | None = None
    parameter: ssm.IParameter | None = None
    field: str | None = None
    version_stage: str | None = None
    version_id: str | None = None

    @classmethod
    @checked
    def from_secrets_manager(
        cls,
        secret: secretsmanager.ISecret,
        *,
        field: str | None = None,
        version_stage: str | None = None,
        version_id: str | None = None,
    ) -> SecretValue:
        """A Secrets Manager secret: the whole value, one JSON field, and/or a pinned version.

        Args:
            secret: the secret (created in this app or imported).
            field: the JSON key to read, e.g. ``"password"``. Default: the whole secret string.
            version_stage: a staging label such as ``"AWSPREVIOUS"``; not with ``version_id``.
                Default: the current version (``AWSCURRENT``).
            version_id: a version's unique id; not with ``version_stage``.
                Default: the current version.
        """
        return cls(secret=secret, field=field, version_stage=version_stage, version_id=version_id)

    @classmethod
    @checked
    def from_ssm_parameter(cls, parameter: ssm.IParameter) -> SecretValue:
        """An SSM parameter, String or SecureString.

        Args:
            parameter: the parameter. For a SecureString under a customer managed key, import it
                with ``StringParameter.from_secure_string_parameter_attributes(...,
                encryption_key=key)`` so the execution role may decrypt with that key.
        """
        return cls(parameter=parameter)

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems with this reference under ``argument`` (e.g. ``secrets['DB_PASSWORD']``)."""
        if (self.secret is None) == (self.parameter is None):
            problems.add(
                argument,
                "must reference exactly one secret or parameter",
                self,
                "build it with SecretValue.from_secrets_manager(...) or "
                "SecretValue.from_ssm_parameter(...)",
            )
            return
        if self.field is not None and not is_token(self.field):
            problems.require(
                bool(self.field) and ":" not in self.field,
                f"{argument}.field",
                "must be a non-empty JSON key without ':'",
                self.field,
                "pass the key of the JSON secret, e.g. 'password'",
            )
        if self.version_stage is not None and self.version_id is not None:
            problems.add(
                f"{argument}.version_stage",
                "version_stage and version_id are mutually exclusive",
                self.version_stage,
                "pin the version by stage or by id, not both",
            )
        if self.version_stage is not None and not is_token(self.version_stage):
            problems.require(
                bool(_VERSION_STAGE.match(self.version_stage)),
                f"{argument}.version_stage",
                "must be a staging label",
                self.version_stage,
                "e.g. 'AWSCURRENT', 'AWSPREVIOUS' or your own label",
            )
        if self.version_id is not None and not is_token(self.version_id):
            problems.require(
                bool(_VERSION_ID.match(self.version_id)),
                f"{argument}.version_id",
                "must be a secret version id (32 to 64 letters, digits and '-')",
                self.version_id,
                "copy the VersionId from `aws secretsmanager list-secret-version-ids`",
            )

    def to_ecs_secret(self) -> ecs.Secret:
        """The ``ecs.Secret``; the container grants the execution role read on it when added.

        The secret is the application's: the library acknowledges no finding on it (a secret
        created in the app without a rotation schedule fails ``AwsSolutions-SMG4``).
        """
        if self.parameter is not None:
            return ecs.Secret.from_ssm_parameter(self.parameter)
        secret = self.secret
        assert secret is not None  # validate() guarantees one of the two
        if self.version_stage is not None or self.version_id is not None:
            return ecs.Secret.from_secrets_manager_version(
                secret,
                ecs.SecretVersionInfo(version_stage=self.version_stage, version_id=self.version_id),
                self.field,
            )
        return ecs.Secret.from_secrets_manager(secret, self.field)
