"""The data dictionary answers an analyst (issue #15, point 6).

Every published table is built here the way the pipeline builds it, from the
declarations under ``datasets/`` and ``scorecards/`` (``catalog.outputs.build_outputs``
with the real aggregate and quality SQL over empty inputs, ``scorecard_outputs`` over a
real scoring of every registry unit), so a column added anywhere is checked without
being listed here. For every column of every table:

* a Thai and an English title and a Thai and an English description, none empty;
* titles distinct within the table, in each language (three columns all titled
  "Population" told an analyst nothing);
* a description that says more than its title (it says what is counted, over which
  units and how), in each language;
* a column that small-cell suppression can hide says so in its description and in
  ``tambon:suppression`` (threshold, marker), and the table's schema and description
  say what a NULL or an ``x`` is; so do ``datapackage.json`` and the analysts' ``columns`` table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import frictionless
import pandas as pd
import pytest

from catalog import analyst_db
from catalog.local import LocalCatalog
from catalog.outputs import Output, build_outputs, suppressible_columns, suppression_text
from domain.declarations import load_datasets
from domain.disclosure import disclosure_rules
from domain.geography import Geography
from domain.measures import measures
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines.aggregate import tables
from pipelines.scorecards import load_scorecards, score, scorecard_outputs
from pipelines.scorecards.inputs import units_for

ROUND = parse_round("2563-10")


def _empty_work(tmp: Path, spec: Any) -> WorkArea:
    """A round's work area with no rows: the tables keep their real columns, from the real SQL."""
    work = WorkArea(tmp / spec.name)
    typed = {"integer": "Int64", "number": "float64", "boolean": "boolean", "date": "datetime64[ns]"}
    columns = {f["name"]: pd.Series(dtype=typed.get(f.get("type", "string"), "string")) for f in spec.fields}
    rows = pd.DataFrame(columns)
    work.write("accepted", rows)
    work.write("received", rows.assign(_row_id=pd.Series(dtype="int64"), _file=pd.Series(dtype="string")))
    work.write("findings", pd.DataFrame({"_row_id": pd.Series(dtype="int64"), "code": pd.Series(dtype="string")}))
    work.write("files", pd.DataFrame({"sha256": pd.Series(dtype="string"), "received_at": pd.Series(dtype="string")}))
    return work


def _dataset_outputs(tmp: Path, geography: Geography) -> list[Output]:
    out = []
    for spec in load_datasets().values():
        work = _empty_work(tmp, spec)
        con = tables.connect(geography)
        tables.register_work(con, work, "accepted")
        tables.register_units(con, spec)
        records = tables.records(con, spec, ROUND) if spec.publish_records else None
        aggregates = {level: tables.aggregate(con, spec, ROUND, level) for level in spec.aggregate_levels}
        quality = reasons = None
        if spec.has_quality_figures:
            tables.register_work(con, work, "received", "findings")
            counts, reason_counts = work.path("quality_counts"), work.path("reason_counts")
            columns = "".join(f", {sql} AS {name}" for name, sql in tables.quality_columns(spec).items())
            rows = f"(SELECT _row_id, _file{columns} FROM received)"
            tables.write_quality_counts(con, spec, counts, reason_counts, rows, "findings")
            quality, reasons = tables.quality(con, spec, ROUND, work, ROUND.last_day)
        con.close()
        out += build_outputs(spec, records, aggregates, quality, reasons)
    return out


def _scorecard_outputs() -> list[Output]:
    out = []
    for card in load_scorecards().values():
        inputs = {
            name: pd.DataFrame(columns=list(dict.fromkeys([i.key, *i.filter, *i.columns])))
            for name, i in card.inputs.items()
        }
        for c in card.criteria:
            for column in c.where:
                inputs[c.input][column] = pd.Series(dtype="int64")
        out += scorecard_outputs(card, ROUND, score(card, ROUND, inputs, units_for(card, ROUND)))
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory, small_geography) -> dict[str, Output]:
    tmp = tmp_path_factory.mktemp("dictionary")
    outputs = [*_dataset_outputs(tmp, small_geography), *_scorecard_outputs()]
    return {o.name: o for o in outputs}


def test_every_published_table_is_built(published):
    """The check below covers the tables the README lists, not only some of them."""
    expected = {
        "village_profile", "village_profile_tambon", "village_profile_amphoe", "village_profile_province",
        "village_profile_nation", "village_profile_quality", "village_profile_quality_reasons",
        "household_survey_village", "household_survey_tambon", "household_survey_nation",
        "household_survey_quality", "household_survey_quality_reasons",
        "district_self_assessment", "local_office_kpi_submissions",
        "role_model_district", "role_model_district_criteria", "role_model_district_picks",
        "local_office_kpi", "local_office_kpi_criteria", "local_office_kpi_picks",
    }  # fmt: skip
    assert expected <= set(published)


def _words(text: str) -> str:
    """Lower case, punctuation and spaces out: "Population, male." and "population male" are the same words."""
    return re.sub(r"[\W_]+", "", text.casefold())


FILLER = {"a", "an", "the", "in", "of", "for", "and", "or", "by", "its", "this", "as", "is", "per"}


def _repeats(title: str, about: str) -> bool:
    """The description says nothing its title does not: equal, only the title's words (and filler),
    or (Thai, written without spaces) the title with fewer than 4 letters around it."""
    t, d = _words(title), _words(about)
    if not d or d == t:
        return True
    words = set(re.findall(r"\w+", about.casefold()))
    if words <= set(re.findall(r"\w+", title.casefold())) | FILLER:
        return True
    return t in d and len(d) - len(t) < 4


