"""Image pinning: a task's images must be pinned by digest, an immutable ECR tag or their content."""

from __future__ import annotations

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
    env = cdk.Environment(
        account=None if cdk.Token.is_unresolved(stack.account) else stack.account,
        region=None if cdk.Token.is_unresolved(stack.region) else stack.region,
    )
    probe = cdk.Stack(cdk.App(auto_synth=False), "ImageProbe", env=env)
    task = ecs.FargateTaskDefinition(probe, "Task")
    task.add_container("Probe", image=image, memory_limit_mib=512)
    definitions = probe.resolve(task.node.default_child.container_definitions)  # type: ignore[union-attr]
    names = [d.get("image") for d in definitions or [] if isinstance(d, dict)]
    return names[0] if names and isinstance(names[0], str) else None
