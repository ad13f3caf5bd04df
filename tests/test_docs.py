"""The documentation keeps up with the code: settings, environment, links, a short README."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from widget_server.core import settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
CONFIGURATION = DOCS / "configuration.md"

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def _prose(page: Path) -> str:
    """The page without its code blocks, where neither links nor headings count."""
    return FENCE.sub("", page.read_text())


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found: set[str] = set()
    for heading in HEADING.findall(_prose(page)):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def _section(text: str, start: str, end: str | None = None) -> str:
    body = text.split(f"\n{start}\n", 1)[1]
    return body.split(f"\n{end}\n", 1)[0] if end else body


def _rows(text: str) -> list[list[str]]:
    """The body rows of every Markdown table in `text`, as lists of cells."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] in ("name", "") or set(cells[0]) <= set("-: "):
            continue
        rows.append(cells)
    return rows


def _documented_settings() -> dict[str, str]:
    """Each setting named in configuration.md's settings tables, with its default cell."""
    text = _section(CONFIGURATION.read_text(), "## Settings", "## Environment only")
    found: dict[str, str] = {}
    for cells in _rows(text):
        for name in NAME.findall(cells[0]):
            assert name not in found, f"{name} is documented twice"
            found[name] = cells[1]
    return found


def _environment_read_by_code() -> set[str]:
    """Names the package reads straight from os.environ (os.environ.get, [...], getenv)."""
    names: set[str] = set()
    for path in (ROOT / "widget_server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args:
                dotted = ast.unparse(node.func)
                if dotted in ("os.environ.get", "os.getenv", "environ.get", "getenv"):
                    key = node.args[0]
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in (
                "os.environ",
                "environ",
            ):
                key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
    return names


def _literal(cell: str) -> Any:
    """The default a cell shows first: `5` is 5, `false` False, `[]` a list, else the text."""
    match = re.match(r"`([^`]*)`", cell)
    assert match, f"the default {cell!r} does not start with a `value`"
    try:
        return json.loads(match.group(1))
    except ValueError:
        return match.group(1)


# The README ---------------------------------------------------------------------------------


def test_the_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"


def test_the_readme_keeps_the_quick_start() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "\nmake run " in readme and "\nmake test " in readme


# Links --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_points_at_something_that_exists(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no such heading")
    assert broken == []


# The configuration reference ----------------------------------------------------------------


def test_every_setting_is_documented_and_nothing_else() -> None:
    documented = set(_documented_settings())
    assert sorted(set(settings.DEFAULTS) - documented) == [], "missing from configuration.md"
    assert sorted(documented - set(settings.DEFAULTS)) == [], "not a setting any more"


def test_the_documented_defaults_are_the_code_defaults() -> None:
    wrong = {}
    for name, cell in _documented_settings().items():
        default = settings.DEFAULTS.get(name)
        if default is None:  # derived at start-up (or unset): the cell says from what
            continue
        shown = _literal(cell)
        if shown != default or isinstance(shown, bool) != isinstance(default, bool):
            wrong[name] = (cell, default)
    assert wrong == {}


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    text = _section(CONFIGURATION.read_text(), "## Environment only")
    documented = {name for cells in _rows(text) for name in NAME.findall(cells[0])}
    assert documented == _environment_read_by_code()
