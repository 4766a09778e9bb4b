"""``python -m ecs_patterns_plus.review.diagrams DIR [--readme README.md]``: architecture diagrams.

Prints a Mermaid diagram of every template under DIR (a cdk.out or snapshot directory, or
one template), or, with ``--readme``, rewrites the block between ``<!-- diagrams:start -->``
and ``<!-- diagrams:end -->`` of that file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .mermaid import diagram, readme_block, update_readme
from .templates import TemplateError, load_templates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecs_patterns_plus.review.diagrams",
        description="Draw Mermaid architecture diagrams of synthesized templates.",
    )
    parser.add_argument(
        "source", type=Path, help="a template file, a cdk.out or snapshot directory"
    )
    parser.add_argument(
        "--pattern", default="*.json", help="file name pattern of the templates (default: *.json)"
    )
    parser.add_argument(
        "--readme", type=Path, help="rewrite this file's diagrams block instead of printing"
    )
    args = parser.parse_args(argv)
    try:
        templates = load_templates(args.source, pattern=args.pattern)
    except TemplateError as error:
        parser.error(str(error))
    if not templates:
        parser.error(f"no CloudFormation templates in {args.source}")
    diagrams = {name: diagram(template) for name, template in templates.items()}
    if args.readme:
        try:
            changed = update_readme(args.readme, diagrams)
        except (OSError, ValueError) as error:
            parser.error(str(error))
        print(f"{args.readme}: {'updated' if changed else 'up to date'} ({', '.join(diagrams)})")
    else:
        sys.stdout.write(readme_block(diagrams))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
