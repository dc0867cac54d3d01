"""Scorecards as data: hand-worked rankings, picks, ties, weights from YAML, normalisation, errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml
from frictionless import validate

from catalog.local import PUBLISHING_ELSEWHERE, LocalCatalog
from catalog.outputs import Output
from domain.rounds import parse_round
from pipelines.assets import scorecard_asset
from pipelines.resources import LocalCatalogResource, RunLocks
from pipelines.scorecards import (
    SCORECARDS_DIR,
    MissingInputError,
    Normalise,
    ScorecardError,
    compute_round,
    known_outputs,
    load_inputs,
    load_scorecard,
    load_scorecards,
    normalise_values,
    score,
    scorecard_outputs,
    units_for,
)

ROUND = parse_round("2564-03")
ROLE_MODEL = SCORECARDS_DIR / "role_model_district.yaml"
KPI = SCORECARDS_DIR / "local_office_kpi.yaml"

# Region 5: Surat Thani (84) and Chumphon (86); region 11: Sakon Nakhon (47).
UNITS = pd.DataFrame(
    [
        ("8401", "เมืองสุราษฎร์ธานี", "Mueang Surat Thani", "84", "สุราษฎร์ธานี", "Surat Thani", 5),
        ("8402", "กาญจนดิษฐ์", "Kanchanadit", "84", "สุราษฎร์ธานี", "Surat Thani", 5),
        ("8403", "ดอนสัก", "Don Sak", "84", "สุราษฎร์ธานี", "Surat Thani", 5),
        ("8601", "เมืองชุมพร", "Mueang Chumphon", "86", "ชุมพร", "Chumphon", 5),
        ("8602", "ท่าแซะ", "Tha Sae", "86", "ชุมพร", "Chumphon", 5),
        ("4701", "เมืองสกลนคร", "Mueang Sakon Nakhon", "47", "สกลนคร", "Sakon Nakhon", 11),
        ("4702", "กุสุมาลย์", "Kusuman", "47", "สกลนคร", "Sakon Nakhon", 11),
    ],
    columns=[
        "unit_code", "unit_name_th", "unit_name_en",
        "province_code", "province_name_th", "province_name_en", "region",
    ],
)  # fmt: skip


def quality(rows: dict[str, tuple[float | None, float | None, float | None]]) -> pd.DataFrame:
    """A village_profile_quality table: amphoe rows as given, plus rows of other levels the card must ignore."""
    frame = pd.DataFrame(
        [("amphoe", code, *figures) for code, figures in rows.items()],
        columns=["level", "area_code", "completeness_pct", "accuracy_pct", "on_time_pct"],
    )
    noise = pd.DataFrame(
        [("province", "84", 1.0, 1.0, 1.0), ("tambon", "840101", 100.0, 100.0, 100.0)], columns=frame.columns
    )
    return pd.concat([frame, noise], ignore_index=True)


def assessments(rows: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(code, *s) for code, s in rows.items()],
        columns=["amphoe_code", "criterion1_score", "criterion3_score", "criterion4_score"],
    )


# Worked by hand (equal weights, each criterion 25% of the total):
#   8401: c1 80, c2 mean(90,90,90)=90,  c3 80, c4 80  -> (80+90+80+80)/4   = 82.5
#   8402: c1 90, c2 mean(80,100,90)=90, c3 70, c4 70  -> (90+90+70+70)/4   = 80.0
#   8403: no self-assessment, c2 100                   -> (0+100+0+0)/4     = 25.0
#   8601: c1 100, c2 60, c3 100, c4 100                -> 360/4             = 90.0
#   8602: c1 90, c2 mean(70,80,90)=80, c3 90, c4 90    -> 350/4             = 87.5
#   4701, 4702: nothing at all (accuracy NULL)         -> 0: no pick in province 47
QUALITY = quality(
    {
        "8401": (90, 90, 90),
        "8402": (80, 100, 90),
        "8403": (100, 100, 100),
        "8601": (60, 60, 60),
        "8602": (70, 80, 90),
        "4701": (0, None, 0),
        "4702": (0, None, 0),
    }
)
SELF = assessments({"8401": (80, 80, 80), "8402": (90, 70, 70), "8601": (100, 100, 100), "8602": (90, 90, 90)})


@pytest.fixture(scope="module")
def role_model():
    return load_scorecard(ROLE_MODEL)


def run(card, quality_frame=QUALITY, self_frame=SELF):
    return score(card, ROUND, {"quality": quality_frame, "self_assessment": self_frame}, UNITS)


def by_code(result) -> pd.DataFrame:
    return result.ranking.set_index("unit_code")


def copy_card(tmp_path: Path, source: Path, edit) -> Path:
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- role-model district


def test_totals_ranks_and_contributions_match_the_hand_worked_example(role_model):
    r = by_code(run(role_model))
    assert r["total_score"].to_dict() == {
        "8401": 82.5, "8402": 80.0, "8403": 25.0, "8601": 90.0, "8602": 87.5, "4701": 0.0, "4702": 0.0,
    }  # fmt: skip
    assert r.loc["8402", "c2_data_value"] == 90.0
    assert r.loc["8402", "c2_data_weight_pct"] == 25.0
    assert r.loc["8402", "c2_data_points"] == 22.5
    assert r.loc["8403", "c1_leadership_score"] == 0.0  # no self-assessment scores 0
    assert not r.loc["8403", "has_c1_leadership"]
    assert r.loc[["8401", "8402", "8403"], "rank_in_province"].tolist() == [1, 2, 3]
    assert r.loc[["8601", "8602"], "rank_in_province"].tolist() == [1, 2]


def test_one_pick_per_province_and_region_chosen_among_the_province_picks(role_model):
    result = run(role_model)
    r = by_code(result)
    assert sorted(r.index[r["picked_in_province"]]) == ["8401", "8601"]
    # province 47 sent nothing: its districts total 0, are not eligible and give no pick
    assert not r.loc[["4701", "4702"], "eligible"].any()
    assert r.loc[["4701", "4702"], "rank_in_province"].isna().all()
    # region 5: the province picks 8401 (82.5) and 8601 (90) compete; 8602 (87.5) is not a candidate
    assert r.index[r["picked_in_region"]].tolist() == ["8601"]
    assert r.loc["8401", "rank_in_region"] == 2
    assert pd.isna(r.loc["8602", "rank_in_region"])
    picks = result.picks
    assert picks[["within", "group_code", "unit_code"]].values.tolist() == [
        ["province", "84", "8401"],
        ["province", "86", "8601"],
        ["region", "5", "8601"],
    ]
    assert picks.loc[picks["within"] == "region", "candidates"].tolist() == [2]


def test_results_are_deterministic(role_model):
    first, second = run(role_model), run(role_model.__class__(**vars(role_model)))
    pd.testing.assert_frame_equal(first.ranking, second.ranking)
    shuffled = run(role_model, QUALITY.sample(frac=1, random_state=3), SELF.sample(frac=1, random_state=4))
    pd.testing.assert_frame_equal(
        first.ranking.set_index("unit_code").sort_index(), shuffled.ranking.set_index("unit_code").sort_index()
    )


def test_a_tie_on_the_total_is_broken_by_criterion_2_then_criterion_1_then_the_code(role_model, tmp_path):
    # 8401: c2 100, c1 60, c3 60, c4 60 -> 70;  8402: c2 80, c1 80, c3 60, c4 60 -> 70
    q = quality({"8401": (100, 100, 100), "8402": (80, 80, 80), "8403": (0, 0, 0)})
    s = assessments({"8401": (60, 60, 60), "8402": (80, 60, 60)})
    r = by_code(run(role_model, q, s))
    assert r.loc["8401", "total_score"] == r.loc["8402", "total_score"] == 70.0
    assert r.loc[["8401", "8402"], "rank_in_province"].tolist() == [1, 2]  # higher criterion 2 wins
    assert r.loc["8401", "tied_in_province"] and r.loc["8401", "picked_in_province"]

    # the same tie, with criterion 1 declared first, goes the other way
    path = copy_card(
        tmp_path,
        ROLE_MODEL,
        lambda raw: raw.update(tie_break=[{"criterion": "c1_leadership", "order": "desc"}]),
    )
    r = by_code(run(load_scorecard(path), q, s))
    assert r.loc[["8401", "8402"], "rank_in_province"].tolist() == [2, 1]

    # identical figures: the lower district code wins
    s = assessments({"8401": (70, 70, 70), "8402": (70, 70, 70)})
    q = quality({"8401": (90, 90, 90), "8402": (90, 90, 90)})
    r = by_code(run(role_model, q, s))
    assert r.loc[["8401", "8402"], "rank_in_province"].tolist() == [1, 2]
    assert r.loc["8402", "tied_in_province"]


def test_changing_a_weight_in_the_yaml_changes_the_ranking(role_model, tmp_path):
    assert by_code(run(role_model)).loc[["8401", "8402"], "rank_in_province"].tolist() == [1, 2]

    def heavier_leadership(raw):
        raw["criteria"][0]["weight"] = 5  # c1: 5/8 of the total

    card = load_scorecard(copy_card(tmp_path, ROLE_MODEL, heavier_leadership))
    r = by_code(run(card))
    # 8401: (5*80 + 90 + 80 + 80) / 8 = 81.25;  8402: (5*90 + 90 + 70 + 70) / 8 = 85.0
    assert r.loc["8401", "total_score"] == 81.25
    assert r.loc["8402", "total_score"] == 85.0
    assert r.loc[["8401", "8402"], "rank_in_province"].tolist() == [2, 1]
    assert r.loc["8402", "c1_leadership_weight_pct"] == 62.5


def test_outputs_document_every_column_and_publish(role_model, tmp_path):
    result = run(role_model)
    outputs = scorecard_outputs(role_model, ROUND, result)
    names = ["role_model_district", "role_model_district_criteria", "role_model_district_picks"]
    assert [o.name for o in outputs] == names
    for output in outputs:
        assert output.kind == "statistics"
        names = [f["name"] for f in output.schema["fields"]]
        assert list(output.frame.columns) == names
        for f in output.schema["fields"]:
            assert f.get("title") and f.get("title_th") and f.get("description") and f.get("description_th"), f
        key = output.schema["primaryKey"]
        assert not output.frame.duplicated(key).any()
        assert "submitted_by" not in names
    ranking = outputs[0].frame.set_index("amphoe_code")
    assert ranking.loc["8601", "picked_in_region"]
    assert ranking.loc["8602", "rank_in_region"] == 0  # not a province pick: not ranked in the region
    assert ranking.loc["4701", "rank_in_province"] == 0 and not ranking.loc["4701", "eligible"]
    catalog = LocalCatalog(tmp_path)
    for output in outputs:
        assert catalog.publish(output, ROUND, role_model.gdc | output.gdc).status == "new"
    for output in outputs:
        package = tmp_path / output.name / ROUND.key / "r1" / "datapackage.json"
        assert "ข้อมูลสถิติ" in package.read_text(encoding="utf-8")
        report = validate(str(package))
        assert report.valid, [e.message for task in report.tasks for e in task.errors][:3]


def _publish(catalog: LocalCatalog, name: str, frame: pd.DataFrame) -> None:
    types = {"object": "string", "str": "string", "float64": "number", "int64": "integer"}
    fields = [{"name": c, "type": types.get(str(t), "string")} for c, t in frame.dtypes.items()]
    title = {"th": name, "en": name}
    catalog.publish(Output(name, "statistics", title, title, {"fields": fields}, frame), ROUND, {})


def test_load_inputs_reads_the_current_published_revision(role_model, tmp_path):
    catalog = LocalCatalog(tmp_path)
    with pytest.raises(MissingInputError, match="village_profile_quality"):
        load_inputs(role_model, tmp_path, ROUND)
    _publish(catalog, "village_profile_quality", QUALITY.astype({"accuracy_pct": "float64"}))
    _publish(catalog, "district_self_assessment", SELF.iloc[:1].astype({"criterion1_score": "float64"}))
    _publish(catalog, "district_self_assessment", SELF.astype({"criterion1_score": "float64"}))  # revision 2
    inputs = load_inputs(role_model, tmp_path, ROUND)
    assert len(inputs["self_assessment"]) == len(SELF)
    result = score(role_model, ROUND, inputs, UNITS)
    assert by_code(result).loc["8601", "picked_in_region"]
    with pytest.raises(MissingInputError):
        load_inputs(role_model, tmp_path, parse_round("2564-04"))


# --------------------------------------------------------------------------- KPI


@pytest.mark.parametrize(
    ("norm", "values", "expected"),
    [
        (Normalise("percent"), [-5, 0, 72.5, 100, 130, None], [0, 0, 72.5, 100, 100, None]),
        (Normalise("linear", {"min": 50, "max": 100}), [40, 75, 120], [0, 50, 100]),
        (Normalise("linear", {"min": 0, "max": 10, "better": "lower"}), [0, 2.5, 10], [100, 75, 0]),
        (Normalise("levels", {"thresholds": [1, 2, 3, 4, 5]}), [0, 1, 2.5, 4, 5, 9], [0, 20, 40, 80, 100, 100]),
        (Normalise("levels", {"thresholds": [4, 8, 12, 16, 20]}), [3, 8, 19, 25], [0, 40, 80, 100]),
        (Normalise("levels", {"thresholds": [4, 3, 2, 1, 0], "better": "lower"}), [0, 1, 4, 7], [100, 80, 20, 0]),
        (Normalise("level_scale", {"max": 5}), [1, 3, 5, 7], [20, 60, 100, 100]),
        (Normalise("deadline_days", {"limit": 150}), [30, 150, 151, None], [100, 100, 0, None]),
        (Normalise("deadline_days", {"limit": 90}), [90, 91], [100, 0]),
    ],
)
def test_kpi_normalisation_per_kind(norm, values, expected):
    assert normalise_values(norm, values) == pytest.approx(expected, nan_ok=True)


def test_kpi_declaration_has_the_twelve_indicators_with_their_kinds():
    card = load_scorecard(KPI, known_outputs())
    assert [c.no for c in card.criteria] == list(range(1, 13))
    kinds = {c.no: (c.kind, c.normalise.method) for c in card.criteria}
    assert kinds[1] == ("percent", "percent")
    assert kinds[3] == ("count", "levels")
    assert kinds[8] == ("level", "level_scale")
    assert kinds[9] == ("deadline", "deadline_days")
    assert card.criteria[8].normalise.params["limit"] == 150
    assert {c.weight for c in card.criteria} == {1.0}
    assert all(c.where == {"indicator_no": c.no} for c in card.criteria)


def test_kpi_ranks_nationally_and_by_region_and_skips_excluded_provinces():
    card = load_scorecard(KPI)
    units = pd.DataFrame(
        [
            ("47", "สกลนคร", "Sakon Nakhon", 11),
            ("48", "นครพนม", "Nakhon Phanom", 11),
            ("49", "มุกดาหาร", "Mukdahan", 11),  # not invited (seed 004)
            ("46", "กาฬสินธุ์", "Kalasin", 12),
        ],
        columns=["unit_code", "unit_name_th", "unit_name_en", "region"],
    )
    units = units.assign(
        province_code=units["unit_code"], province_name_th=units["unit_name_th"], province_name_en=units["unit_name_en"]
    )
    good = {1: 95, 2: 100, 3: 6, 4: 5, 5: 5, 6: 24, 7: 3, 8: 5, 9: 120, 10: 0, 11: 90, 12: 100}
    rows = [("47", n, v) for n, v in good.items()]
    rows += [("48", n, v) for n, v in {**good, 9: 200, 8: 3}.items()]  # late on 9, level 3 on 8
    rows += [("49", n, 100.0 if n != 10 else 0) for n in good]
    rows += [("46", n, v) for n, v in good.items() if n != 12]  # indicator 12 not reported
    frame = pd.DataFrame(rows, columns=["province_code", "indicator_no", "value"])
    r = score(card, ROUND, {"kpi": frame}, units).ranking.set_index("unit_code")
    # 47: 95, 100, 100, 100, 100, 100, 60, 100, 100, 100, 90, 100 -> 1145/12
    assert r.loc["47", "total_score"] == pytest.approx(round(1145 / 12, 2))
    assert r.loc["48", "i09_internal_control_score"] == 0
    assert r.loc["48", "i08_innovation_score"] == 60
    assert r.loc["46", "i12_one_stop_service_score"] == 0
    assert not r.loc["49", "eligible"] and pd.isna(r.loc["49", "rank_in_nation"])
    assert r.loc[["47", "46", "48"], "rank_in_nation"].tolist() == [1, 2, 3]
    assert r.loc[["47", "48"], "rank_in_region"].tolist() == [1, 2]
    assert sorted(r.index[r["picked_in_region"]]) == ["46", "47"]
    assert r.index[r["picked_in_nation"]].tolist() == ["47"]


# --------------------------------------------------------------------------- declarations


def test_the_shipped_scorecards_load_against_the_datasets():
    cards = load_scorecards()
    assert set(cards) == {"role_model_district", "local_office_kpi"}
    assert [c.weight for c in cards["role_model_district"].criteria] == [1.0] * 4
    assert cards["role_model_district"].picks[1].among == "province"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: raw["criteria"][1].update(weight=0), "weight must be positive"),
        (lambda raw: raw["criteria"][1].update(weight=-2), "weight must be positive"),
        (lambda raw: raw["criteria"][1].update(id="c1_leadership"), "ids must be unique"),
        (lambda raw: raw["criteria"][0]["source"].update(input="survey"), "input 'survey' is not declared"),
        (lambda raw: raw["criteria"][0]["source"].update(column="criterion9_score"), "not among input"),
        (lambda raw: raw["criteria"][0].update(normalise={"method": "zscore"}), "unknown normalise method"),
        (lambda raw: raw["criteria"][0].update(normalise={"method": "levels", "thresholds": [3, 1]}), "increasing"),
        (lambda raw: raw["criteria"][0].update(normalise={"method": "linear", "min": 5, "max": 5}), "max > min"),
        (lambda raw: raw.update(tie_break=[{"criterion": "c9"}]), "unknown criterion 'c9'"),
        (lambda raw: raw["picks"]["levels"].reverse(), "earlier pick level"),
        (lambda raw: raw.update(unit="village"), "unit must be one of"),
        (lambda raw: raw["catalog"].update(data_type="ข้อมูลระเบียน"), "ข้อมูลสถิติ"),
        (lambda raw: raw["inputs"]["quality"].update(output="village_profile_qualty"), "which no dataset publishes"),
        (
            lambda raw: raw["inputs"]["self_assessment"]["columns"].append("submitted_by"),
            "publishes no column 'submitted_by'",
        ),
    ],
)
def test_declaration_errors_are_clear(tmp_path, edit, message):
    path = copy_card(tmp_path, ROLE_MODEL, edit)
    with pytest.raises(ScorecardError, match=message) as caught:
        load_scorecard(path, known_outputs())
    assert str(path) in str(caught.value)


def test_inputs_missing_a_declared_column_are_named(role_model):
    with pytest.raises(ScorecardError, match="on_time_pct"):
        run(role_model, QUALITY.drop(columns=["on_time_pct"]))
    doubled = pd.concat([SELF, SELF.iloc[:1]])
    with pytest.raises(ScorecardError, match="more than one row per unit"):
        run(role_model, QUALITY, doubled)


def test_registry_units_cover_every_district_and_province_with_a_region():
    amphoes = units_for(load_scorecard(ROLE_MODEL), ROUND)
    provinces = units_for(load_scorecard(KPI), ROUND)
    assert len(amphoes) == 878 and len(provinces) == 76
    assert amphoes["region"].between(1, 18).all() and provinces["region"].nunique() == 18


def test_compute_round_scores_every_registry_district(role_model, tmp_path):
    catalog = LocalCatalog(tmp_path)
    _publish(catalog, "village_profile_quality", QUALITY.astype({"accuracy_pct": "float64"}))
    _publish(catalog, "district_self_assessment", SELF.astype({"criterion1_score": "float64"}))
    result = compute_round(role_model, tmp_path, ROUND)
    assert len(result.ranking) == 878
    picks = result.picks
    assert picks.loc[picks["within"] == "province", "group_code"].tolist() == ["84", "86"]
    assert picks.loc[picks["within"] == "region", "unit_code"].tolist() == ["8601"]


def test_a_scorecard_publishes_only_once_no_other_run_is_publishing(role_model, tmp_path, monkeypatch, capfd):
    """The scorecard step writes pointers, the index and the analysts' database as a round's publish does: it
    waits, saying so, while another run holds the catalog (``LocalCatalog.publishing``), then publishes."""
    data = tmp_path / "data"
    catalog = LocalCatalog(data / "catalog")
    _publish(catalog, "village_profile_quality", QUALITY.astype({"accuracy_pct": "float64"}))
    _publish(catalog, "district_self_assessment", SELF.astype({"criterion1_score": "float64"}))
    monkeypatch.setenv("TAMBON_PROGRESS", "1")
    resources = {"catalog": LocalCatalogResource(data_dir=str(data)), "locks": RunLocks(data_dir=str(data))}
    done: list[dg.ExecuteInProcessResult] = []
    step = threading.Thread(
        target=lambda: done.append(
            dg.materialize([scorecard_asset(role_model)], partition_key=ROUND.key, resources=resources)
        )
    )
    said = ""
    with catalog.publishing():
        step.start()
        deadline = time.monotonic() + 120
        while PUBLISHING_ELSEWHERE not in said and step.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
            said += capfd.readouterr().err
        assert PUBLISHING_ELSEWHERE in said, "the scorecard step said it waits for the catalog"
        assert not (catalog.root / "role_model_district").exists(), "nothing published while another run publishes"
    step.join(120)
    assert done and done[0].success
    assert catalog.pointer("role_model_district")["rounds"][ROUND.key]["revision"] == 1
