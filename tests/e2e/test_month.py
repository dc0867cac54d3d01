"""A whole month for the data team, through the README's commands: every collection in, everything out.

`tambon sample` writes every collection's sample for two provinces (the household
survey at a small scale), `tambon run` runs each collection's round in Dagster and
then the scorecards. Checked: the household survey publishes suppressed
aggregates and nothing personal, the role-model scorecard picks one district per
province and per inspection region, the field-worker table stays internal, and
the analyst questions in the README run on the published catalog.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from catalog.analyst_db import CATALOG_DB
from catalog.privacy import DIGITS13, PHONE, citizen_id_valid
from domain.declarations import REPO_ROOT, load_datasets
from domain.layout import Layout
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines import cli
from tests.e2e.own_data import own_data_folder

pytestmark = pytest.mark.slow

ROUND = parse_round("2563-10")
PROVINCES = "47,21"  # Sakon Nakhon (inspection region 11) and Rayong (region 2)


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    with own_data_folder(tmp_path_factory.mktemp("month")) as layout:
        assert cli.main(["sample", "--round", ROUND.be_key, "--provinces", PROVINCES, "--scale", "0.05"]) == 0
        assert cli.main(["run", "--round", ROUND.be_key]) == 0
        yield layout


def _latest(layout: Layout, output: str, fmt: str = "parquet") -> Path:
    folder = layout.catalog / output / ROUND.key
    return next(folder.glob(f"r*/*.{fmt}"))


def test_every_collection_and_scorecard_is_published(month):
    published = {p.parent.name for p in month.catalog.glob("*/latest.json")}
    for name in load_datasets():
        assert any(p == name or p.startswith(f"{name}_") for p in published), name
    assert {"role_model_district", "role_model_district_picks", "local_office_kpi"} <= published
    assert "household_survey" not in published  # household rows are personal: aggregates only
    assert {f"household_survey_{level}" for level in ("village", "tambon", "amphoe", "province", "nation")} <= published


def test_no_published_file_holds_an_id_a_phone_or_a_personal_field(month):
    personal = {f["name"] for spec in load_datasets().values() for f in spec.fields if f.get("privacy")}
    for path in month.catalog.rglob("*.csv"):
        text = path.read_text(encoding="utf-8-sig")
        header = text.splitlines()[0].split(",")
        assert not personal & set(header), path
        assert not PHONE.search(text), path
        assert not any(citizen_id_valid(m) for m in DIGITS13.findall(text)), path


def test_household_counts_below_five_are_suppressed(month):
    frame = pd.read_parquet(_latest(month, "household_survey_village"), dtype_backend="numpy_nullable")
    counts = [c for c in frame.columns if str(frame[c].dtype) == "Int64"]
    counts = [c for c in counts if not c.endswith("_code")]
    assert counts and len(frame) > 50
    for column in counts:
        visible = frame[column].dropna()
        assert (visible >= 5).all(), column
    assert frame[counts].isna().any().any()  # something was small in a village of a 5% sample
    csv = _latest(month, "household_survey_village", "csv").read_text(encoding="utf-8-sig")
    assert ",x," in csv or ",x\r\n" in csv  # the documented marker


def test_role_model_picks_one_district_per_province_and_region(month):
    picks = pd.read_parquet(_latest(month, "role_model_district_picks"))
    by_level = picks.groupby("within")["group_code"].value_counts()
    assert (by_level == 1).all()
    assert set(picks.loc[picks["within"] == "province", "group_code"]) == set(PROVINCES.split(","))
    ranking = pd.read_parquet(_latest(month, "role_model_district"))
    mine = ranking[ranking["province_code"].isin(PROVINCES.split(","))]
    assert (mine.groupby("province_code")["picked_in_province"].sum() == 1).all()


def test_files_arrive_during_the_month_some_after_the_deadline(month):
    quality = pd.read_parquet(month.work("village_profile", ROUND) / "quality.parquet")
    reported = quality[(quality["level"] == "province") & (quality["rows_received"] > 0)]
    assert len(reported) == 2 and reported["on_time_pct"].between(50, 99.99).all()


def test_field_worker_output_is_internal(month):
    table = month.reports("village_profile", ROUND) / "field_workers.csv"
    workers = pd.read_csv(table, dtype=str)
    assert len(workers) > 10 and {"worker_id", "units_submitted", "units_accepted_on_time"} <= set(workers.columns)
    published = "".join(p.read_text(encoding="utf-8-sig") for p in month.catalog.rglob("*.csv"))
    assert not any(w in published for w in workers["worker_id"] if len(w) >= 5)


def test_the_readme_questions_run_on_the_catalog(month):
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## For analysts") :].split("\n## ", 1)[0]
    queries = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(queries) >= 5
    con = duckdb.connect()
    con.execute(f"ATTACH '{month.catalog / CATALOG_DB}' AS tambon (READ_ONLY)")
    con.execute("USE tambon")
    for query in queries:
        statements = [s for s in query.split(";") if s.strip() and not s.strip().upper().startswith(("ATTACH", "USE"))]
        for statement in statements:
            assert con.execute(statement).fetchall(), statement


def test_every_parquet_file_documents_its_columns_in_thai_and_english(month):
    files = list(month.catalog.glob("*/*/r*/*.parquet"))
    assert len(files) >= 20
    con = duckdb.connect()
    con.execute(f"ATTACH '{month.catalog / CATALOG_DB}' AS tambon (READ_ONLY)")
    for path in files:
        schema = pq.read_schema(path)
        documented = {f["name"]: f for f in json.loads(schema.metadata[b"frictionless:schema"])["fields"]}
        dataset = schema.metadata[b"tambon:dataset"].decode()
        listed = dict(
            con.execute(
                "SELECT column_name, description_th || description_en FROM tambon.columns WHERE dataset = ?", [dataset]
            ).fetchall()
        )
        for name in schema.names:
            field = documented[name]
            assert field["title_th"] and field["description"] and field["description_th"], (path.name, name)
            assert listed.get(name), (dataset, name)


def test_every_file_the_generator_wrote_well_is_read(month):
    """A reader too strict for ordinary files would lose a whole file's rows with a plausible reason: none may."""
    for name in load_datasets():
        truth_path = month.root / "landing" / name / f"{ROUND.be_key}.truth.json"
        if not truth_path.exists():
            continue
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        good = {f["sha256"] for f in truth["files"] if not f.get("bad_kind") and not f.get("duplicate_of")}
        files = WorkArea(month.work(name, ROUND), partitioned=True).read("files")
        read = (files["status"] + " " + files["problem_code"]).groupby(files["sha256"]).agg(set)  # copies: one sha
        unread = {sha: read[sha] for sha in good if "ok " not in read[sha]}
        assert good and not unread, (name, unread)
