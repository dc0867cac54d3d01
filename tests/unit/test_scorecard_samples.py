"""The scorecards' sample generators: deterministic, readable by ingest, truthful, and scoreable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from domain.declarations import load_datasets
from domain.rounds import parse_round
from pipelines.scorecards import load_scorecard, score, units_for
from pipelines.scorecards.declaration import SCORECARDS_DIR
from samples import district_self_assessment, local_office_kpi_submissions
from samples.village_profile import truth_path
from tests.ingest_parts import Ingested, ingest

DSA_PROVINCES = ["47", "50", "84", "21", "96"]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def dsa(tmp_path_factory):
    out = tmp_path_factory.mktemp("dsa") / "2564-03"
    return out, district_self_assessment.generate("2564-03", out, provinces=DSA_PROVINCES)


@pytest.fixture(scope="module")
def kpi(tmp_path_factory):
    out = tmp_path_factory.mktemp("kpi") / "2567-05"
    return out, local_office_kpi_submissions.generate("2567-05", out)


@pytest.mark.parametrize(
    ("module", "round_", "provinces"),
    [(district_self_assessment, "2564-03", ["47", "84"]), (local_office_kpi_submissions, "2567-05", None)],
)
def test_same_arguments_give_identical_files(tmp_path, module, round_, provinces):
    a = module.generate(round_, tmp_path / "a" / "r", provinces=provinces, seed=7)
    b = module.generate(round_, tmp_path / "b" / "r", provinces=provinces, seed=7)
    assert _files(tmp_path / "a" / "r") == _files(tmp_path / "b" / "r")
    assert a.to_json() == b.to_json()
    assert truth_path(tmp_path / "a" / "r").read_text(encoding="utf-8") == a.to_json()


def _read(name: str, folder: Path, root: Path) -> tuple[Ingested, pd.DataFrame]:
    received = ingest(load_datasets()[name], [folder], root, round_=parse_round(folder.name))
    return received, received.read_rows()


def test_district_files_are_read_and_match_the_truth(dsa, tmp_path):
    folder, truth = dsa
    received, rows = _read("district_self_assessment", folder, tmp_path)
    status = dict(zip(received.files["name"].str.split("/").str[-1], received.files["status"], strict=True))
    for f in truth.files:
        assert status[f.name] == ("rejected" if f.format == "bad" else "ok"), f.name
    assert received.rows == truth.summary["rows"]
    assert truth.silent_provinces and truth.missing_units and truth.duplicates
    assert all(truth.summary["faults_by_kind"].values())
    dup = truth.duplicates[0]
    assert dup["kept"] == dup["rows"][1]
    sent = set(rows["amphoe_code"])
    assert not any(code in sent for code in truth.missing_units)
    assert not any(code[:2] in truth.silent_provinces for code in sent if code[:2].isdigit())
    assert "submitted_by" in rows.columns  # internal: read, never published


def test_kpi_files_are_read_and_match_the_truth(kpi, tmp_path):
    folder, truth = kpi
    received, _ = _read("local_office_kpi_submissions", folder, tmp_path)
    assert (received.files["status"] == "ok").sum() == truth.summary["data_files"]
    assert received.rows == truth.summary["rows"]
    card = load_scorecard(SCORECARDS_DIR / "local_office_kpi.yaml")
    # most of the ten provinces seed 004 left out send nothing
    assert len(set(truth.silent_provinces) & card.exclude) >= 5
    assert len(truth.duplicates) >= 10 and all(d["kept"] == d["rows"][1] for d in truth.duplicates)
    assert all(truth.summary["faults_by_kind"].values())


def test_the_samples_feed_the_scorecards(dsa, kpi):
    round_ = parse_round("2564-03")
    _, truth = dsa
    card = load_scorecard(SCORECARDS_DIR / "role_model_district.yaml")
    units = units_for(card, round_)
    units = units[units["province_code"].isin(DSA_PROVINCES)]
    frame = pd.DataFrame([{"amphoe_code": code, **values} for code, values in truth.expected.items()])
    quality = pd.DataFrame(
        {"level": "amphoe", "area_code": units["unit_code"], "completeness_pct": 90.0, "accuracy_pct": 95.0}
    ).assign(on_time_pct=100.0)
    result = score(card, round_, {"quality": quality, "self_assessment": frame}, units)
    picked = result.picks[result.picks["within"] == "province"]["group_code"].tolist()
    assert picked == sorted(DSA_PROVINCES)  # a silent province still has criterion 2
    assert (result.picks["within"] == "region").sum() == units["region"].nunique()

    round_ = parse_round("2567-05")
    _, truth = kpi
    card = load_scorecard(SCORECARDS_DIR / "local_office_kpi.yaml")
    rows = [
        {"province_code": key.split(":")[0], "indicator_no": int(key.split(":")[1]), "value": v["value"]}
        for key, v in truth.expected.items()
    ]
    result = score(card, round_, {"kpi": pd.DataFrame(rows)}, units_for(card, round_))
    assert (result.picks["within"] == "region").sum() == 18
    assert (result.picks["within"] == "nation").sum() == 1
    ranking = result.ranking.set_index("unit_code")
    assert not ranking.loc[sorted(card.exclude), "eligible"].any()
