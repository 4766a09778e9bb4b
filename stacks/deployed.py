"""``python -m stacks.deployed ASSEMBLY OUTDIR``: what a stage runs now, for its review.

Writes the template each stack of the stage's cloud assembly (``cdk.out/assembly-Prod``) has
deployed, as ``<Stage>-<Stack>.template.json`` (the names the review gives the assembly's
stacks); a stack not deployed yet is left out (the review shows it as added). Reads with
CloudFormation ``GetTemplate``, as ``--role-arn`` (the CDK bootstrap's lookup role of the
stage's account, which may read templates) when given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ecs_patterns_plus.review.templates import assembly_stacks


def write_deployed(cloudformation: Any, assembly: Path, outdir: Path) -> list[str]:
    """Write the deployed template of each stack of ``assembly``; return the names written."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, stack in sorted(assembly_stacks(assembly).items()):
        try:
            body = cloudformation.get_template(StackName=stack.stack_name)["TemplateBody"]
        except cloudformation.exceptions.ClientError as error:
            if "does not exist" in str(error):
                continue
            raise
        template = json.loads(body) if isinstance(body, str) else body
        (outdir / f"{name}.template.json").write_text(json.dumps(template, indent=1))
        written.append(name)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.deployed", description=__doc__)
    parser.add_argument("assembly", type=Path, help="the stage's cloud assembly directory")
    parser.add_argument("outdir", type=Path, help="where to write the deployed templates")
    parser.add_argument("--role-arn", help="read as this role (the stage account's lookup role)")
    parser.add_argument("--region", help="the stage's region (default: the AWS SDK's)")
    args = parser.parse_args(argv)
    import boto3

    session = boto3.Session(region_name=args.region)
    if args.role_arn:
        credentials = session.client("sts").assume_role(
            RoleArn=args.role_arn, RoleSessionName="stage-review"
        )["Credentials"]
        session = boto3.Session(
            region_name=args.region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    written = write_deployed(session.client("cloudformation"), args.assembly, args.outdir)
    print(
        f"deployed templates: {', '.join(written) or 'none (a first deployment)'}", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