def _problems(output: Output) -> list[str]:
    problems = []
    fields = output.schema["fields"]
    for f in fields:
        for key in ("title", "title_th", "description", "description_th"):
            if not str(f.get(key) or "").strip():
                problems.append(f"{output.name}.{f['name']}: no {key}")
        for title, about in (("title", "description"), ("title_th", "description_th")):
            if f.get(title) and f.get(about) and _repeats(str(f[title]), str(f[about])):
                problems.append(f"{output.name}.{f['name']}: {about} only repeats its {title} ({f.get(about)!r})")
    for key in ("title", "title_th"):
        seen: dict[str, str] = {}
        for f in fields:
            text = _words(str(f.get(key) or ""))
            if text in seen:
                problems.append(f"{output.name}: {key} {f.get(key)!r} of {f['name']} is also {seen[text]}'s")
            seen.setdefault(text, f["name"])
    return problems


def test_every_column_has_distinct_bilingual_titles_and_a_description_that_explains(published):
    problems = [p for output in published.values() for p in _problems(output)]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_what_the_issue_reported():
    """The check above can fail: the three 'Population' titles and a description equal to its title."""
    fields = [
        {"name": n, "title": "Population", "title_th": f"ประชากร{n}", "description": "Population",
         "description_th": f"ประชากร{n}"}
        for n in ("population_male", "population_female")
    ]  # fmt: skip
    output = Output("t", "statistics", {}, {}, {"fields": fields}, pd.DataFrame())
    problems = _problems(output)
    assert any("title 'Population' of population_female" in p for p in problems)
    assert any("description only repeats" in p for p in problems)


def test_assessed_is_the_denominator_of_each_indicator(published):
    """``bmnNN_surveyed`` counts the households assessed on that indicator, not those surveyed."""
    fields = {f["name"]: f for f in published["household_survey_tambon"].schema["fields"]}
    spec = load_datasets()["household_survey"]
    for indicator in spec.indicators:
        f = fields[f"{indicator.id}_surveyed"]
        assert "assessed" in f["title"].lower() and "assessed" in f["description"].lower()
        assert "ประเมิน" in f["title_th"] and "ประเมิน" in f["description_th"]
        if indicator.applies.strip() != "true":  # the denominator is a subset: the description names it
            assert "not applicable" in f["description"].lower()


def test_suppression_is_explained_on_every_column_it_can_hide(published):
    spec = load_datasets()["household_survey"]
    rules = disclosure_rules(spec, measures(spec))
    hidden = suppressible_columns(spec)
    assert rules is not None and set(rules.counts) | set(rules.derived) == hidden
    threshold, marker = rules.threshold, spec.disclosure["marker"]
    for level in spec.aggregate_levels:
        output = published[f"household_survey_{level}"]
        schema = output.schema
        note = schema["tambon:suppression"]
        assert note["threshold"] == threshold and note["marker"] == marker and note["columns"]
        assert set(note["columns"]) == hidden & {f["name"] for f in schema["fields"]}
        assert f"below {threshold}" in note["en"] and "NULL" in note["en"] and f"`{marker}`" in note["en"]
        assert f"น้อยกว่า {threshold}" in note["th"]
        assert f"below {threshold}" in output.description["en"] and f"น้อยกว่า {threshold}" in output.description["th"]
        for f in schema["fields"]:
            if f["name"] in hidden:
                assert f["tambon:suppressible"] is True
                assert "suppressed" in f["description"] and f"below {threshold}" in f["description"]
                assert "ปกปิด" in f["description_th"] and f"น้อยกว่า {threshold}" in f["description_th"]
            else:
                assert "tambon:suppressible" not in f, f["name"]
    for output in published.values():  # nothing else is suppressed, so nothing else says so
        if not output.name.startswith("household_survey_") or output.name.endswith(("quality", "reasons")):
            assert "tambon:suppression" not in output.schema, output.name


def test_suppression_text_for_a_dataset_page():
    spec = load_datasets()["household_survey"]
    text = suppression_text(spec)
    assert "x" in text["en"] and "NULL" in text["en"] and "5" in text["en"] and "ปกปิด" in text["th"]
    assert suppression_text(load_datasets()["village_profile"]) == {"th": "", "en": ""}


def test_the_checked_measures_run_in_duckdb(published):
    """The empty tables above came from the real SQL: the columns checked are the columns published."""
    frame = published["household_survey_tambon"].frame
    assert list(frame.columns) == [f["name"] for f in published["household_survey_tambon"].schema["fields"]]


def test_suppression_reaches_datapackage_and_the_analysts_columns_table(published, tmp_path):
    """Published as the pipeline publishes: datapackage.json validates and says it; ``columns`` says it per column."""
    output = published["household_survey_tambon"]
    catalog = LocalCatalog(tmp_path)
    catalog.publish(output, ROUND, {})
    catalog.write_index()
    package_path = next(tmp_path.glob("household_survey_tambon/*/r1/datapackage.json"))
    report = frictionless.validate(str(package_path))
    assert report.valid, [e.message for task in report.tasks for e in task.errors][:3]
    package = json.loads(package_path.read_text(encoding="utf-8"))
    for resource in package["resources"]:
        assert resource["schema"]["tambon:suppression"]["marker"] == "x"
        assert any(f.get("tambon:suppressible") for f in resource["schema"]["fields"])
    assert "below 5" in package["description"] and "น้อยกว่า 5" in package["description_th"]
    built = analyst_db.build_local(tmp_path)
    con = duckdb.connect(str(built.path), read_only=True)
    rows = dict(
        con.execute(
            "SELECT column_name, (may_be_suppressed, suppressed_means_en) FROM columns WHERE dataset = ?",
            [output.name],
        ).fetchall()
    )
    assert rows["bmn22_failed"][0] is True and "NULL" in rows["bmn22_failed"][1]
    assert rows["tambon_code"] == (False, None)
