"""Migrations read in order: file names, revision ids and the chain agree.

What the rule expects of migrations/versions/ (and what a new revision must do):
- files are `00NN_<what>.py`, numbered 0001, 0002, … with no gap and no number twice;
- the revision id starts with the file's number (`revision = '00NN_<what>'`);
- each file revises the file before it in name order (`down_revision` = that file's revision;
  0001 revises nothing), so the chain runs in file-name order and has one head.
A revision written on top of the pre-baseline head '0016_deferred_by_customer' must be
renumbered after the last file here and rechained onto it (`flask --app app db revision -m`
numbers a new one this way by itself).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from selfserve.ops import migrate

VERSIONS = migrate.MIGRATIONS / "versions"
ROOT = migrate.MIGRATIONS.parent
_NUMBERED = re.compile(r"^(\d{4})_\w+\.py$")


def _assigned(path: Path, name: str) -> object:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path.name} assigns no {name}")


def chain_problems(folder: Path) -> list[str]:
    """Every way the revision files in `folder` break the order rule (empty: in order)."""
    problems: list[str] = []
    before: tuple[str, object] = ("(nothing)", None)
    for place, path in enumerate(sorted(folder.glob("*.py")), start=1):
        number = _NUMBERED.match(path.name)
        if number is None or int(number.group(1)) != place:
            problems.append(f"{path.name}: is file {place} in name order, so must be {place:04d}_…")
        revision = _assigned(path, "revision")
        if number is not None and not str(revision).startswith(f"{number.group(1)}_"):
            problems.append(f"{path.name}: revision {revision!r} must start with its file's number")
        down_revision = _assigned(path, "down_revision")
        if down_revision != before[1]:
            problems.append(
                f"{path.name}: revises {down_revision!r}, but the file before it is {before[0]}"
                f" (revision {before[1]!r}): rechain it onto that one"
            )
        before = (path.name, revision)
    return problems


def test_the_revisions_are_numbered_and_chained_in_file_name_order():
    assert chain_problems(VERSIONS) == []
    assert (VERSIONS / "0001_baseline.py").exists()


def _write(folder: Path, name: str, revision: str, down_revision: str | None) -> None:
    (folder / name).write_text(f"revision = {revision!r}\ndown_revision = {down_revision!r}\n")


def test_a_revision_still_on_the_old_head_is_named(tmp_path):
    _write(tmp_path, "0001_baseline.py", "0001_baseline", None)
    _write(tmp_path, "0002_spool.py", "0002_spool", "0016_deferred_by_customer")

    assert chain_problems(tmp_path) == [
        "0002_spool.py: revises '0016_deferred_by_customer', but the file before it is"
        " 0001_baseline.py (revision '0001_baseline'): rechain it onto that one"
    ]


def test_numbers_out_of_place_and_ids_that_disagree_are_named(tmp_path):
    _write(tmp_path, "0001_core.py", "0001_core", None)
    _write(tmp_path, "0003_queue.py", "0003_queue", "0001_core")
    _write(tmp_path, "0004_warm.py", "0012_warm", "0003_queue")

    assert chain_problems(tmp_path) == [
        "0003_queue.py: is file 2 in name order, so must be 0002_…",
        "0004_warm.py: is file 3 in name order, so must be 0003_…",
        "0004_warm.py: revision '0012_warm' must start with its file's number",
    ]


def test_alembic_history_at_the_top_lists_the_revisions_in_file_name_order():
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "alembic"), "history"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    newest_first = re.findall(r"-> (\w+)", listed)
    files = [str(_assigned(path, "revision")) for path in sorted(VERSIONS.glob("*.py"))]
    assert list(reversed(newest_first)) == files
    assert list(migrate.known_revisions()) == files  # `flask --app app db history`, oldest first


def test_a_new_revision_gets_the_next_number_and_the_message_as_its_name():
    following = len(list(VERSIONS.glob("*.py"))) + 1
    assert migrate.next_revision_id("Spool: texts kept while the DB is down!") == (
        f"{following:04d}_spool_texts_kept_while_the_db_is_down"
    )
