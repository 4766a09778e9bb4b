"""How autodoc reads this library: its docstring sections, its constants, its signatures.

- ``Args:``, ``Attributes:`` and the like are shown as a rubric and a definition list of the
  ``name: description`` entries; the docstrings themselves stay plain text.
- A re-exported constant shows the docstring under its assignment, not its type's.
- Names imported only for type checkers (``if TYPE_CHECKING:``) are given to their modules
  once everything is loaded, so that the signatures naming them link to the classes.
- A construct's signature is its ``__init__``'s (not jsii's metaclass ``__call__``), and a
  dataclass's defaults are shown as written (``defaults.X``, ``tuple()``).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from sphinx.errors import PycodeError
from sphinx.ext.autodoc.preserve_defaults import DefaultValue, update_defvalue
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import inspect as sphinx_inspect

PACKAGE = Path(__file__).resolve().parents[3] / "ecs_patterns_plus"

_SECTION = re.compile(r"(?P<indent> *)(?P<title>[A-Z][A-Za-z ]*[a-z]):")
_ENTRY = re.compile(r"(?P<names>[A-Za-z_]\w*(?: / [A-Za-z_]\w*)*): ?(?P<text>.*)")
_MISSING = object()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip()) if line.strip() else sys.maxsize


def render_sections(lines: list[str]) -> list[str]:
    """The docstring with its ``Args:``-style sections as reStructuredText: a rubric, then a
    definition list of the ``name: description`` entries (hanging indent), prose as it is.

    A section is a capitalised ``Title:`` line after a blank line, followed by an indented
    block; an entry is a line of that block at its own indent, ``name: text`` (or
    ``name / other: text``), its continuation the deeper lines after it."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        header = _SECTION.fullmatch(lines[index])
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not (
            header
            and (index == 0 or not lines[index - 1].strip())
            and len(header["indent"]) < _indent(following) < sys.maxsize
        ):
            out.append(lines[index])
            index += 1
            continue
        outer = header["indent"]
        end = index + 1
        while end < len(lines) and _indent(lines[end]) > len(outer):
            end += 1
        while not lines[end - 1].strip():
            end -= 1
        block = lines[index + 1 : end]
        base = min(_indent(line) for line in block)
        out += [f"{outer}.. rubric:: {header['title']}", ""]
        in_entry, hanging = False, base + 4
        for number, line in enumerate(block):
            entry = _ENTRY.fullmatch(line[base:]) if _indent(line) == base else None
            if entry:
                out.append(outer + " / ".join(f"``{n}``" for n in entry["names"].split(" / ")))
                if entry["text"]:
                    out.append(f"{outer}    {entry['text']}")
                rest = [later for later in block[number + 1 :] if later.strip()]
                hanging = min(_indent(rest[0]), base + 4) if rest else base + 4
                in_entry = True
            elif _indent(line) == base:
                if in_entry:
                    out.append("")  # prose after the entries: the definition list ends
                out.append(outer + line[base:])
                in_entry = False
            elif in_entry and line.strip():
                out.append(f"{outer}    {line[min(hanging, _indent(line)) :]}")
            else:
                out.append(outer + line[base:] if line.strip() else "")
        out.append("")
        index = end
    return out


def constant_docstring(name: str, value: object) -> list[str] | None:
    """The docstring written under a library constant's assignment, looked up in the module
    that defines it (``name`` may be a re-export); ``None`` if it has none."""
    attribute = name.rpartition(".")[2]
    for module_name, module in sorted(sys.modules.items()):
        if module_name.partition(".")[0] != PACKAGE.name:
            continue
        if vars(module).get(attribute, _MISSING) is not value:
            continue
        try:
            found = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        except PycodeError:
            continue
        if ("", attribute) in found:
            return list(found["", attribute])
    return None


def _docstring(app: Any, what: str, name: str, obj: object, options: Any, lines: list[str]) -> None:
    if what == "data":  # autodoc would show the docstring of the value's type (int, tuple)
        lines[:] = constant_docstring(name, obj) or []
    lines[:] = render_sections(lines)


