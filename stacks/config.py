"""The example app's typed configuration: its pipeline and one ``StageConfig`` per environment.

Read from cdk.json context (``ecs-patterns-plus:pipeline`` and ``ecs-patterns-plus:stages``,
in promotion order), checked field by field before any construct is created: a missing,
unknown or mistyped setting is a ``ValidationError`` naming it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ecs_patterns_plus import DeploymentStrategy
from ecs_patterns_plus.errors import ValidationError

PREFIX = "ecs-patterns-plus"

DEPLOYMENTS: dict[str, Callable[[], DeploymentStrategy]] = {
    "canary": DeploymentStrategy.canary,
    "rolling": DeploymentStrategy.rolling,
    "blue_green": DeploymentStrategy.blue_green,
    "linear": DeploymentStrategy.linear,
    "code_deploy": DeploymentStrategy.code_deploy_blue_green,
}

_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_STAGE = re.compile(r"[a-z][a-z0-9]{0,15}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """One environment: a ``cdk.Stage`` of every example stack, in its own account and region.

    Fields: ``name`` (lower-case letters and digits, e.g. ``dev``; prefixes every stack name),
    ``region``; ``account`` (Default: empty, the pipeline's account), ``production``
    (preflight warns about one task or one AZ; Default: False), ``approval`` (a manual
    approval before this stage deploys; Default: False), ``desired_count`` / ``max_count``
    (the web service's tasks; Default: 2 / 10), ``nat_gateways`` (Default: 2, one per AZ),
    ``deletion_protection`` (load balancers; Default: True), ``log_retention_days`` (the
    services' and jobs' logs; Default: 365), ``deployment`` (how the web service deploys:
    ``canary``, ``rolling``, ``blue_green``, ``linear`` or ``code_deploy``; Default:
    ``canary``), ``domain_name``, ``hosted_zone_id``, ``hosted_zone_name`` (the web service's
    DNS name and the Route 53 zone that holds it).
    """

    name: str
    region: str
    account: str = ""
    production: bool = False
    approval: bool = False
    desired_count: int = 2
    max_count: int = 10
    nat_gateways: int = 2
    deletion_protection: bool = True
    log_retention_days: int = 365
    deployment: str = "canary"
    domain_name: str = "myapp.example.com"
    hosted_zone_id: str = "Z0123456789ABCDEFGHIJ"
    hosted_zone_name: str = "example.com"

    @property
    def construct_id(self) -> str:
        """The stage's construct id: ``dev`` -> ``Dev`` (``cdk deploy 'Pipeline/Dev/*'``)."""
        return self.name.capitalize()

    @property
    def env(self) -> cdk.Environment:
        return cdk.Environment(account=self.account or None, region=self.region)

    @property
    def deployment_strategy(self) -> DeploymentStrategy:
        return DEPLOYMENTS[self.deployment]()

    def stack_name(self, name: str) -> str:
        return f"{PREFIX}-{self.name}-{name}"

    def problems(self, key: str) -> list[str]:
        problems = [
            *_match(f"{key}.name", self.name, _STAGE, "lower-case letters and digits, e.g. 'dev'"),
            *_match(f"{key}.region", self.region, _REGION, "an AWS region, e.g. 'ap-northeast-2'"),
        ]
        if self.account:
            problems += _match(f"{key}.account", self.account, _ACCOUNT, "a 12-digit account id")
        if self.deployment not in DEPLOYMENTS:
            problems.append(
                f"{key}.deployment: unknown strategy; got {self.deployment!r}; "
                f"use one of {', '.join(DEPLOYMENTS)}"
            )
        if not 1 <= self.desired_count <= self.max_count:
            problems.append(
                f"{key}.desired_count: must be 1 to max_count ({self.max_count}); "
                f"got {self.desired_count}"
            )
        if self.production and self.desired_count < 2:
            problems.append(
                f"{key}.desired_count: a production stage needs 2 or more tasks (one task is an "
                f"outage waiting to happen); got {self.desired_count}"
            )
        if not 0 <= self.nat_gateways <= 2:
            problems.append(
                f"{key}.nat_gateways: must be 0 (isolated) to 2 (one per AZ); "
                f"got {self.nat_gateways}"
            )
        if not self.domain_name.endswith("." + self.hosted_zone_name):
            problems.append(
                f"{key}.domain_name: must be a name inside the hosted zone "
                f"{self.hosted_zone_name!r}; got {self.domain_name!r}"
            )
        return problems


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """Where the pipeline runs and what it builds.

    Fields: ``region``; ``account`` (Default: empty, the account of the credentials that
    deploy it), ``repository`` (``owner/name`` of the source repository), ``branch``
    (Default: ``main``), ``connection_arn`` (the AWS CodeConnections connection to the
    repository's host), ``image_repository`` (the ECR repository of the application's images,
    in the pipeline's account; Default: ``myapp``).
    """

    region: str
    repository: str
    connection_arn: str
    account: str = ""
    branch: str = "main"
    image_repository: str = "myapp"

    @property
    def env(self) -> cdk.Environment:
        return cdk.Environment(account=self.account or None, region=self.region)

    def problems(self, key: str) -> list[str]:
        problems = _match(f"{key}.region", self.region, _REGION, "an AWS region")
        if self.account:
            problems += _match(f"{key}.account", self.account, _ACCOUNT, "a 12-digit account id")
        problems += _match(
            f"{key}.repository", self.repository, re.compile(r"[\w.-]+/[\w.-]+"), "owner/name"
        )
        problems += _match(
            f"{key}.connection_arn",
            self.connection_arn,
            re.compile(
                r"arn:aws[\w-]*:(codeconnections|codestar-connections):[\w-]+:\d{12}:connection/[\w-]+"
            ),
            "the ARN of an AWS CodeConnections connection",
        )
        return problems


IMAGE_TAGS = {
    "web": "web-1.0.0",
    "orders": "orders-1.0.0",
    "emails": "emails-1.0.0",
    "report": "report-1.0.0",
    "inference": "inference-1.0.0",
    "broker": "broker-2.0.18",
}
"""The release: each image of the app by name, and its tag in the ``myapp`` ECR repository."""


@dataclass(frozen=True, kw_only=True)
class Images:
    """The application's images: ``IMAGE_TAGS`` in the pipeline's ECR repository
    (``repository_name`` in ``account`` and ``region``; an empty account: the stage's own),
    each by the digest the pipeline pinned when it resolved the tags
    (``ecs-patterns-plus:image-digests``, name -> ``sha256:...``; Default: none, by tag)."""

    repository_name: str = "myapp"
    account: str = ""
    region: str = ""
    digests: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def repository(self, scope: Construct) -> ecr.IRepository:
        """The repository, as child ``Repository`` of ``scope`` (by ARN in another account)."""
        if not self.account:
            return ecr.Repository.from_repository_name(scope, "Repository", self.repository_name)
        arn = (
            f"arn:{cdk.Aws.PARTITION}:ecr:{self.region}:{self.account}:repository/"
            f"{self.repository_name}"
        )
        return ecr.Repository.from_repository_attributes(
            scope, "Repository", repository_arn=arn, repository_name=self.repository_name
        )

    def image(self, repository: ecr.IRepository, name: str) -> ecs.ContainerImage:
        """The image ``name`` of ``repository``: by its pinned digest when there is one, so
        every stage runs exactly the image the stages before it ran; else by its tag."""
        return ecs.ContainerImage.from_ecr_repository(
            repository, self.digests.get(name) or IMAGE_TAGS[name]
        )


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """The whole example app: its pipeline, its stages in promotion order, and its images."""

    pipeline: PipelineConfig
    stages: tuple[StageConfig, ...]
    images: Images

    @classmethod
    def from_context(cls, app: Construct) -> AppConfig:
        context = app.node.try_get_context
        problems: list[str] = []
        pipeline = _load(
            PipelineConfig, context(f"{PREFIX}:pipeline"), f"{PREFIX}:pipeline", problems
        )
        raw_stages = context(f"{PREFIX}:stages")
        stages: list[StageConfig] = []
        if not isinstance(raw_stages, list) or not raw_stages:
            problems.append(f"{PREFIX}:stages: must be a list of stages; got {raw_stages!r}")
            raw_stages = []
        for index, raw in enumerate(raw_stages):
            stage = _load(StageConfig, raw, f"{PREFIX}:stages[{index}]", problems)
            if stage is not None:
                stages.append(stage)
        names = [stage.name for stage in stages]
        for name in sorted({name for name in names if names.count(name) > 1}):
            problems.append(f"{PREFIX}:stages: stage {name!r} is given twice; names must differ")
        digests = _digests(context(f"{PREFIX}:image-digests"), problems)
        if problems or pipeline is None:
            raise ValidationError("cdk.json context", problems)
        images = Images(
            repository_name=pipeline.image_repository,
            account=pipeline.account,
            region=pipeline.region,
            digests=digests,
        )
        return cls(pipeline=pipeline, stages=tuple(stages), images=images)


T = TypeVar("T")


def _load(kind: type[T], raw: Any, key: str, problems: list[str]) -> T | None:
    """``kind(**raw)`` after checking that every field is known, present and of its type."""
    if not isinstance(raw, dict):
        problems.append(f"{key}: must be an object of settings; got {raw!r}")
        return None
    fields = {field.name: field for field in dataclasses.fields(kind)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(kind)
    found: list[str] = []
    for name in raw.keys() - fields.keys():
        found.append(f"{key}.{name}: unknown setting; use one of {', '.join(fields)}")
    for name, field in fields.items():
        required = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        if name not in raw:
            if required:
                found.append(f"{key}.{name}: is required")
            continue
        expected = hints[name]
        value = raw[name]
        if not _is(value, expected):
            found.append(f"{key}.{name}: must be {_name(expected)}; got {value!r}")
    if found:
        problems += sorted(found)
        return None
    loaded = kind(**raw)
    problems += loaded.problems(key)  # type: ignore[attr-defined]
    return loaded


def _is(value: Any, expected: Any) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _name(expected: Any) -> str:
    return {bool: "true or false", int: "a whole number", str: "a string"}.get(
        expected, str(expected)
    )


def _match(key: str, value: str, pattern: re.Pattern[str], what: str) -> list[str]:
    return [] if pattern.fullmatch(value) else [f"{key}: must be {what}; got {value!r}"]


def _digests(raw: Any, problems: list[str]) -> dict[str, str]:
    """The pinned digests, given as an object or as its JSON (``cdk synth -c key=...``)."""
    key = f"{PREFIX}:image-digests"
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            problems.append(f"{key}: is not JSON ({error}); got {raw!r}")
            return {}
    if not isinstance(raw, dict) or not all(
        name in IMAGE_TAGS and isinstance(digest, str) and _DIGEST.fullmatch(digest)
        for name, digest in raw.items()
    ):
        problems.append(
            f"{key}: must map image names ({', '.join(IMAGE_TAGS)}) to "
            f"'sha256:<64 hex digits>'; got {raw!r}"
        )
        return {}
    return dict(raw)
