"""The command line speaks to people: every mistake a person can make is said in Thai then English, with the
next step and an exit code that tells a typo (2) from a service that is down (3), and never as a traceback.

Each test runs ``cli.main`` as the shell would and reads what was printed; none runs a round (they stop at the
mistake, before Dagster is imported), so the whole file takes a few seconds.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog import analyst_db
from catalog.analyst_db import CATALOG_DB, DatasetEntry, RoundEntry
from catalog.query import EXIT_INTERRUPTED, EXIT_UNREACHABLE, EXIT_USAGE, run_command
from domain.declarations import load_datasets
from domain.rounds import current_round
from pipelines import cli

THAI = re.compile(r"[\u0E00-\u0E7F]")


def _said(capsys: pytest.CaptureFixture[str]) -> str:
    """Everything printed, stdout and stderr together: what the person at the terminal reads."""
    out, err = capsys.readouterr()
    return out + err


def _spoken_to(text: str, *english: str) -> None:
    """Thai first, the English words expected after it, and no traceback."""
    assert "Traceback" not in text
    assert THAI.search(text), text
    first_thai = THAI.search(text).start()
    for words in english:
        assert words in text, (words, text)
        assert text.index(words) > first_thai, (words, text)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder, named the way people name it: ``TAMBON_DATA_DIR``."""
    root = tmp_path / "data"
    (root / "landing").mkdir(parents=True)
    monkeypatch.setenv("TAMBON_DATA_DIR", str(root))
    monkeypatch.delenv("TAMBON_CATALOG", raising=False)
    monkeypatch.delenv("CKAN_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return root


@pytest.fixture
def tiny_catalog(tmp_path: Path) -> Path:
    """A catalog database of one two-row dataset, written by the real builder (a real round takes much longer)."""
    parquet = tmp_path / "tiny_villages_2563-10_2020-10_r1.parquet"
    pq.write_table(pa.table({"village_code": ["47010101", "47010102"], "households": [120, 85]}), parquet)
    fields = [
        {"name": "village_code", "type": "string", "title": "Village code", "title_th": "รหัสหมู่บ้าน"},
        {"name": "households", "type": "integer", "title": "Households", "title_th": "จำนวนครัวเรือน"},
    ]
    round_ = RoundEntry(
        round="2020-10",
        round_be="2563-10",
        revision=1,
        version="1.0.0",
        published_at="2020-11-01T00:00:00+00:00",
        parquet="tiny_villages/2020-10/r1/tiny.parquet",
        parquet_sha256="0" * 64,
        parquet_bytes=parquet.stat().st_size,
        csv="tiny_villages/2020-10/r1/tiny.csv",
        csv_sha256="0" * 64,
        csv_bytes=0,
        fields=(("village_code", "string"), ("households", "integer")),
    )
    entry = DatasetEntry(
        name="tiny_villages",
        title={"th": "หมู่บ้านตัวอย่าง", "en": "Sample villages"},
        description={"th": "", "en": ""},
        schema={"fields": fields, "primaryKey": ["village_code"]},
        thai_gdc={},
        license="",
        rounds=(round_,),
    )
    locations = {round_.parquet: parquet.as_posix(), round_.csv: (tmp_path / "tiny.csv").as_posix()}
    return analyst_db.build([entry], locations, tmp_path / CATALOG_DB, base="test").path


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released): CKAN is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- unknown datasets --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--round", "2563-10", "--dataset", "nosuch"],
        ["sample", "--round", "2563-10", "--dataset", "nosuch"],
        ["report", "--round", "2563-10", "--dataset", "nosuch"],
    ],
    ids=["run", "sample", "report"],
)
def test_unknown_dataset_lists_the_known_ones(argv, data_dir, capsys):
    assert cli.main(argv) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "unknown dataset 'nosuch'")
    assert "ไม่รู้จักชุดข้อมูล" in said
    for name in load_datasets():  # every declared dataset has a sample generator today
        assert name in said
    assert not any((data_dir / "landing").iterdir())  # refused before anything was written


# -- rounds ------------------------------------------------------------------------------------------------------
def test_month_13_says_months_are_01_to_12_with_an_example(data_dir, capsys):
    assert cli.main(["run", "--round", "2563-13"]) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "there is no month 13", "months are 01 to 12", "e.g. 2563-10")
    assert "ไม่มีเดือนที่ 13" in said and "01 ถึง 12" in said


