"""The quality page of a real (small) round shows exactly the figures of the quality tables.

Two small provinces (Samut Songkhram, Krabi) for two rounds, generated and run
through the ingest, validate and quality stages in-process, as the benchmark does.
"""

from __future__ import annotations

import re
import shutil
from html import escape

import pandas as pd
import pytest

import samples.village_profile as generator
from domain.layout import Layout
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines import stages
from pipelines.ingest.provinces import UNPLACED
from pipelines.report import quality_page, render_quality_page, svg, write_quality_page
from validation.codes import catalogue

ROUNDS = [parse_round("2563-10"), parse_round("2563-11")]
ROUND = ROUNDS[-1]
PROVINCES = ["75", "81"]  # small, and the samples leave a tambon or two unreported


@pytest.fixture(scope="module")
def work(tmp_path_factory, village_spec):
    """The work area (``work/village_profile``) with both rounds' quality tables."""
    layout = Layout(tmp_path_factory.mktemp("quality-page"))
    for round_ in ROUNDS:
        generator.generate(round_, layout.landing_dir(village_spec.name, round_), provinces=PROVINCES)
        job = stages.RoundJob(village_spec, round_, layout)
        for stage in (stages.ingest, stages.validate, stages.quality):
            stage(job)
    return layout.root / "work" / village_spec.name


@pytest.fixture(scope="module")
def page(work, village_spec) -> str:
    return render_quality_page(village_spec, ROUND, work)


@pytest.fixture(scope="module")
def quality(work) -> pd.DataFrame:
    return pd.read_parquet(work / ROUND.key / "quality.parquet")


