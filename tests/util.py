"""Small helpers shared by the intent and bad-input tests."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs

from ecs_patterns_plus import HardenedTaskDefinition
from tests.synth import Synthesized, new_app


def resources_of(synth: Synthesized, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
    """The stack's resources of one type, by logical id."""
    resources = synth.template_json(stack)["Resources"]
    return {key: value for key, value in resources.items() if value["Type"] == resource_type}


def stack_for_errors(region: str = "ap-northeast-2") -> cdk.Stack:
    """A fresh stack named ``Errors`` for bad-input tests and templates read in this process
    (without CDK's built-in CloudFormation validation, which the synthesis workers run)."""
    return cdk.Stack(new_app(validation=False), "Errors", env=cdk.Environment(region=region))


def logical_id(synth: Synthesized, stack: str, construct_path: str) -> str:
    """The logical id of the resource at ``<stack>/<construct_path>/Resource``."""
    wanted = f"{stack}/{construct_path}/Resource"
    (key,) = [
        key
        for key, resource in synth.template_json(stack)["Resources"].items()
        if resource.get("Metadata", {}).get("aws:cdk:path") == wanted
    ]
    return key


def hardened_task(
    stack: cdk.Stack, construct_id: str = "Task", **options: Any
) -> HardenedTaskDefinition:
    """A task definition on the ``myapp`` ECR repository (imported once per stack)."""
    repository = stack.node.try_find_child("Repository") or ecr.Repository.from_repository_name(
        stack, "Repository", "myapp"
    )
    return HardenedTaskDefinition(
        stack,
        construct_id,
        image=ecs.ContainerImage.from_ecr_repository(repository, "1.0.0"),  # type: ignore[arg-type]
        **options,
    )
