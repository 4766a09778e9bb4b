"""Image pinning: a task's images must be pinned by digest, an immutable ECR tag or their content."""

from __future__ import annotations

import functools
import re

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ..errors import Problems, is_token

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


def check_image(
    problems: Problems, argument: str, image: ecs.ContainerImage, scope: Construct
) -> None:
    how_to_pin = (
        "pin it by digest, e.g. ContainerImage.from_registry('<repository>@sha256:<digest>') "
        "(`docker buildx imagetools inspect <image>` prints it), or push it to ECR and use "
        "ContainerImage.from_ecr_repository(repository, '<immutable tag>')"
    )
    if isinstance(image, ecs.EcrImage):
        reference = image.image_name.rsplit("/", 1)[-1]
        if "@" in reference:
            digest = reference.split("@", 1)[1]
            problems.require(
                is_token(digest) or bool(_DIGEST.match(digest)),
                argument,
                "has a malformed digest",
                digest,
                "use 'sha256:' followed by 64 lower-case hex digits",
            )
            return
        tag = reference.rsplit(":", 1)[-1] if ":" in reference else ""
        if not is_token(tag):
            problems.require(
                tag not in ("", "latest"),
                argument,
                "':latest' moves: every task start may run a different image",
                f"from_ecr_repository(..., tag={tag!r})",
                "pass an immutable version tag, e.g. from_ecr_repository(repository, 'v1.2.3'), "
                "or a digest 'sha256:<digest>'",
            )
        return
    if not isinstance(image, ecs.RepositoryImage):
        return  # a local build (from_asset, from_tarball): pinned by its content hash
    name = _registry_image_name(image, scope)
    if name is None or is_token(name):
        return
    if _ECR_HOST.match(name):
        problems.add(
            argument,
            "an ECR image by URI gets no pull permission and the task would fail to start",
            name,
            "use ContainerImage.from_ecr_repository(ecr.Repository.from_repository_name("
            "scope, 'Repo', '<name>'), '<tag>')",
        )
        return
    path, _, digest = name.partition("@")
    if digest:
        problems.require(
            bool(_DIGEST.match(digest)),
            argument,
            "has a malformed digest",
            name,
            "use '<repository>@sha256:' followed by 64 lower-case hex digits",
        )
        return
    last = path.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if tag == "latest":
        what = "':latest' moves: every task start may run a different image"
    elif not tag:
        what = "has no tag or digest, which means ':latest'"
    else:
        what = "a registry tag can be re-pointed at another image; only ECR tags may pin"
    problems.add(argument, what, name, how_to_pin)


def _registry_image_name(image: ecs.RepositoryImage, scope: Construct) -> str | None:
    """The name a registry image binds to, read in a throwaway app (no side effects here)."""
    stack = cdk.Stack.of(scope)
    task = _probe_task(
        None if is_token(stack.account) else stack.account,
        None if is_token(stack.region) else stack.region,
    )
    container = task.add_container(f"Probe{len(task.node.children)}", image=image)
    name = cdk.Stack.of(task).resolve(container.image_name)
    return name if isinstance(name, str) else None


@functools.cache
def _probe_task(account: str | None, region: str | None) -> ecs.FargateTaskDefinition:
    """One throwaway task definition per environment, outside every user's app."""
    env = cdk.Environment(account=account, region=region)
    probe = cdk.Stack(cdk.App(auto_synth=False), "ImageProbe", env=env)
    return ecs.FargateTaskDefinition(probe, "Task")
