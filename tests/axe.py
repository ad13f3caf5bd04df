"""axe-core from the npm registry, fetched once into .cache/ (git-ignored) with `npm pack`.

Outside CI a missing npm or registry skips the accessibility checks with a printed reason;
in CI it fails, so the checks always run there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

AXE_VERSION = "4.14.1"
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "npm"
SCRIPT = CACHE / f"axe-core-{AXE_VERSION}.min.js"
# Rules for WCAG 2.0/2.1/2.2 A and AA, which the widget and the form page must pass.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"axe-core is needed in CI: {reason}")
    print(f"\nskipping accessibility check: {reason}")
    pytest.skip(reason)


def axe_source() -> str:
    if SCRIPT.exists():
        return SCRIPT.read_text(encoding="utf-8")
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed (apt-get install npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"axe-core-{AXE_VERSION}.tgz"
    if not tarball.exists():
        try:
            subprocess.run(
                [str(npm), "pack", f"axe-core@{AXE_VERSION}", "--silent"],
                cwd=CACHE,
                check=True,
                capture_output=True,
                timeout=180,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            _unavailable(f"npm pack axe-core@{AXE_VERSION} failed: {exc}")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        SCRIPT.write_bytes(member.read())
    return SCRIPT.read_text(encoding="utf-8")


def violations(target: Any) -> list[dict[str, Any]]:
    """Run axe in a page or frame (injected through the debugger, so CSPs do not stop it)."""
    if not target.evaluate("typeof window.axe !== 'undefined'"):
        target.evaluate(axe_source())
    found = target.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, iframes: false})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))})))",
        TAGS,
    )
    return list(found)
