"""``python -m stacks.images``: the digest of each image tag of the release, as JSON.

The pipeline's synth step runs it and passes the result to ``cdk synth`` as
``-c ecs-patterns-plus:image-digests=...``, so every stage deploys the images by digest.
Needs ``ecr:DescribeImages`` on the repository; a tag that is missing fails the step.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .config import IMAGE_TAGS


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
    args = parser.parse_args(argv)
    import boto3

    try:
        digests = resolve(boto3.client("ecr", region_name=args.region), args.repository, IMAGE_TAGS)
    except LookupError as error:
        print(f"images: {error}", file=sys.stderr)
        return 1
    print(json.dumps(digests, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
