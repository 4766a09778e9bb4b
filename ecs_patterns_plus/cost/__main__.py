"""``python -m ecs_patterns_plus.cost PATH``: the monthly estimate of synthesized templates.

PATH is a cloud assembly (``cdk.out``), a directory of template snapshots or one template.
The report goes to stdout as Markdown (``--json`` for data): totals by stack and resource
class, every line with its quantity, the Fargate/EC2 comparison, the assumptions and the
prices used with their dates and sources.

Exit status: 0 when the estimate was printed (a region without prices says so in the
report); 2 for bad arguments or input that holds no readable template, with one line on
stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..review.templates import TemplateError, load_templates, template_files
from .assumptions import Assumptions
from .compare import compare
from .delta import resolve_region
from .estimate import estimate
from .render import render_text, to_json

EXIT_BAD_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecs_patterns_plus.cost",
        description="Estimate what synthesized templates cost a month, offline.",
    )
    parser.add_argument("path", type=Path, help="cdk.out, a snapshot directory or one template")
    parser.add_argument(
        "--region",
        help="region to price (default: the one the templates name, else us-east-1)",
    )
    parser.add_argument(
        "--assumption",
        "-a",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an assumption, e.g. log_gb_per_task=5 (repeatable)",
    )
    parser.add_argument(
        "--pattern", default="*.json", help="file name pattern of the templates (default: *.json)"
    )
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    parser.add_argument(
        "--no-comparison", action="store_true", help="leave out the Fargate/EC2 comparison"
    )
    args = parser.parse_args(argv)
    try:
        assumptions = Assumptions().with_overrides(args.assumption)
    except ValueError as error:
        parser.exit(EXIT_BAD_INPUT, f"cost: {error}\n")
    try:
        templates = load_templates(args.path, pattern=args.pattern)
        if not templates:
            found = template_files(args.path)
            raise TemplateError(
                f"no templates in {args.path} matching {args.pattern!r}"
                if found
                else f"no templates in {args.path} (looked for *.template.json and snapshot files)"
            )
    except TemplateError as error:
        parser.exit(EXIT_BAD_INPUT, f"cost: {error}\n")
    region, note = resolve_region(templates.values(), args.region)
    result = estimate(templates, region=region, assumptions=assumptions)
    comparisons = (
        () if args.no_comparison else compare(templates, region=region, assumptions=assumptions)
    )
    if args.json:
        data = to_json(result, comparisons, region_note=note)
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(result, comparisons, region_note=note))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
