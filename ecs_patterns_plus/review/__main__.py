"""``python -m ecs_patterns_plus.review BASE_DIR NEW_DIR``: a Markdown review of a template change.

BASE_DIR and NEW_DIR hold synthesized templates (``cdk.out``) or template snapshots
(``tests/__snapshots__``). The report goes to stdout.

Exit status: 0 when the report was printed; 2 for bad arguments; 3 with
``--fail-on-replace-data`` when a resource that holds data (log group, bucket, KMS key,
secret, table, queue, ...) would be replaced or removed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .diff import review
from .markdown import TITLE, render_markdown
from .mermaid import diagram
from .templates import load_templates

EXIT_DATA_AT_RISK = 3
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
        "--fail-on-replace-data",
        action="store_true",
        help=f"exit {EXIT_DATA_AT_RISK} when a resource holding data is replaced or removed",
    )
    args = parser.parse_args(argv)
    for path in (args.base, args.new):
        if not path.exists():
            parser.error(f"{path}: no such file or directory")
    base = load_templates(args.base, pattern=args.pattern)
    new = load_templates(args.new, pattern=args.pattern)
    if not base and not new:
        parser.error(f"no CloudFormation templates in {args.base} or {args.new}")
    report = review(base, new)
    diagrams = None
    if not args.no_diagrams:
        diagrams = {
            stack.name: diagram(new[stack.name]) for stack in report.changed if stack.name in new
        }
    limit = None if args.full else COMMENT_LIMIT
    sys.stdout.write(render_markdown(report, diagrams=diagrams, title=args.title, max_chars=limit))
    if args.fail_on_replace_data and (report.data_replaced or report.data_removed):
        return EXIT_DATA_AT_RISK
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