@pytest.mark.parametrize("command", ["run", "sample", "report"])
def test_1999_is_gregorian_and_before_the_programme(command, data_dir, capsys):
    assert cli.main([command, "--round", "1999-01"]) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "round 1999-01 (January 1999, B.E. 2542-01)", "before the Tambon Smart Team programme")
    assert f"valid rounds are 2563-10 (2020-10) to {current_round().be_key}" in said
    assert "ก่อนเริ่มโครงการ" in said and "มกราคม 2542" in said


def test_the_month_before_the_programme_is_refused_with_the_range(data_dir, capsys):
    assert cli.main(["sample", "--round", "2563-09"]) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "before the Tambon Smart Team programme began (October 2020)", "valid rounds are 2563-10")
    assert "รอบที่ใช้ได้คือ 2563-10" in said
    assert not any((data_dir / "landing").iterdir())


def test_a_month_that_has_not_begun_is_refused(data_dir, capsys):
    latest = current_round()
    following = f"{latest.year + 1}-01" if latest.month == 12 else f"{latest.year}-{latest.month + 1:02d}"
    assert cli.main(["run", "--round", following]) == EXIT_USAGE
    _spoken_to(_said(capsys), "has not begun yet", "this month")


def test_a_round_after_the_programme_year_is_warned_about_and_used(data_dir, capsys):
    assert cli.main(["report", "--round", "2564-10"]) == EXIT_USAGE  # accepted: the failure is the missing report
    said = _said(capsys)
    _spoken_to(said, "after the programme's year", "no run report yet for village_profile, round 2564-10 (2021-10)")
    assert "หลังปีงบประมาณของโครงการ" in said


def test_a_round_that_is_not_year_month_says_how_to_write_it(data_dir, capsys):
    assert cli.main(["report", "--round", "10-2563"]) == EXIT_USAGE
    _spoken_to(_said(capsys), "write year-month", "e.g. 2563-10")


# -- folders and reports -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [["run", "--round", "2563-10"], ["report", "--round", "2563-10"], ["query", "--list"]],
    ids=["run", "report", "query"],
)
def test_a_missing_data_folder_names_tambon_data_dir(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAMBON_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.delenv("TAMBON_CATALOG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "does not exist", "TAMBON_DATA_DIR")
    assert str(tmp_path / "nowhere") in said
    assert not (tmp_path / "nowhere").exists()


def test_a_round_without_files_says_where_to_put_them(data_dir, capsys):
    assert cli.main(["run", "--round", "2563-10"]) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "no files for round 2563-10 (2020-10)", "tambon sample --round 2563-10")
    assert str(data_dir / "landing") in said


def test_a_missing_report_says_which_run_makes_it(data_dir, capsys):
    assert cli.main(["report", "--round", "2563-10", "--dataset", "household_survey"]) == EXIT_USAGE
    _spoken_to(_said(capsys), "no run report yet", "tambon run --round 2563-10 --dataset household_survey")


def test_an_unknown_province_is_refused_before_any_file(data_dir, capsys):
    assert cli.main(["sample", "--round", "2563-10", "--provinces", "47,99"]) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "unknown province code(s): 99", "--provinces 47,50")
    assert "รหัสจังหวัดไม่ถูกต้อง" in said
    assert not any((data_dir / "landing").iterdir())


def test_malformed_arguments_are_said_in_thai_too(capsys):
    assert cli.main(["run"]) == EXIT_USAGE
    _spoken_to(_said(capsys), "the following arguments are required: --round", "see tambon run --help")


def test_help_lists_the_exit_codes_and_rounds(capsys):
    assert cli.main(["--help"]) == 0
    said = _said(capsys)
    for line in ("0   สำเร็จ / success", "2   คำสั่งไม่ถูกต้อง", "3   ติดต่อบริการไม่ได้ (CKAN)", "from 2563-10 to this month"):
        assert line in said


# -- query -------------------------------------------------------------------------------------------------------
def test_describe_an_unknown_dataset_lists_the_datasets(tiny_catalog, capsys):
    assert cli.main(["query", "--catalog", str(tiny_catalog), "--describe", "nosuch"]) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "no dataset 'nosuch' in this catalog", "tiny_villages")
    assert "ไม่มีชุดข้อมูล" in said


def test_describe_a_known_dataset_and_its_latest_view(tiny_catalog, capsys):
    for name in ("tiny_villages", "tiny_villages_latest"):
        assert cli.main(["query", "--catalog", str(tiny_catalog), "--describe", name]) == 0
        said = _said(capsys)
        assert "households" in said and "จำนวนครัวเรือน" in said
        assert "(2 แถว/rows" in said  # one row per field: village_code and households


def test_sql_errors_give_duckdbs_message_without_a_traceback(tiny_catalog, capsys):
    assert cli.main(["query", "--catalog", str(tiny_catalog), "SELECT nothing FROM no_such_view"]) == EXIT_USAGE
    said = _said(capsys)
    _spoken_to(said, "query failed", "no_such_view", "--list")
    assert "คำสั่ง SQL ผิดพลาด" in said


