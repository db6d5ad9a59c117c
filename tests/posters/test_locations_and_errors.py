"""One poster per location from a CSV file, and every mistake as one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfserve.console import (
    PosterCampaign,
    PosterLocation,
    read_locations,
    write_posters,
)
from tests.posters.conftest import (
    BASE_URL,
    SPRING,
    assert_one_line_error,
    decode,
    pdf_text,
    printed_paths,
    rasterise_pdf,
    run_make,
)


def test_a_locations_file_gives_one_poster_per_row_tracking_its_own_src(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    rows = [
        "src,label",
        "bondi,Bondi Beach",
        'pitt-st,"Shop 12, Pitt Street Mall"',
        "airport_t2,Airport T2",
    ]
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_make(out, "--locations", str(csv_path), fmt="pdf")
    assert result.exit_code == 0, result.output
    expected = {
        "bondi": "Bondi Beach",
        "pitt-st": "Shop 12, Pitt Street Mall",
        "airport_t2": "Airport T2",
    }
    assert printed_paths(result) == [out / f"spring-web-{src}.pdf" for src in expected]
    assert sorted(out.iterdir()) == sorted(printed_paths(result))
    for src, label in expected.items():
        path = out / f"spring-web-{src}.pdf"
        assert decode(rasterise_pdf(path)) == [f"https://selfserve.example.com/q/spring?src={src}"]
        assert label in pdf_text(path)
    assert "Rendering 3 posters" in result.stderr  # the progress bar, kept off stdout


def test_locations_read_an_excel_style_csv(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_bytes("\ufeffLabel,SRC,notes\r\nCafé Nord, cafe-nord ,x\r\n\r\n".encode())
    assert read_locations(csv_path) == [PosterLocation("cafe-nord", "Café Nord")]


def test_write_posters_reports_progress_once_per_poster(tmp_path: Path) -> None:
    steps: list[int] = []
    locations = [PosterLocation("a", "A"), PosterLocation("b", "B")]
    paths = write_posters(
        SPRING, "sms", "svg", tmp_path, BASE_URL, locations=locations, progress=steps.append
    )
    assert paths == [tmp_path / "spring-sms-a.svg", tmp_path / "spring-sms-b.svg"]
    assert steps == [1, 1]


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("", ["is empty"]),
        ("src,label\n", ["no locations"]),
        ("where,label\nbondi,Bondi\n", ["line 1", "missing column 'src'"]),
        ("src\nbondi\n", ["line 1", "missing column 'label'"]),
        ("src,label\nbondi,Bondi\n,Nowhere\n", ["line 3", "src is empty"]),
        ("src,label\nbondi,Bondi\n../etc,Escape\n", ["line 3", "src '../etc'"]),
        ("src,label\nbondi,Bondi\nbondi beach,Beach\n", ["line 3", "src 'bondi beach'"]),
        ("src,label\nbondi,Bondi\nmanly,Manly\nbondi,Again\n", ["line 4", "repeats line 2"]),
        ("src,label\nbondi,Shop 12, Pitt St\n", ["line 2", "double quotes"]),
    ],
)
def test_a_bad_locations_file_is_one_clear_line_and_writes_nothing(
    tmp_path: Path, content: str, fragments: list[str]
) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = run_make(out, "--locations", str(csv_path))
    assert_one_line_error(result, *fragments)
    assert not out.exists()


def test_a_label_too_long_to_print_names_its_src(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_text(f"src,label\nbondi,Bondi\nmanly,{'Manly ' * 80}\n", encoding="utf-8")
    result = run_make(tmp_path / "out", "--locations", str(csv_path))
    assert_one_line_error(result, "src 'manly'", "location label is too long")


def test_a_locations_file_that_is_not_utf8_is_one_clear_line(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_bytes("src,label\ncafe,Café\n".encode("cp1252"))
    result = run_make(tmp_path / "out", "--locations", str(csv_path))
    assert_one_line_error(result, "not UTF-8")


def test_a_missing_locations_file_is_one_clear_line(tmp_path: Path) -> None:
    result = run_make(tmp_path, "--locations", str(tmp_path / "nope.csv"))
    assert_one_line_error(result, "cannot read", "nope.csv")


def test_an_unknown_campaign_is_one_clear_line(tmp_path: Path) -> None:
    result = run_make(tmp_path / "out", slug="autumn", fmt="pdf")
    assert_one_line_error(result, "no campaign with slug 'autumn'")
    assert not (tmp_path / "out").exists()


def test_an_unwritable_folder_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    # A folder inside a regular file cannot be made, even by root (chmod would not stop root).
    result = run_make(blocker / "posters", fmt="pdf")
    assert_one_line_error(result, "cannot write to", "a-file")


def test_an_out_path_that_is_a_file_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = run_make(blocker, mode="sms", fmt="svg")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_an_sms_poster_without_a_number_says_which_setting_to_set(tmp_path: Path) -> None:
    result = run_make(tmp_path, slug="comp", mode="sms")
    assert_one_line_error(result, "set TWILIO_FROM_NUMBER or the campaign's sms_number")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("campaign", "fragment"),
    [
        (PosterCampaign("x", "X", "X", "+61480000000", brand_colour="green"), "brand colour"),
        (PosterCampaign("x", "Spring " * 60, "X", "+61480000000"), "too long"),
        (PosterCampaign("x", "Spring", "X", "+61480000000", offer="Save " * 200), "too long"),
        (PosterCampaign("../x", "Spring", "X", "+61480000000"), "campaign slug"),
    ],
)
def test_a_campaign_that_cannot_make_a_poster_is_one_clear_line(
    tmp_path: Path, campaign: PosterCampaign, fragment: str
) -> None:
    result = run_make(tmp_path, slug="x", fmt="pdf", campaigns={"x": campaign})
    assert_one_line_error(result, fragment)
    assert list(tmp_path.iterdir()) == []


def test_src_and_locations_together_are_a_usage_error(tmp_path: Path) -> None:
    csv_path = tmp_path / "locations.csv"
    csv_path.write_text("src,label\nbondi,Bondi\n", encoding="utf-8")
    result = run_make(tmp_path, "--src", "x", "--locations", str(csv_path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "not both" in result.output
