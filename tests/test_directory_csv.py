"""Directory CSV files: the parser on its own, then `laurel directory import` end to end."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from adapters.directory.csv_source import CsvUnreadable, read_csv
from bot.bootstrap import bootstrap
from bot.cli import main
from bot.settings import Settings
from core.commands import ListPeople
from core.directory import DirectoryRecord, RowProblem
from core.messages import MsgId, text
from core.people import Person


def write(tmp_path: Path, content: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def problems(rows: list[RowProblem]) -> list[tuple[int, str, MsgId]]:
    return [(p.row, p.email, p.problem.key) for p in rows]


# --- the parser -------------------------------------------------------------------------


def test_every_column_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,name,manager_email,department,hire_date,birthday,birthday_consent,"
        "timezone,employee_id,employee_number,active\n"
        "ana@acme.test,Ana Lima,,Engineering,2020-01-02,1990-03-04,yes,"
        "Europe/Lisbon,E1,0001,yes\n"
        "bo@acme.test,Bo Ek,ana@acme.test,Engineering,2021-05-06,12-24,TRUE,,E2,0002,0\n",
    )
    parsed = read_csv(path)
    assert parsed.problems == []
    assert parsed.records == [
        DirectoryRecord(
            email="ana@acme.test",
            display_name="Ana Lima",
            external_id="E1",
            employee_number="0001",
            department="Engineering",
            hire_date=date(2020, 1, 2),
            birthday="03-04",  # the year is not kept
            tz="Europe/Lisbon",
            active=True,
            row=2,
        ),
        DirectoryRecord(
            email="bo@acme.test",
            display_name="Bo Ek",
            external_id="E2",
            employee_number="0002",
            manager_email="ana@acme.test",
            department="Engineering",
            hire_date=date(2021, 5, 6),
            birthday="12-24",
            active=False,
            row=3,
        ),
    ]


def test_header_is_case_insensitive_unknown_columns_are_ignored_and_names_can_be_split(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "Employee-ID, EMAIL ,First Name,Last Name,Shoe Size\nE7,cy@acme.test,Cy,Ng,44\n",
    )
    [record] = read_csv(path).records
    assert (record.email, record.display_name, record.external_id) == (
        "cy@acme.test",
        "Cy Ng",
        "E7",
    )
    assert record.active and record.birthday is None and record.department is None


def test_bom_semicolons_and_blank_lines_keep_file_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    content = (
        "email;name;department\r\n\r\nana@acme.test;Ana;R&D, Lab\r\n  \r\nbo@acme.test;Bo;\r\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))
    parsed = read_csv(path)
    assert [(r.row, r.email, r.department) for r in parsed.records] == [
        (3, "ana@acme.test", "R&D, Lab"),
        (5, "bo@acme.test", None),
    ]


def test_tabs_and_a_quoted_cell_over_two_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'email\tname\tdepartment\nana@acme.test\tAna\t"Sales\nEMEA"\nbo@acme.test\t\t\n'
    )
    parsed = read_csv(path)
    assert [(r.row, r.department) for r in parsed.records] == [(2, "Sales\nEMEA")]
    assert problems(parsed.problems) == [(4, "bo@acme.test", MsgId.DIRECTORY_NO_NAME)]


def test_a_birthday_without_consent_is_dropped_unread(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,name,birthday,birthday_consent\n"
        "a@acme.test,A,03-04,\n"  # no consent: dropped
        "b@acme.test,B,not a date,no\n"  # not even parsed, so not reported either
        "c@acme.test,C,2000-02-29,1\n"
        "d@acme.test,D,02-30,yes\n"  # consent, but no such day
        "e@acme.test,E,03-04,maybe\n",  # consent unclear: the row is left out
    )
    parsed = read_csv(path)
    assert [(r.email, r.birthday) for r in parsed.records] == [
        ("a@acme.test", None),
        ("b@acme.test", None),
        ("c@acme.test", "02-29"),
    ]
    assert [(p.row, p.problem) for p in parsed.problems] == [
        (5, text(MsgId.DIRECTORY_BAD_FIELD, field="birthday", value="02-30")),
        (6, text(MsgId.DIRECTORY_BAD_FIELD, field="birthday_consent", value="maybe")),
    ]


def test_a_birthday_file_without_a_consent_column_keeps_no_birthdays(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name,birthday\na@acme.test,A,03-04\n")
    assert read_csv(path).records[0].birthday is None


def test_bad_rows_are_reported_with_their_line_and_left_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,name,hire_date,active\n"
        "ok@acme.test,Ok,2020-01-01,\n"
        "date@acme.test,D,2020-02-30,\n"
        "\n"
        "slash@acme.test,S,02/03/2020,\n"
        "bool@acme.test,B,,sometimes\n"
        "both@acme.test,,20200101,\n",
    )
    parsed = read_csv(path)
    assert [r.email for r in parsed.records] == ["ok@acme.test"]
    assert [(p.row, p.email, p.problem) for p in parsed.problems] == [
        (
            3,
            "date@acme.test",
            text(MsgId.DIRECTORY_BAD_FIELD, field="hire_date", value="2020-02-30"),
        ),
        (
            5,
            "slash@acme.test",
            text(MsgId.DIRECTORY_BAD_FIELD, field="hire_date", value="02/03/2020"),
        ),
        (6, "bool@acme.test", text(MsgId.DIRECTORY_BAD_FIELD, field="active", value="sometimes")),
        (7, "both@acme.test", text(MsgId.DIRECTORY_NO_NAME)),
        (7, "both@acme.test", text(MsgId.DIRECTORY_BAD_FIELD, field="hire_date", value="20200101")),
    ]


def test_e_mail_and_time_zone_are_left_to_the_core(tmp_path: Path) -> None:
    """One set of rules for every source: the core checks these in SyncDirectory."""
    path = write(tmp_path, "email,name,timezone\nnot-an-email,N,Mars/Olympus\n")
    [record] = read_csv(path).records
    assert (record.email, record.tz) == ("not-an-email", "Mars/Olympus")


@pytest.mark.parametrize(
    "header",
    ["name,department", "email,department", "email,first_name", "", "\n\n"],
)
def test_a_header_without_required_columns_is_one_problem_and_no_records(
    tmp_path: Path, header: str
) -> None:
    path = write(tmp_path, header + "\nana@acme.test,Ana\n" if header.strip() else header)
    parsed = read_csv(path)
    assert parsed.records == []
    [problem] = parsed.problems
    assert (problem.row, problem.email, problem.problem.key) == (1, "", MsgId.DIRECTORY_BAD_FIELD)
    assert problem.problem.params["field"] == "header"


def test_unreadable_files_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CsvUnreadable, match=r"missing\.csv: no such file"):
        read_csv(tmp_path / "missing.csv")
    with pytest.raises(CsvUnreadable, match="is a folder"):
        read_csv(tmp_path)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("email,name\nzoe@acme.test,Zoë\n".encode("latin-1"))
    with pytest.raises(CsvUnreadable, match=r"latin1\.csv: line 2 is not UTF-8"):
        read_csv(latin)


# --- laurel directory import ------------------------------------------------------------

PEOPLE = (
    "email,name,manager_email,department,birthday,birthday_consent\n"
    "ana@acme.test,Ana Lima,,Engineering,1990-03-04,yes\n"
    "bo@acme.test,Bo Ek,ana@acme.test,Engineering,,\n"
    "cy@acme.test,Cy Ng,ana@acme.test,Sales,05-06,no\n"
)
COUNT = re.compile(r"^\s*(created|updated|deactivated|reactivated|unchanged|problems)\s+(\d+)\s*$")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    for name in ("LAUREL_LOCALE", "LAUREL_AUTO_MIGRATE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return f"sqlite+aiosqlite:///{tmp_path}/laurel.db"


def laurel_import(database: str, path: Path, *options: str) -> Result:
    return CliRunner().invoke(
        main,
        ["directory", "import", str(path), *options],
        env={"DATABASE_URL": database, "COLUMNS": "200"},
    )


def counts(done: Result) -> dict[str, int]:
    found = (COUNT.match(line) for line in done.stdout.splitlines())
    return {m.group(1): int(m.group(2)) for m in found if m}


def table(done: Result) -> list[list[str]]:
    """The rows of the problems table (row, email, problem)."""
    lines = (line.strip("│ ").split("│") for line in done.stdout.splitlines() if "│" in line)
    return [[cell.strip() for cell in cells] for cells in lines]


def tally(**changed: int) -> dict[str, int]:
    zero = dict.fromkeys(
        ("created", "updated", "deactivated", "reactivated", "unchanged", "problems"), 0
    )
    return {**zero, **changed}


def people(database: str) -> dict[str, Person]:
    async def listed() -> dict[str, Person]:
        app = await bootstrap(Settings(DATABASE_URL=database), migrate_db=False)
        try:
            page = await app.bus.handle(ListPeople(limit=1000))
        finally:
            await app.close()
        return {p.email: p for p in page.people}

    return asyncio.run(listed())


def test_import_creates_people_and_a_second_import_changes_nothing(
    database: str, tmp_path: Path
) -> None:
    path = write(tmp_path, PEOPLE)
    first = laurel_import(database, path)
    assert first.exit_code == 0, first.output
    assert counts(first) == tally(created=3)
    found = people(database)
    assert set(found) == {"ana@acme.test", "bo@acme.test", "cy@acme.test"}
    ana, bo, cy = found["ana@acme.test"], found["bo@acme.test"], found["cy@acme.test"]
    assert bo.manager_id == cy.manager_id == ana.id and ana.manager_id is None
    assert (ana.birthday, cy.birthday) == ("03-04", None)
    assert {p.source for p in found.values()} == {"csv"}

    again = laurel_import(database, path)
    assert again.exit_code == 0, again.output
    assert counts(again) == tally(unchanged=3)
    assert people(database) == found


def test_a_changed_manager_alone_is_an_update(database: str, tmp_path: Path) -> None:
    laurel_import(database, write(tmp_path, PEOPLE))
    changed = PEOPLE.replace("Cy Ng,ana@acme.test", "Cy Ng,bo@acme.test")
    done = laurel_import(database, write(tmp_path, changed, "changed.csv"))
    assert done.exit_code == 0, done.output
    found = people(database)
    assert found["cy@acme.test"].manager_id == found["bo@acme.test"].id
    assert counts(done) == tally(updated=1, unchanged=2)


def test_a_changed_department_and_manager_are_updated(database: str, tmp_path: Path) -> None:
    laurel_import(database, write(tmp_path, PEOPLE))
    changed = PEOPLE.replace("Cy Ng,ana@acme.test,Sales", "Cy Ng,bo@acme.test,Support")
    done = laurel_import(database, write(tmp_path, changed, "changed.csv"))
    assert done.exit_code == 0, done.output
    assert counts(done) == tally(updated=1, unchanged=2)
    found = people(database)
    cy = found["cy@acme.test"]
    assert (cy.department, cy.manager_id) == ("Support", found["bo@acme.test"].id)


def test_a_dry_run_reports_the_same_counts_and_changes_nothing(
    database: str, tmp_path: Path
) -> None:
    path = write(tmp_path, PEOPLE)
    dry = laurel_import(database, path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.stdout and "nothing was changed" in dry.stdout
    assert people(database) == {}
    real = laurel_import(database, path)
    assert counts(dry) == counts(real) == tally(created=3)
    before = people(database)
    changed = write(tmp_path, PEOPLE.replace("Sales", "Support"), "changed.csv")
    dry_change = laurel_import(database, changed, "--dry-run")
    assert counts(dry_change) == tally(updated=1, unchanged=2)
    assert people(database) == before


def test_bad_rows_are_reported_by_line_and_the_valid_rows_still_applied(
    database: str, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "email,name,manager_email,hire_date\n"
        "ana@acme.test,Ana,,2020-01-01\n"
        "bo@acme.test,Bo,ana@acme.test,2020-13-01\n"
        "\n"
        "cy@acme.test,Cy,nobody@acme.test,\n"
        "di@acme.test,Di,ana@acme.test,\n",
    )
    done = laurel_import(database, path)
    assert done.exit_code == 1, done.output
    assert counts(done) == tally(created=2, problems=2)
    assert [(row, email) for row, email, _ in table(done)] == [
        ("3", "bo@acme.test"),
        ("5", "cy@acme.test"),
    ]
    assert "2020-13-01" in table(done)[0][2] and "nobody@acme.test" in table(done)[1][2]
    assert set(people(database)) == {"ana@acme.test", "di@acme.test"}


def test_complete_deactivates_people_missing_from_the_file(database: str, tmp_path: Path) -> None:
    laurel_import(database, write(tmp_path, PEOPLE))
    without_cy = write(tmp_path, PEOPLE.rsplit("cy@", 1)[0], "without-cy.csv")
    partial = laurel_import(database, without_cy)
    assert counts(partial) == tally(unchanged=2)
    assert people(database)["cy@acme.test"].active
    complete = laurel_import(database, without_cy, "--complete")
    assert complete.exit_code == 0, complete.output
    assert counts(complete) == tally(deactivated=1, unchanged=2)
    assert "deactivated: cy@acme.test" in complete.stdout
    assert not people(database)["cy@acme.test"].active


def test_complete_keeps_people_whose_rows_have_problems(database: str, tmp_path: Path) -> None:
    laurel_import(database, write(tmp_path, PEOPLE))
    typo = (
        "email,name,manager_email,department,active\n"
        "ana@acme.test,Ana Lima,,Engineering,\n"
        "bo@acme.test,Bo Ek,ana@acme.test,Engineering,\n"
        "cy@acme.test,Cy Ng,ana@acme.test,Sales,sometimes\n"
    )
    done = laurel_import(database, write(tmp_path, typo, "typo.csv"), "--complete")
    assert counts(done)["deactivated"] == 0
    assert people(database)["cy@acme.test"].active


def test_a_file_without_valid_rows_never_deactivates_anyone(database: str, tmp_path: Path) -> None:
    laurel_import(database, write(tmp_path, PEOPLE))
    empty = laurel_import(database, write(tmp_path, "email,name\n", "empty.csv"), "--complete")
    assert empty.exit_code == 0, empty.output
    assert counts(empty) == tally()
    assert all(p.active for p in people(database).values())


def test_a_bad_header_is_one_problem_and_changes_nothing(database: str, tmp_path: Path) -> None:
    done = laurel_import(database, write(tmp_path, "mail,name\nana@acme.test,Ana\n"))
    assert done.exit_code == 1
    assert counts(done) == tally(problems=1)
    assert "header" in done.stdout
    assert not (tmp_path / "laurel.db").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "missing.csv: no such file"),
        ("latin1.csv", "email,name\nzoe@acme.test,Zoë\n".encode("latin-1"), "is not UTF-8"),
    ],
)
def test_an_unreadable_file_is_one_line_and_changes_nothing(
    database: str, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    done = laurel_import(database, path)
    assert done.exit_code == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("Error: ") and message in line
    assert done.stdout == ""
    assert not (tmp_path / "laurel.db").exists()
