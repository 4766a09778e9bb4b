"""The API reference (``make docs``) builds from the docstrings without a warning, every public
name has its entry, and a reference to a library class that does not exist fails the build.

The build takes about ten seconds of one core: it starts as soon as the session knows it runs
``test_the_api_reference_builds_without_warnings`` (``start_build``, from conftest.py), in a
process of its own, and the test waits for it. A clean build is remembered by the content of
everything it reads (the library's sources, docs/api, the pinned Sphinx), as the linters'
findings are: the same inputs are not built twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import ecs_patterns_plus
from ecs_patterns_plus import compliance, cost, review
from tests.synth_worker import in_background

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "api"
SPHINX_OPTIONS = ("-b", "html", "-W", "--keep-going", "-n", "-q", "-E", "--no-color")
"""As ``make docs`` runs Sphinx: warnings fail, every reference must resolve, a fresh build."""
_PROBLEM = re.compile(r"^.*\b(?:WARNING|ERROR|CRITICAL|SEVERE)\b.*$", re.MULTILINE)


def sphinx_build(source: Path, output: Path) -> subprocess.Popen[str]:
    """Start Sphinx on ``source`` with the reference's configuration (docs/api/conf.py)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sphinx", *SPHINX_OPTIONS, "-c", DOCS, source, output],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=in_background,
    )


CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecs_patterns_plus" / "docs"
)
"""Clean builds, by the digest of their inputs (``inputs_digest``)."""


def inputs_digest() -> str:
    """What a build reads: the library's and docs/api's files, the pins, Sphinx's options."""
    digest = hashlib.sha256(repr(SPHINX_OPTIONS).encode())
    files = [ROOT / "requirements-dev.txt", *sorted(ROOT.glob("ecs_patterns_plus/**/*"))]
    files += sorted(DOCS.glob("**/*"))
    for file in files:
        if file.is_file() and "__pycache__" not in file.parts:
            digest.update(file.relative_to(ROOT).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


@dataclass
class _Build:
    process: subprocess.Popen[str] | None
    workdir: Path
    key: str
    output: str | None = None
    returncode: int | None = None
    documented: list[str] | None = None
    """The public names with an entry (read from the pages once the build is clean)."""

    def wait(self) -> str:
        if self.output is None and self.process is not None:
            self.output, _ = self.process.communicate(timeout=600)
            self.returncode = self.process.returncode
            if self.returncode == 0 and not problems(self.output):
                self.documented = documented(self.workdir / "html")
                CACHE.mkdir(parents=True, exist_ok=True)
                (CACHE / f"{self.key}.json").write_text(
                    json.dumps({"output": self.output, "documented": self.documented})
                )
        return self.output or ""


def public_names() -> list[str]:
    return [
        f"{package.__name__}.{name}"
        for package in (ecs_patterns_plus, compliance, cost, review)
        for name in package.__all__
    ]


def documented(html: Path) -> list[str]:
    """The public names that have a page, or an entry on their package's page."""
    found = []
    for qualified in public_names():
        package = qualified.rsplit(".", 1)[0]
        page = html / "generated" / f"{package}.html"
        if (html / "generated" / f"{qualified}.html").exists() or (
            page.exists() and f'id="{qualified}"' in page.read_text()
        ):
            found.append(qualified)
    return found


_BUILD: list[_Build] = []
"""The reference's build, once started (``start_build``)."""


def start_build() -> None:
    """Build the reference in the background, from a copy of docs/api (Sphinx writes the
    per-name pages into its source directory) into a new directory."""
    if _BUILD:
        return
    key = inputs_digest()
    workdir = Path(tempfile.mkdtemp(prefix="ecs-patterns-plus-docs-"))
    cached = CACHE / f"{key}.json"
    if cached.exists():
        data = json.loads(cached.read_text())
        _BUILD.append(_Build(None, workdir, key, data["output"], 0, data["documented"]))
        return
    shutil.copytree(DOCS, workdir / "source", ignore=shutil.ignore_patterns("__pycache__"))
    _BUILD.append(_Build(sphinx_build(workdir / "source", workdir / "html"), workdir, key))


def stop_build() -> None:
    """End the build if no test waited for it (an interrupted session); remove what it wrote."""
    for build in _BUILD:
        if build.process is not None and build.process.poll() is None:
            build.process.kill()
        build.wait()
        shutil.rmtree(build.workdir, ignore_errors=True)
    _BUILD.clear()


def problems(output: str) -> list[str]:
    return _PROBLEM.findall(output)


def test_the_api_reference_builds_without_warnings() -> None:
    start_build()  # already under way when conftest.py started it
    build = _BUILD[0]
    output = build.wait()
    assert build.returncode == 0 and not problems(output), (
        f"sphinx-build exited {build.returncode}:\n{output[-6000:]}"
    )
    missing = sorted(set(public_names()) - set(build.documented or ()))
    assert not missing, f"public names without an entry in the API reference: {missing}"


def test_a_reference_to_a_missing_library_class_fails_the_build(tmp_path: Path) -> None:
    """The same configuration on one page: the library's own names must resolve, while the
    external packages it may not link (``aws_cdk``) are ignored, and only those."""
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "index.rst").write_text(
        "Check\n=====\n\n"
        "A :class:`aws_cdk.Stack` holds a :class:`ecs_patterns_plus.HardenedTaskService`.\n"
    )
    process = sphinx_build(tmp_path / "source", tmp_path / "html")
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0, output
    assert problems(output) == [
        f"{tmp_path / 'source' / 'index.rst'}:4: WARNING: py:class reference target not found: "
        "ecs_patterns_plus.HardenedTaskService [ref.class]"
    ], output
