"""Imports point one way: app → handlers → selfserve. The domain knows nothing of HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_DOMAIN = (
    "flask",
    "werkzeug",
    "handlers",
    "app",
    "flask_wtf",
    "flask_login",
    "flask_limiter",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "selfserve").glob("*.py")), ids=lambda p: p.name)
def test_the_domain_imports_no_web_code(path):
    assert imported_modules(path).isdisjoint(FORBIDDEN_IN_DOMAIN)


@pytest.mark.parametrize("path", sorted((ROOT / "handlers").glob("*.py")), ids=lambda p: p.name)
def test_handlers_never_import_the_app_module(path):
    assert "app" not in imported_modules(path)