def chart(page: str, chart_id: str) -> str:
    """One ``<svg>`` of the page by its id."""
    match = re.search(rf'<svg[^>]*id="{re.escape(chart_id)}".*?</svg>', page, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def figure_value(page: str, key: str) -> str:
    """The big number of one headline card."""
    match = re.search(rf'data-key="{key}">.*?<div class="figure-value">(.*?)</div>', page, re.S)
    assert match, f"no headline figure {key}"
    return match.group(1)


def test_headline_figures_equal_the_quality_table(page, quality):
    nation = quality[quality["level"] == "nation"].iloc[0]
    for key in ("rows_received", "rows_accepted", "rows_quarantined"):
        assert figure_value(page, key) == f"{int(nation[key]):,}"
    for key in ("completeness_pct", "accuracy_pct"):
        assert figure_value(page, key) == f"{nation[key]:,.2f}%"
    missing = quality[(quality["level"] == "tambon") & (quality["rows_received"] == 0)]
    assert figure_value(page, "tambons_not_reported") == f"{len(missing):,}"
    assert len(missing) > 1000 and "," in figure_value(page, "tambons_not_reported")  # thousands separator


def test_round_is_named_in_both_calendars(page):
    header = page[page.index("<header") : page.index("</header>")]
    for text in ("พฤศจิกายน 2563", "2563-11", "November 2020", "2020-11"):
        assert text in header


def test_every_non_reporting_tambon_is_listed_once_with_names(page, quality):
    tambons = quality[quality["level"] == "tambon"]
    listed = re.findall(r'<tr class="tambon" data-code="(\d+)"', page)
    missing = tambons[tambons["rows_received"] == 0]
    assert sorted(listed) == sorted(missing["area_code"])
    for row in missing[missing["area_code"].str[:2].isin(PROVINCES)].itertuples():
        line = re.search(rf'data-code="{row.area_code}">.*?</tr>', page).group(0)
        assert escape(row.area_name_th) in line and escape(row.area_name_en) in line


def test_partly_reporting_provinces_come_first_grouped_by_amphoe(page, quality):
    section = page[page.index('id="not-reported"') : page.index('id="files"')]
    blocks = re.findall(r'class="province-block partial" data-province="(\d+)"', section)
    assert blocks and set(blocks) <= set(PROVINCES)
    first_block = section[section.index("province-block") : section.index("</table>")]
    missing = quality[(quality["level"] == "tambon") & (quality["rows_received"] == 0)]
    amphoe = missing[missing["area_code"].str[:2] == blocks[0]]["area_code"].str[:4].iloc[0]
    assert f'<span class="code">{amphoe}</span>' in first_block
    assert section.index("province-block") < section.index("Provinces that sent nothing")


def test_reason_chart_has_one_bar_per_reason(page, work):
    reasons = pd.read_parquet(work / ROUND.key / "quality_reasons.parquet")
    nation = reasons[reasons["level"] == "nation"]
    svg_text = chart(page, "chart-reasons")
    assert 'role="img"' in svg_text and "<title" in svg_text
    assert svg_text.count('<rect class="bar') == len(nation) > 3
    for row in nation.itertuples():
        th, en = quality_page.REASON_LABELS[row.reason]
        assert escape(th) in svg_text and escape(en) in svg_text and f">{row.rows_quarantined:,}</text>" in svg_text


def test_province_charts_sort_bars_against_the_target(page, quality, village_spec):
    reporting = quality[(quality["level"] == "province") & (quality["rows_received"] > 0)]
    completeness = chart(page, "chart-province-completeness")
    assert completeness.count('<rect class="bar') == len(reporting) == len(PROVINCES)
    assert '<line class="target"' in completeness
    assert f"{village_spec.quality_targets['completeness_pct']:g}%" in completeness
    shown = [float(v) for v in re.findall(r'class="value[^"]*"[^>]*>([\d.]+)%<', completeness)]
    assert shown == sorted(reporting["completeness_pct"])
    assert chart(page, "chart-province-accuracy").count('<rect class="bar') == len(reporting)


def test_trend_covers_every_round_up_to_this_one(page, work, village_spec):
    nation = chart(page, "chart-trend-nation")
    assert nation.count('<path class="line') == 2  # completeness and accuracy
    assert nation.count('<circle class="point') == 2 * len(ROUNDS)
    for province in PROVINCES:
        assert chart(page, f"chart-trend-{province}").count('<path class="line') == 2
    first = render_quality_page(village_spec, ROUNDS[0], work)  # a later round is never read
    assert chart(first, "chart-trend-nation").count('<circle class="point') == 2
    assert "2020-11" not in first


def test_unreadable_files_are_listed_with_both_messages(page, work):
    files = WorkArea(work / ROUND.key, partitioned=True).read("files")
    rejected = files[files["status"] == "rejected"]
    assert len(rejected) > 0
    section = page[page.index('id="files"') : page.index('id="trend"')]
    for row in rejected.itertuples():
        assert escape(row.name) in section
        assert escape(row.message_th) in section and escape(row.message_en) in section
    assert figure_value(page, "files_unreadable") == str(len(rejected))


def test_every_value_is_escaped(work, village_spec, tmp_path):
    """Names come from outside (registry, file names): markup in them must show as text."""
    copy = tmp_path / "work"
    shutil.copytree(work / ROUND.key, copy / ROUND.key)
    quality = pd.read_parquet(copy / ROUND.key / "quality.parquet")
    target = quality.index[(quality["level"] == "tambon") & (quality["rows_received"] == 0)][0]
    quality.loc[target, "area_name_th"] = "<script>alert('x')</script> & บ้าน"
    quality.to_parquet(copy / ROUND.key / "quality.parquet", index=False)
    unplaced = WorkArea(copy / ROUND.key, partitioned=True).part(UNPLACED)  # rejected files have no province
    files = unplaced.read("files")
    files.loc[files.index[files["status"] == "rejected"][0], "name"] = 'a<b onmouseover="x">.csv'
    files.to_parquet(unplaced.path("files"), index=False)

    page = render_quality_page(village_spec, ROUND, copy)
    assert "<script" not in page and "<b onmouseover" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; บ้าน" in page
    assert "a&lt;b onmouseover=&quot;x&quot;&gt;.csv" in page


def test_page_is_self_contained_thai_and_printable(page):
    assert page.startswith("<!DOCTYPE html>") and '<html lang="th">' in page and '<meta charset="utf-8">' in page
    assert "<script" not in page and "<link" not in page and "src=" not in page and "@import" not in page
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg")
    assert '"Sarabun", "Noto Sans Thai"' in page and "@media print" in page


def test_write_quality_page(work, village_spec, tmp_path):
    path = write_quality_page(village_spec, ROUND, work)
    assert path == work / ROUND.key / "quality_report.html"
    assert path.read_text(encoding="utf-8") == render_quality_page(village_spec, ROUND, work)
    elsewhere = write_quality_page(village_spec, ROUND, work, out_dir=tmp_path / "published")
    assert elsewhere.parent == tmp_path / "published" and elsewhere.is_file()


def test_missing_round_says_what_to_run(work, village_spec):
    with pytest.raises(FileNotFoundError, match="quality stage"):
        render_quality_page(village_spec, parse_round("2563-12"), work)


def test_every_row_reason_code_has_a_short_label():
    assert set(quality_page.REASON_LABELS) == set(catalogue()["rows"])
    assert quality_page.reason_label("new_code_nobody_labelled") == ("new_code_nobody_labelled",) * 2


def test_svg_helpers_draw_one_mark_per_datum_and_escape():
    bars = [svg.Bar("ก<", 10.0, "A&B"), svg.Bar("ข", None), svg.Bar("ค", 99.0)]
    out = svg.hbar_chart(bars, chart_id="c", title="t<", max_value=100, target=95, target_label="95%")
    assert out.count('<rect class="bar') == 3 and "ก&lt;" in out and "A&amp;B" in out and "t&lt;" in out
    line = svg.line_chart([svg.Series("s", [90.0, None, 95.0])], ["a", "b", "c"], chart_id="l", title="l")
    assert line.count('<path class="line') == 1 and line.count("<circle") == 2 and line.count(" M") == 1
    assert svg.nice_max(34) == 40 and svg.fmt_number(1234567.891) == "1,234,567.89"
