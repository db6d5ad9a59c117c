"""The shape of the code, checked on every file under selfserve/ and handlers/, however deep.

Imports point one way (app → handlers → selfserve), and the domain knows nothing of HTTP;
`lint-imports` (run by `make lint`) checks the layers between packages and finds circles.
These tests keep the sizes a newcomer can read: a module fits 400 lines, a function 50. The
sizes hold for tests/, bench/ and scripts/ too (scripts without `.py` that are Python count),
and no Python file anywhere in the repository (migrations, app.py) passes 400 lines or holds
a function over 50.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = sorted((ROOT / "selfserve").rglob("*.py"))
HANDLERS = sorted((ROOT / "handlers").rglob("*.py"))
NOT_OURS = {".git", "node_modules", "site", "build", "dist", "test-artifacts", "instance"}


def is_python(path: Path) -> bool:
    """A .py file, or a script without the extension whose first line runs Python."""
    if path.suffix == ".py":
        return True
    if path.suffix or not path.is_file():
        return False
    with path.open("rb") as script:
        first_line = script.readline(200)
    return first_line.startswith(b"#!") and b"python" in first_line


def python_files(folder: Path) -> list[Path]:
    """Every Python file under `folder`, leaving out virtualenvs, caches and generated folders."""
    found = []
    for path in folder.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if any(part in NOT_OURS or part.startswith(".") for part in parts[:-1]):
            continue
        if "__pycache__" not in parts and path.is_file() and is_python(path):
            found.append(path)
    return sorted(found)


TOOLING = [path for name in ("tests", "bench", "scripts") for path in python_files(ROOT / name)]
EVERY_PYTHON_FILE = python_files(ROOT)
FORBIDDEN_IN_DOMAIN = (
    "flask",
    "werkzeug",
    "handlers",
    "app",
    "flask_wtf",
    "flask_login",
    "flask_limiter",
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
MAX_TOP_LEVEL_MODULES = 4  # selfserve/*.py besides __init__.py: the shared kernel only


def imported_modules(path: Path) -> set[str]:
    """The top-level names of every module `path` imports (at any depth in the file)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def long_functions(path: Path) -> list[str]:
    """Functions and methods (nested ones too) longer than MAX_FUNCTION_LINES."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{node.name} (line {node.lineno}): {length} lines")
    return found


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_walk_finds_the_packages():
    # A glob that stopped at selfserve/*.py would check four files and pass.
    assert any(path.parent.name == "coupons" for path in DOMAIN)
    assert len(DOMAIN) > 40


@pytest.mark.parametrize("path", DOMAIN, ids=relative)
def test_the_domain_imports_no_web_code(path):
    assert imported_modules(path).isdisjoint(FORBIDDEN_IN_DOMAIN)


@pytest.mark.parametrize("path", HANDLERS, ids=relative)
def test_handlers_never_import_the_app_module(path):
    assert "app" not in imported_modules(path)


@pytest.mark.parametrize("path", HANDLERS, ids=relative)
def test_handlers_never_import_sqlalchemy(path):
    assert "sqlalchemy" not in imported_modules(path)


def test_the_walks_find_the_tooling_and_the_extensionless_scripts():
    # A walk that missed scripts/security-scan or the test packages would pass vacuously.
    names = {relative(path) for path in TOOLING}
    assert {"scripts/security-scan", "scripts/screenshots", "bench/run.py"} <= names
    assert "tests/landing_pages/test_checking_the_code.py" in names
    assert "scripts/test-services" not in names  # a shell script
    assert "migrations/env.py" in {relative(path) for path in EVERY_PYTHON_FILE}
    assert not any(".venv" in relative(path) for path in EVERY_PYTHON_FILE)


@pytest.mark.parametrize("path", EVERY_PYTHON_FILE, ids=relative)
def test_modules_fit_400_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("path", EVERY_PYTHON_FILE, ids=relative)
def test_functions_fit_50_lines(path):
    assert long_functions(path) == []


def test_selfserve_has_packages_not_a_flat_list_of_modules():
    top_level = [p.name for p in (ROOT / "selfserve").glob("*.py") if p.name != "__init__.py"]
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level


@pytest.mark.parametrize(
    "package",
    sorted(p.parent for p in (ROOT / "selfserve").glob("*/__init__.py")),
    ids=lambda p: p.name,
)
def test_each_package_says_what_it_owns_and_may_import(package):
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    assert len(docstring.split()) >= 25, f"{package.name}/__init__.py needs a real docstring"
    assert "import" in docstring, f"{package.name}/__init__.py: say what it may import"


def test_lint_imports_fails_when_a_circle_is_added(tmp_path):
    """The import contracts catch a circle: a copy of the tree with one upward import."""
    import shutil
    import subprocess

    copy = tmp_path / "tree"
    shutil.copytree(ROOT / "selfserve", copy / "selfserve")
    shutil.copytree(ROOT / "handlers", copy / "handlers")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    lint = Path(sys.executable).parent / "lint-imports"
    kept = subprocess.run([lint], cwd=copy, capture_output=True, text=True, check=False)
    assert kept.returncode == 0, kept.stdout
    phones = copy / "selfserve" / "customers" / "phones.py"
    phones.write_text(phones.read_text() + "\nfrom selfserve.texts import answerer  # noqa\n")
    broken = subprocess.run([lint], cwd=copy, capture_output=True, text=True, check=False)
    assert broken.returncode != 0
    assert "selfserve.customers is not allowed to import selfserve.texts" in broken.stdout
