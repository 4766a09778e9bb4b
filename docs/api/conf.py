"""Sphinx configuration of the API reference, built from the docstrings by ``make docs``.

Nitpicky: every reference to the library's own classes must resolve; only the external
packages in ``EXTERNAL_PACKAGES``, which cannot resolve without network access, are ignored.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE / "_ext")]  # the library of this checkout; library_autodoc

project = "ecs_patterns_plus"
release = version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "library_autodoc"]
templates_path = ["_templates"]
exclude_patterns = ["_templates", "_ext"]

# One page per public name (a package's ``__all__``), from the templates in _templates/.
autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True  # ``defaults.X`` in signatures, not the value it had
python_maximum_signature_line_length = 100  # then one parameter a line

nitpicky = True
EXTERNAL_PACKAGES = (
    "aws_cdk",
    "constructs",
    "jsii",
    "typing",
    "typing_extensions",
    # The standard library's types in signatures (no inventory to link them offline).
    "collections.abc",
    "enum",
    "pathlib",
)
"""Packages whose types the signatures name but that cannot resolve offline."""
nitpick_ignore_regex = [
    (r"py:.*", rf"(?:{'|'.join(re.escape(name) for name in EXTERNAL_PACKAGES)})(?:\..+)?"),
]

html_theme = "alabaster"
html_title = f"{project} {release} API reference"
html_show_sourcelink = False
html_copy_source = False
