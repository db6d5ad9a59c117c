"""The docs site builds with --strict (as `make docs` does), and the README is a front door.

`make test` runs the real build here, so a broken link, a missing page or a missing snippet
fails the suite, not only `make docs`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MKDOCS = Path(sys.executable).parent / "mkdocs"
README = ROOT / "README.md"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)|<img [^>]*src=\"([^\"]+)\"")


def build(tree: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of the mkdocs.yml in `tree` into `site`."""
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site)],
        cwd=tree,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_docs_site_builds_strictly(tmp_path):
    built = build(ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "reference" / "settings" / "index.html").exists()
    dependencies = (tmp_path / "site" / "reference" / "dependencies" / "index.html").read_text()
    assert "RequestValidator" in dependencies  # the README's list, included by snippet


def test_a_broken_link_fails_the_strict_build(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "docs", tree / "docs")
    tutorial = tree / "docs" / "tutorial.md"
    tutorial.write_text(tutorial.read_text() + "\nSee [a page](no-such-page.md).\n")
    built = build(tree, tmp_path / "site")
    assert built.returncode != 0
    assert "no-such-page.md" in built.stderr


def test_the_readme_is_a_short_front_door_with_pictures_that_exist():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert "make run" in text
    assert "make test" in text
    pictures = [first or second for first, second in IMAGE.findall(text)]
    assert len(pictures) >= 4, pictures
    for picture in pictures:
        assert (ROOT / picture).is_file(), picture