def test_describe_in_an_empty_folder_says_nothing_is_published(tmp_path, capsys):
    assert cli.main(["query", "--catalog", str(tmp_path), "--describe", "nosuch"]) == EXIT_USAGE
    _spoken_to(_said(capsys), f"no catalog found in {tmp_path}", "tambon run --round 2563-10")


@pytest.mark.parametrize("path", ["", "/dataset/x/download/tambon_catalog.duckdb"], ids=["site", "database-url"])
def test_ckan_that_is_down_is_exit_3_not_a_traceback(path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}{path}"
    assert cli.main(["query", "--catalog", url, "--list"]) == EXIT_UNREACHABLE
    said = _said(capsys)
    _spoken_to(said, f"cannot reach {'CKAN at ' if not path else ''}{url}", "try again")
    assert "ติดต่อ" in said and "ไม่ได้" in said


def test_a_url_without_a_host_is_a_mistake_not_an_outage(capsys):
    assert cli.main(["query", "--catalog", "http://", "--list"]) == EXIT_USAGE
    _spoken_to(_said(capsys), "is not a usable URL", "http://127.0.0.1:5000")


def test_an_output_file_we_cannot_write_is_refused_before_connecting(tiny_catalog, capsys):
    assert cli.main(["query", "--catalog", str(tiny_catalog), "--list", "--out", "result.xlsx"]) == EXIT_USAGE
    _spoken_to(_said(capsys), "--out must end with .csv or .parquet")


# -- after a run: only what exists -------------------------------------------------------------------------------
def test_the_analysts_database_is_named_only_when_it_exists(tmp_path, capsys):
    database = tmp_path / CATALOG_DB
    cli._print_analyst_database(database, None)  # a publish that failed never wrote it
    assert _said(capsys) == ""
    database.write_bytes(b"x")
    cli._print_analyst_database(database, None)  # written by this run
    said = _said(capsys)
    assert str(database) in said and "not rewritten" not in said
    cli._print_analyst_database(database, database.stat().st_mtime_ns)  # there from an earlier run
    assert "ไม่ได้เขียนใหม่ในครั้งนี้ / not rewritten by this run" in _said(capsys)


def test_ckan_lines_are_left_out_when_ckan_is_down(capsys):
    cli._print_ckan(f"http://127.0.0.1:{_closed_port()}")
    out, err = capsys.readouterr()
    assert out == ""  # no "CKAN: …/organization/dopa" nor a DuckDB URL that leads nowhere
    _spoken_to(err, "did not answer, so no CKAN links are shown", "CKAN_URL")


# -- the one place errors are printed ------------------------------------------------------------------------------
def test_bugs_keep_their_traceback_and_ctrl_c_is_130(capsys):
    def bug(_args):
        raise RuntimeError("a bug, not a user's mistake")

    def interrupted(_args):
        raise KeyboardInterrupt

    with pytest.raises(RuntimeError, match="a bug"):
        run_command(bug, None)
    assert run_command(interrupted, None) == EXIT_INTERRUPTED
    _spoken_to(_said(capsys), "interrupted")


@pytest.mark.parametrize("content", [b"not a database", None], ids=["not-duckdb", "duckdb-but-not-a-catalog"])
def test_a_file_that_is_not_a_catalog_database_is_said_so(content, tmp_path, capsys):
    path = tmp_path / "other.duckdb"
    if content is None:
        import duckdb

        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE t (x INTEGER)")
    else:
        path.write_bytes(content)
    assert cli.main(["query", "--catalog", str(path), "--describe", "village_profile"]) == EXIT_USAGE
    _spoken_to(_said(capsys), "catalog database", f"{CATALOG_DB} file or a catalog folder")


def test_a_failed_step_is_told_by_its_own_message_not_dagsters_wrapper():
    from dagster._utils.error import SerializableErrorInfo

    cause = SerializableErrorInfo(
        "catalog.ckan_client.CkanError: CKAN ปฏิเสธคำสั่ง organization_create: ConnectionError / CKAN refused "
        "organization_create: ConnectionError\n",
        [],
        "CkanError",
    )
    wrapper = SerializableErrorInfo(
        'dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "x__ckan":\n',
        [],
        "DagsterExecutionStepExecutionError",
        cause,
    )
    assert cli._reason(wrapper) == (
        "CKAN ปฏิเสธคำสั่ง organization_create: ConnectionError / CKAN refused organization_create: ConnectionError"
    )
