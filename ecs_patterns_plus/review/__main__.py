"""``python -m ecs_patterns_plus.review BASE_DIR NEW_DIR``: a Markdown review of a template change.

BASE_DIR and NEW_DIR hold synthesized templates (``cdk.out``) or template snapshots
(``tests/__snapshots__``). The report goes to stdout; its "Monthly cost" section is the change
of the offline estimate (``ecs_patterns_plus.cost``) by resource class, flagged from
``--cost-threshold`` dollars a month.

Exit status: 0 when the report was printed; 2 for bad arguments or input that cannot be
reviewed (a missing path, a directory without templates, a template file that is not valid
JSON or not a template, a ``--pattern`` that matches no stack), with one line on stderr;
3 with ``--fail-on-replace-data`` when a resource that holds data (log group, bucket, KMS
key, secret, table, queue, ...) would be replaced or removed; 4 with ``--fail-on-cost`` when
the change adds ``--cost-threshold`` dollars a month or more (checked after the data rule).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from ..cost.delta import DEFAULT_THRESHOLD, cost_delta
from .diff import review
from .markdown import TITLE, render_markdown
from .mermaid import diagram
from .templates import Template, TemplateError, load_templates, template_files

EXIT_BAD_INPUT = 2
"""Bad arguments (argparse's own status), or input that cannot be reviewed."""
EXIT_DATA_AT_RISK = 3
EXIT_COST_OVER_THRESHOLD = 4
COMMENT_LIMIT = 65_000
"""Characters in one pull-request comment (GitHub allows 65,536)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecs_patterns_plus.review",
        description="Summarise what a change to synthesized templates will do, as Markdown.",
    )
    parser.add_argument("base", type=Path, help="templates before the change (directory or file)")
    parser.add_argument("new", type=Path, help="templates after the change (directory or file)")
    parser.add_argument(
        "--pattern",
        default="*.json",
        help="file name pattern of the templates in both directories (default: *.json)",
    )
    parser.add_argument("--title", default=TITLE, help=f"report heading (default: {TITLE!r})")
    parser.add_argument(
        "--no-diagrams",
        action="store_true",
        help="leave out the Mermaid architecture diagrams of the changed stacks",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"every row, however long (default: shortened to {COMMENT_LIMIT:,} characters)",
    )
    parser.add_argument(
        "--allow-empty-base",
        action="store_true",
        help="accept a base directory without templates (the change that adds the first "
        "ones): every stack is added",
    )
    parser.add_argument(
        "--cost-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="USD",
        help="flag a resource class whose monthly estimate changes by this much or more "
        f"(default: {DEFAULT_THRESHOLD:g})",
    )
    parser.add_argument(
        "--region", help="region to price (default: the one the templates name, else us-east-1)"
    )
    parser.add_argument(
        "--no-cost", action="store_true", help="leave out the monthly cost of the change"
    )
    parser.add_argument(
        "--fail-on-replace-data",
        action="store_true",
        help=f"exit {EXIT_DATA_AT_RISK} when a resource holding data is replaced or removed",
    )
    parser.add_argument(
        "--fail-on-cost",
        action="store_true",
        help=f"exit {EXIT_COST_OVER_THRESHOLD} when the change adds --cost-threshold dollars "
        "a month or more",
    )
    args = parser.parse_args(argv)
    if args.fail_on_cost and args.no_cost:
        parser.error("--fail-on-cost needs the cost section: leave out --no-cost")
    try:
        base = _read("base", args.base, args.pattern, allow_empty=args.allow_empty_base)
        new = _read("new", args.new, args.pattern, allow_empty=False)
    except TemplateError as error:
        parser.exit(EXIT_BAD_INPUT, f"review: {error}\n")
    if not base and not new:
        parser.exit(
            EXIT_BAD_INPUT, f"review: --pattern {args.pattern!r} matches no stack in base or new\n"
        )
    report = review(base, new)
    if not args.no_cost and report.changed:
        delta = cost_delta(base, new, region=args.region, threshold=args.cost_threshold)
        report = dataclasses.replace(report, cost=delta)
    diagrams = None
    if not args.no_diagrams:
        diagrams = {
            stack.name: diagram(new[stack.name]) for stack in report.changed if stack.name in new
        }
    limit = None if args.full else COMMENT_LIMIT
    sys.stdout.write(render_markdown(report, diagrams=diagrams, title=args.title, max_chars=limit))
    if args.fail_on_replace_data and (report.data_replaced or report.data_removed):
        return EXIT_DATA_AT_RISK
    if args.fail_on_cost and report.cost is not None and report.cost.increase_over_threshold:
        return EXIT_COST_OVER_THRESHOLD
    return 0


def _read(side: str, path: Path, pattern: str, *, allow_empty: bool) -> dict[str, Template]:
    """The templates of one side; ``TemplateError``, naming the side, for input that is unfit.

    Args:
        side: ``base`` or ``new``, for the message.
        path: the directory or file given for that side.
        pattern: the file name pattern; a side with templates none of which match is fine
            (a stack added or removed), as long as the other side has some.
        allow_empty: accept a directory without any template (else refused).
    """
    try:
        templates = load_templates(path, pattern=pattern)
        if not templates and not allow_empty and not template_files(path):
            raise TemplateError(
                f"no templates in {path} (looked for *.template.json and snapshot files)"
            )
    except TemplateError as error:
        raise TemplateError(f"{side}: {error}") from error
    return templates


if __name__ == "__main__":
    raise SystemExit(main())
