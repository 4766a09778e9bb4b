"""Environment files from S3: plain configuration the ECS agent reads when a task starts.

ECS reads each ``.env`` file (``NAME=value`` lines, ``#`` comments) with the task execution
role, which needs ``s3:GetObject`` on the object and ``s3:GetBucketLocation`` on its bucket;
at most 10 files per container; a variable set in ``environment`` wins over a file's (ECS
developer guide, "Passing environment variables to a container").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..errors import Problems, is_token
from .validation import check_environment

MAX_FILES = 10
"""Environment files per container (ECS quota)."""


def file_variables(file: ecs.EnvironmentFile) -> dict[str, str] | None:
    """The variables of a local file (``EnvironmentFile.from_asset``); None for S3 objects,
    whose content is not known at synth time."""
    path = getattr(file, "path", None)
    if not isinstance(path, str) or not Path(path).is_file():
        return None
    variables: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            name, _, value = text.partition("=")
            variables[name.strip()] = value
    return variables


def check_environment_files(
    problems: Problems,
    scope: Construct,
    files: Sequence[ecs.EnvironmentFile],
    environment: Mapping[str, str],
    secrets: Mapping[str, object],
) -> None:
    """Record problems with ``files`` (of a construct to be built in ``scope``): their number,
    names, and what a local file sets (the same refusal of secret-looking names and values as
    ``environment``)."""
    problems.require(
        len(files) <= MAX_FILES,
        "environment_files",
        f"lists more than the {MAX_FILES} files ECS reads per container",
        len(files),
        "merge the files",
    )
    seen: dict[str, int] = {}
    for index, file in enumerate(files):
        argument = f"environment_files[{index}]"
        name = _file_name(scope, file)
        problems.require(
            name is None or is_token(name) or name.endswith(".env"),
            argument,
            "must be a .env file: ECS reads only files with that extension",
            name,
            "rename the file or object to end in .env",
        )
        variables = file_variables(file)
        if variables is None:
            continue
        check_environment(problems, argument, variables)
        twice = sorted(set(variables) & ({*environment, *secrets} | set(seen)))
        problems.require(
            not twice,
            argument,
            f"sets {', '.join(twice)} that environment, secrets or another file sets too: "
            "which value wins would be hidden",
            twice,
            "set each variable in one place",
        )
        seen.update(dict.fromkeys(variables, index))


def _file_name(scope: Construct, file: ecs.EnvironmentFile) -> str | None:
    """The file's name: a local file's, or an S3 object's key (binding an S3 file creates
    nothing; binding a local one would upload it, so its path is read instead)."""
    path = getattr(file, "path", None)
    if isinstance(path, str):
        return Path(path).name
    location = file.bind(scope).s3_location
    return location.object_key if location is not None else None


def bind_environment_files(
    scope: Construct, files: Sequence[ecs.EnvironmentFile], role: iam.IRole
) -> None:
    """Upload local files (as assets) and let ``role`` read exactly these objects.

    CDK grants nothing for environment files: without this the task would fail to start.
    Each file is bound in a scope of its own (a local file's asset is created on its first
    bind, under one fixed id), so the container's own bind reuses it.
    """
    stack = cdk.Stack.of(scope)
    objects, buckets = [], []
    for index, file in enumerate(files):
        config = file.bind(Construct(scope, f"EnvironmentFile{index}"))
        assert config.s3_location is not None
        bucket, key = config.s3_location.bucket_name, config.s3_location.object_key
        buckets.append(f"arn:{stack.partition}:s3:::{bucket}")
        objects.append(f"arn:{stack.partition}:s3:::{bucket}/{key}")
    if not files:
        return
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=objects))
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=sorted(set(buckets)))
    )
