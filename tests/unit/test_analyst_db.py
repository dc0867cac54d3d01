"""The analyst catalog database: views over every published round, data dictionary, immutability, HTTP attach."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog import analyst_db
from catalog.local import LocalCatalog
from catalog.outputs import build_outputs
from catalog.query import connect, display_width, format_table, main, run_query
from domain.declarations import load_datasets
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages
from tests.analyst_process import attach_and_read, normalised

PROVINCE = "75"  # Samut Songkhram: the smallest province, a real round in a few seconds


def _outputs(job: stages.RoundJob):
    levels = job.spec.aggregate_levels
    return build_outputs(
        job.spec,
        job.work.read("records"),
        {level: job.work.read(f"aggregate_{level}") for level in levels},
        job.work.read("quality"),
        job.work.read("quality_reasons"),
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """One real round of one province, generated, validated, aggregated and published; plus its database."""
    import samples.village_profile as generator

    root = tmp_path_factory.mktemp("analyst")
    spec = load_datasets()["village_profile"]
    round_ = parse_round("2563-10")
    layout = Layout(root)
    generator.generate(round_, layout.landing_dir(spec.name, round_), provinces=[PROVINCE])
    job = stages.RoundJob(spec, round_, layout)
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    stages.publish(job, LocalCatalog(layout.catalog))
    built = analyst_db.build_local(layout.catalog)
    return {"root": root, "catalog": layout.catalog, "db": built.path, "job": job}


def _attached(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"ATTACH '{path.as_posix()}' AS tambon (READ_ONLY)")
    con.execute("USE tambon")
    return con


def _rows(table: pa.Table, keys: list[str]) -> list[dict]:
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


def _snapshot(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, list]:
    return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}


# -- views, datasets, columns ------------------------------------------------------------------------------------
def test_views_return_the_published_parquet_rows(published):
    entries = analyst_db.read_catalog(published["catalog"])
    assert {e.name for e in entries} >= {"village_profile", "village_profile_province", "village_profile_quality"}
    con = _attached(published["db"])
    for entry in entries:
        keys = entry.schema["primaryKey"]
        files = [published["catalog"] / r.parquet for r in entry.rounds]
        expected = pa.concat_tables(pq.read_table(f) for f in files)
        assert _rows(con.sql(f"SELECT * FROM {entry.name}").fetch_arrow_table(), keys) == _rows(expected, keys)
        newest = pq.read_table(published["catalog"] / entry.latest.parquet)
        assert _rows(con.sql(f"SELECT * FROM {entry.name}_latest").fetch_arrow_table(), keys) == _rows(newest, keys)
        assert expected.num_rows > 0


def test_views_are_typed_and_documented_in_columns(published):
    con = _attached(published["db"])
    for entry in analyst_db.read_catalog(published["catalog"]):
        documented = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT column_name, duckdb_type, title_th, title_en, description_th, description_en "
                "FROM columns WHERE dataset = ? ORDER BY position",
                [entry.name],
            ).fetchall()
        }
        described = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {entry.name})").fetchall())
        fields = [f["name"] for f in entry.schema["fields"]]
        assert list(documented) == fields == list(described)
        for name, (kind, title_th, title_en, about_th, about_en) in documented.items():
            assert described[name] == kind, (entry.name, name)
            assert title_th and title_en and about_th and about_en, (entry.name, name)
        comments = dict(
            con.execute(
                "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'tambon' AND table_name = ?",
                [entry.name],
            ).fetchall()
        )
        assert all(comments[f] for f in fields), entry.name


def test_datasets_table_holds_titles_versions_and_thai_gdc(published):
    con = _attached(published["db"])
    rows = con.execute(
        "SELECT name, title_th, title_en, description_th, latest_version, latest_round, rounds, rows_latest, "
        "maintainer, data_type, thai_gdc FROM datasets ORDER BY name"
    ).fetchall()
    pointers = json.loads((published["catalog"] / "catalog.json").read_text(encoding="utf-8"))["datasets"]
    assert [r[0] for r in rows] == sorted(pointers)
    for name, title_th, title_en, about_th, version, round_, rounds, count, maintainer, kind, gdc in rows:
        assert title_th == pointers[name]["title"]["th"] and title_en == pointers[name]["title"]["en"]
        assert about_th and maintainer and kind
        assert version == pointers[name]["latest"]["version"] and round_ == "2020-10" and rounds == ["2020-10"]
        assert count == con.execute(f"SELECT count(*) FROM {name}_latest").fetchone()[0]
        assert json.loads(gdc)["maintainer"] == maintainer
    info = dict(con.execute("SELECT key, value FROM catalog_info").fetchall())
    assert info["base"] == published["catalog"].resolve().as_posix() and len(info["fingerprint"]) == 64


def test_the_database_is_small_and_written_atomically(published):
    assert published["db"].stat().st_size < 2_000_000
    assert not list(published["catalog"].glob(".*.tmp*"))


# -- a new round, a new revision, old versions unchanged -----------------------------------------------------------
def test_new_round_changes_the_database_and_old_versions_keep_their_answers(published, tmp_path):
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(published["catalog"], catalog_dir)
    (catalog_dir / analyst_db.CATALOG_DB).unlink()
    first = analyst_db.build_local(catalog_dir)
    old_copy = tmp_path / "downloaded_v1.duckdb"  # what an analyst kept from the first publish
    shutil.copyfile(first.path, old_copy)
    names = ["village_profile", "village_profile_latest", "village_profile_province"]
    before = _snapshot(_attached(old_copy), names)
    r1_files = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in catalog_dir.rglob("r1/*") if p.is_file()}

    catalog = LocalCatalog(catalog_dir)
    job = published["job"]
    november = parse_round("2563-11")
    for output in _outputs(job):  # round 2563-11: the same tables under the new round
        output.frame = output.frame.assign(round=november.key, round_be=november.be_key)
        catalog.publish(output, november, job.gdc(output.kind) | output.gdc)
    records = next(o for o in _outputs(job) if o.name == "village_profile")
    records.frame.loc[records.frame.index[0], "households"] += 1  # a correction: 2563-10 revision r2
    assert catalog.publish(records, job.round, job.gdc("records")).revision == 2
    catalog.write_index()

    # before the rebuild, connect() notices the database is out of date and builds a fresh one
    fresh = connect(catalog_dir)
    assert fresh.execute("SELECT latest_round FROM datasets WHERE name = 'village_profile'").fetchone()[0] == "2020-11"

    second = analyst_db.build_local(catalog_dir)
    assert second.path == first.path and second.fingerprint != first.fingerprint
    con = _attached(second.path)
    assert con.execute("SELECT DISTINCT round FROM village_profile_latest").fetchall() == [("2020-11",)]
    assert con.execute("SELECT round, count(*) FROM village_profile GROUP BY ALL ORDER BY 1").fetchall() == [
        ("2020-10", len(records.frame)),
        ("2020-11", len(records.frame)),
    ]
    assert con.execute("SELECT revision FROM rounds WHERE dataset = 'village_profile' ORDER BY round").fetchall() == [
        (2,),
        (1,),
    ]
    households = "SELECT sum(households) FROM village_profile WHERE round = '2020-10'"
    assert con.execute(households).fetchone()[0] == _attached(old_copy).execute(households).fetchone()[0] + 1

    again = analyst_db.build_local(catalog_dir)  # nothing new: the file is left as it is
    assert not again.written and again.fingerprint == second.fingerprint

    # the first publish's database still answers exactly as before, its files untouched
    assert _snapshot(_attached(old_copy), names) == before
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in r1_files} == r1_files


# -- over HTTP, in a process that has nothing but duckdb -------------------------------------------------------------
class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with HTTP range requests (as CKAN's downloads have), and a CKAN package_show stand-in."""

    catalog_db_url = ""

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        if self.path.startswith("/api/3/action/package_show"):
            body = json.dumps(
                {"success": True, "result": {"resources": [{"format": "DuckDB", "role": "analyst_db",
                                                           "url": self.catalog_db_url}]}}
            ).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        wanted = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not wanted or not path.is_file():
            return super().do_GET()
        data = path.read_bytes()
        start_text, _, end_text = wanted.removeprefix("bytes=").partition("-")
        start = int(start_text)
        end = min(int(end_text) if end_text else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(data[start : end + 1])

    def end_headers(self):
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()


@pytest.fixture(scope="module")
def served(published):
    """The data folder on http://127.0.0.1:<free port>, and the database built with the files' URLs."""
    handler = functools.partial(_RangeHandler, directory=str(published["root"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        entries = analyst_db.read_catalog(published["catalog"])
        locations = {p: f"{base}/catalog/{p}" for p in analyst_db.catalog_paths(entries)}
        built = analyst_db.build(entries, locations, published["root"] / "http" / analyst_db.CATALOG_DB, base=base)
        _RangeHandler.catalog_db_url = f"{base}/http/{analyst_db.CATALOG_DB}"
        yield {"base": base, "url": _RangeHandler.catalog_db_url, "db": built.path}
    finally:
        server.shutdown()
        server.server_close()


def test_attach_over_http_in_a_process_with_only_duckdb(published, served):
    views = ["village_profile", "village_profile_latest", "village_profile_quality", "datasets", "columns"]
    remote = attach_and_read(served["url"], views)
    assert remote["loaded"] == []
    local = _attached(published["db"])
    for view in views[:3]:
        expected = normalised(local.execute(f"SELECT * FROM {view} ORDER BY ALL").fetchall())
        assert remote["rows"][view] == expected and expected, view
    assert len(remote["rows"]["columns"]) == len(local.execute("SELECT * FROM columns").fetchall())
    http_views = _attached(served["db"]).execute("SELECT parquet FROM rounds").fetchall()
    assert all(url.startswith(served["base"]) for (url,) in http_views)


def test_connect_finds_the_database_of_a_ckan_site(published, served):
    con = connect(served["base"])  # package_show -> the DuckDB resource -> ATTACH over HTTP
    local = _attached(published["db"])
    sql = "SELECT province_code, count(*), sum(households) FROM village_profile GROUP BY ALL ORDER BY ALL"
    assert con.execute(sql).fetchall() == local.execute(sql).fetchall()


# -- query entry points ----------------------------------------------------------------------------------------------
def test_run_query_writes_excel_csv_and_parquet(published, tmp_path):
    sql = (
        "SELECT tambon_name_th, count(*) AS villages, sum(households) AS households "
        "FROM village_profile_latest GROUP BY ALL ORDER BY ALL"
    )
    frame = run_query(sql, published["catalog"], out=tmp_path / "out.csv")
    assert len(frame) > 0 and list(frame.columns) == ["tambon_name_th", "villages", "households"]
    raw = (tmp_path / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and frame["tambon_name_th"].iloc[0].encode() in raw
    run_query(sql, published["root"], out=tmp_path / "out.parquet")  # the data folder works too
    assert pq.read_table(tmp_path / "out.parquet").num_rows == len(frame)
    with pytest.raises(ValueError):
        run_query(sql, published["catalog"], out=tmp_path / "out.xlsx")


def test_format_table_aligns_thai_text(published):
    frame = run_query(
        "SELECT amphoe_name_th, tambon_name_th, village_name, households, has_electricity "
        "FROM village_profile_latest ORDER BY village_code",
        published["db"],
    )
    text = format_table(frame, max_rows=10)
    lines = text.splitlines()
    assert len(lines) == 2 + 10 + 1 + 1  # header, rule, rows, the gap marker, the footer
    assert len({display_width(line) for line in lines[:-1]}) == 1
    assert display_width("ผู้ใหญ่บ้าน") == 7 and f"{len(frame):,}" in lines[-1]


def test_query_command_lists_and_describes(published, capsys):
    assert main(["--catalog", str(published["catalog"]), "--list"]) == 0
    assert "village_profile_quality_reasons" in capsys.readouterr().out
    assert main(["--catalog", str(published["db"]), "--describe", "village_profile"]) == 0
    assert "จำนวนครัวเรือน" in capsys.readouterr().out
    assert main(["--catalog", str(published["db"]), "SELECT * FROM no_such_view"]) == 2
