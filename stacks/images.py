"""``python -m stacks.images [--context cdk.context.json]``: the release's image digests.

Prints the digest of each image tag of the release as JSON or, with ``--context``, writes it
into that CDK context file as ``ecs-patterns-plus:image-digests`` (keeping its other keys):
the pipeline's synth step does this before ``cdk synth``, so every stage deploys the images
by digest (no shell quoting of JSON on a command line). Needs ``ecr:DescribeImages`` on the
repository; a tag that is missing fails the step.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import IMAGE_TAGS, PREFIX


def resolve(ecr: Any, repository: str, tags: Mapping[str, str]) -> dict[str, str]:
    """``{name: digest}`` for every ``{name: tag}``, from ECR's ``DescribeImages``."""
    by_tag = {tag: name for name, tag in tags.items()}
    response = ecr.describe_images(
        repositoryName=repository, imageIds=[{"imageTag": tag} for tag in sorted(by_tag)]
    )
    digests = {
        by_tag[tag]: image["imageDigest"]
        for image in response["imageDetails"]
        for tag in image.get("imageTags", [])
        if tag in by_tag
    }
    missing = sorted(tags[name] for name in tags.keys() - digests.keys())
    if missing:
        raise LookupError(f"no image tagged {', '.join(missing)} in ECR repository {repository}")
    return dict(sorted(digests.items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.images", description=__doc__)
    parser.add_argument("--repository", default="myapp", help="ECR repository (default: myapp)")
    parser.add_argument("--region", help="its region (default: the AWS SDK's)")
    parser.add_argument("--context", type=Path, help="write into this CDK context file")
    args = parser.parse_args(argv)
    import boto3

    try:
        digests = resolve(boto3.client("ecr", region_name=args.region), args.repository, IMAGE_TAGS)
    except LookupError as error:
        print(f"images: {error}", file=sys.stderr)
        return 1
    if args.context:
        write_context(args.context, digests)
    else:
        print(json.dumps(digests, separators=(",", ":")))
    return 0


def write_context(path: Path, digests: dict[str, str]) -> None:
    """Set ``ecs-patterns-plus:image-digests`` in the context file ``path``."""
    context = json.loads(path.read_text()) if path.exists() else {}
    context[f"{PREFIX}:image-digests"] = digests
    path.write_text(json.dumps(context, indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