def type_checking_imports(package: Path = PACKAGE) -> dict[tuple[str, str], str]:
    """What the library imports only for type checkers (``if TYPE_CHECKING:``): the
    importing module and name, and the object's full name."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        anchor = module if parts[-1] == "__init__" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                for statement in node.body:
                    if isinstance(statement, ast.ImportFrom):
                        source = "." * statement.level + (statement.module or "")
                        base = importlib.util.resolve_name(source, anchor)
                        for alias in statement.names:
                            name = alias.asname or alias.name
                            found[module, name] = f"{base}.{alias.name}"
    return found


_completed = False


def _complete_type_checking_imports(app: Any, obj: object, bound_method: bool) -> None:
    """Give each module the names it imports for type checkers only, once every module is
    loaded (no import cycle then), so that the signatures naming them evaluate to the classes
    rather than staying strings that cannot resolve."""
    global _completed
    if _completed:
        return
    _completed = True
    for (module, name), target in type_checking_imports().items():
        namespace = vars(importlib.import_module(module))
        if name not in namespace:
            source, _, attribute = target.rpartition(".")
            namespace[name] = getattr(importlib.import_module(source), attribute)


def field_defaults(cls: type) -> dict[str, str]:
    """The source of each dataclass field's default (``defaults.X``, ``tuple()`` for a
    ``default_factory``), base classes first."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not dataclasses.is_dataclass(klass):
            continue
        try:
            body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0]
        except (OSError, TypeError, SyntaxError):
            continue
        for statement in getattr(body, "body", ()):
            if not (isinstance(statement, ast.AnnAssign) and statement.value is not None):
                continue
            field, value = ast.unparse(statement.target), statement.value
            if isinstance(value, ast.Call) and ast.unparse(value.func).endswith("field"):
                keywords = {keyword.arg: keyword.value for keyword in value.keywords}
                if "default" in keywords:
                    found[field] = ast.unparse(keywords["default"])
                elif "default_factory" in keywords:
                    found[field] = f"{ast.unparse(keywords['default_factory'])}()"
            else:
                found[field] = ast.unparse(value)
    return found


def _class_signature(
    app: Any, what: str, name: str, obj: Any, options: Any, signature: str | None, ret: Any
) -> tuple[str | None, Any]:
    """A class's signature from its ``__init__``, with the defaults as written, where autodoc
    shows another: a construct's is jsii's metaclass ``__call__(*args, **kwargs)``, and a
    dataclass's generated ``__init__`` has no source for ``autodoc_preserve_defaults``, so
    its defaults show as reprs (``<factory>``, ``<aws_cdk.Duration object>``) that are no
    Python (Sphinx then splits the signature at every comma)."""
    if what != "class" or not signature or not inspect.isclass(obj):
        return signature, ret
    init = obj.__init__
    try:
        inspect.getsource(init)
        generated = False
    except (OSError, TypeError):
        generated = True
    if generated and dataclasses.is_dataclass(obj):
        written = field_defaults(obj)
        sig = sphinx_inspect.signature(init, bound_method=True)
        sig = sig.replace(
            parameters=[
                parameter.replace(default=DefaultValue(written[parameter.name]))
                if parameter.name in written and parameter.default is not parameter.empty
                else parameter
                for parameter in sig.parameters.values()
            ]
        )
    elif not generated and type(obj).__module__.startswith("jsii"):
        update_defvalue(app, init, True)
        sig = sphinx_inspect.signature(init, bound_method=True)
    else:
        return signature, ret
    return sphinx_inspect.stringify_signature(
        sig, show_return_annotation=False, unqualified_typehints=True
    ), ret


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-before-process-signature", _complete_type_checking_imports)
    app.connect("autodoc-process-signature", _class_signature)
    app.connect("autodoc-process-docstring", _docstring)
    return {"parallel_read_safe": True}
