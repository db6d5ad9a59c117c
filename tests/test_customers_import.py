"""`customers import`: numbers in any form become E.164; a report of what happened."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from selfserve.models import Customer


def directory(app) -> dict[str, tuple]:
    with app.extensions["selfserve"].sessions() as db:
        return {
            c.phone_e164: (c.customer_id, c.first_name, c.birthday)
            for c in db.scalars(select(Customer))
        }


def test_numbers_in_any_form_are_normalised_and_bad_rows_reported(app, runner, tmp_path):
    csv = tmp_path / "customers.csv"
    csv.write_text(
        "phone,customer_id,first_name,birthday\n"
        "0491 570 156,C-1,Alex,1990-02-03\n"
        "+61 491 570 157,C-2,,\n"
        "(04) 9157-0158,C-3,Sam,2000-02-29\n"
        "not a number,C-4,,\n"
        "0491570159,,Kim,\n"
        "0491570160,C-6,,1990-13-01\n"
        "0491570156,C-7,,\n"
        "0491570161,C-2,,\n"
    )
    result = runner.invoke(args=["customers", "import", str(csv)])
    assert result.exit_code == 0, result.output
    assert "3 imported, 0 updated, 0 unchanged, 5 rejected" in result.output
    for expected in [
        "line 5: phone is not a valid number",
        "line 6: customer_id is empty",
        "line 7: birthday must be YYYY-MM-DD",
        "line 8: phone repeats line 2",
        "line 9: customer_id repeats line 3",
    ]:
        assert expected in result.output
    assert directory(app) == {
        "+61491570156": ("C-1", "Alex", date(1990, 2, 3)),
        "+61491570157": ("C-2", None, None),
        "+61491570158": ("C-3", "Sam", date(2000, 2, 29)),
    }


def test_re_importing_updates_changed_rows_and_counts_unchanged_ones(app, runner, tmp_path):
    csv = tmp_path / "customers.csv"
    csv.write_text("phone,customer_id,first_name\n0491570156,C-1,Alex\n0491570157,C-2,Bo\n")
    runner.invoke(args=["customers", "import", str(csv)])
    csv.write_text("phone,customer_id,first_name\n0491570156,C-1,Alexandra\n0491570157,C-2,Bo\n")
    result = runner.invoke(args=["customers", "import", str(csv)])
    assert "0 imported, 1 updated, 1 unchanged, 0 rejected" in result.output
    assert directory(app)["+61491570156"][1] == "Alexandra"


def test_a_customer_id_taken_by_another_number_is_rejected(app, runner, tmp_path):
    csv = tmp_path / "customers.csv"
    csv.write_text("phone,customer_id\n0491570156,C-1\n")
    runner.invoke(args=["customers", "import", str(csv)])
    csv.write_text("phone,customer_id\n0491570157,C-1\n")
    result = runner.invoke(args=["customers", "import", str(csv)])
    assert "line 2: customer_id already belongs to another number" in result.output
    assert list(directory(app)) == ["+61491570156"]


def test_a_file_without_the_required_columns_is_a_clear_error(runner, tmp_path):
    csv = tmp_path / "customers.csv"
    csv.write_text("mobile,id\n0491570156,C-1\n")
    result = runner.invoke(args=["customers", "import", str(csv)])
    assert result.exit_code != 0
    assert "missing column(s): phone, customer_id" in result.output
    assert "Traceback" not in result.output


def test_an_empty_file_is_a_clear_error(runner, tmp_path):
    csv = tmp_path / "customers.csv"
    csv.write_text("")
    result = runner.invoke(args=["customers", "import", str(csv)])
    assert result.exit_code != 0
    assert "empty" in result.output
