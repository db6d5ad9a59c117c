"""Where posters hang: the `src,label` CSV that asks for one poster per location."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from selfserve.console.poster_payloads import PosterError, PosterLocation, check_src


def read_locations(path: Path) -> list[PosterLocation]:
    """Read a UTF-8 CSV with the columns `src,label` (any order, extra columns ignored).

    Raises PosterError naming the file and line for a missing file, a missing column, no rows,
    an empty, malformed or repeated src, or a row with more fields than the header.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise PosterError(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from error
    except OSError as error:
        raise PosterError(f"cannot read {path}: {error.strerror or error}") from error
    if not text.strip():
        raise PosterError(f"{path}: the file is empty; expected a header 'src,label' and rows")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise PosterError(f"{path} line {reader.line_num}: {error}") from error
    return _parse_locations(path, header, rows)


def _parse_locations(
    path: Path, header: list[str], rows: list[tuple[int, list[str]]]
) -> list[PosterLocation]:
    missing = [name for name in ("src", "label") if name not in header]
    if missing:
        raise PosterError(
            f"{path} line 1: missing column {', '.join(repr(name) for name in missing)}"
            f" (header must include 'src,label', got {','.join(header)!r})"
        )
    src_at, label_at = header.index("src"), header.index("label")
    locations: list[PosterLocation] = []
    first_line_of: dict[str, int] = {}
    # Line numbers are the reader's physical lines, so a quoted label spanning lines still
    # points the marketer at the right place.
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise PosterError(
                f"{path} line {line}: {len(row)} fields but the header has {len(header)}"
                " (put labels containing commas in double quotes)"
            )
        src = row[src_at].strip() if src_at < len(row) else ""
        label = row[label_at].strip() if label_at < len(row) else ""
        if not src:
            raise PosterError(f"{path} line {line}: src is empty")
        try:
            check_src(src)
        except PosterError as error:
            raise PosterError(f"{path} line {line}: {error}") from None
        if src in first_line_of:
            raise PosterError(
                f"{path} line {line}: src {src!r} repeats line {first_line_of[src]}"
                " (each poster needs its own src)"
            )
        first_line_of[src] = line
        locations.append(PosterLocation(src, label))
    if not locations:
        raise PosterError(f"{path}: no locations under the header 'src,label'")
    return locations
