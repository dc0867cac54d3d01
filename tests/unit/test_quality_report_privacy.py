"""The quality report goes to the portal only through the privacy gate; resource names read Thai first.

A real (small) village round is run through ingest, validate, quality and
aggregate in-process. Its own report must pass the gate untouched (the header
check must not refuse the page's own tables), and the same report with a
personal column or a personal value added must stop the whole publish: nothing
of the round reaches the local catalog, so nothing can reach CKAN.
"""

from __future__ import annotations

import duckdb
import pytest

import samples.village_profile as generator
from catalog.ckan_publish import resource_name, round_labels, size_label
from catalog.local import LocalCatalog
from catalog.privacy import PrivacyError, html_header_leaks, scan_files
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages
from pipelines.report import write_quality_page

ROUND = parse_round("2563-10")
HEADMAN_TABLE = (
    "<table><thead><tr><th>หมู่บ้าน <span class='en'>Village</span></th>"
    "<th>{header}</th></tr></thead><tbody><tr><td>บ้านทดสอบ</td><td>(ผู้ใหญ่บ้าน)</td></tr></tbody></table>"
)


@pytest.fixture(scope="module")
def job(tmp_path_factory, village_spec) -> stages.RoundJob:
    layout = Layout(tmp_path_factory.mktemp("report-privacy"))
    generator.generate(ROUND, layout.landing_dir(village_spec.name, ROUND), provinces=["75"], bad_files=False)
    job = stages.RoundJob(village_spec, ROUND, layout)
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    return job


@pytest.fixture(scope="module")
def page(job) -> bytes:
    return write_quality_page(job.spec, ROUND, job.work.folder.parent).read_bytes()


def _with(page: bytes, html: str) -> bytes:
    return page.replace(b"</body>", html.encode() + b"</body>")


def _scan(job: stages.RoundJob, page: bytes) -> set[tuple[str, str, str]]:
    leaks = scan_files([("quality_report.html", page)], job.spec, job.work.path("received"))
    return {(leak.table, leak.column, leak.kind) for leak in leaks}


def test_the_rounds_own_report_passes_the_gate(job, page):
    assert b"<th" in page  # it has tables whose headers the gate reads
    assert _scan(job, page) == set()


@pytest.mark.parametrize(
    "header",
    [
        "ชื่อผู้ใหญ่บ้าน <span class='en'>Village headman's name</span>",  # as the page writes its columns
        "ชื่อผู้ใหญ่บ้าน / Village headman's name",
        "headman_name",
        "เบอร์โทรผู้ใหญ่บ้าน",  # an alias of headman_phone
        "<b>Recorded by (worker id)</b>",
    ],
)
def test_a_report_with_a_personal_column_is_refused(job, page, header):
    """The cells hold nothing that looks personal: only the column's header gives it away."""
    found = _scan(job, _with(page, HEADMAN_TABLE.format(header=header)))
    assert len(found) == 1 and next(iter(found))[2] == "private_column", found


def test_a_column_title_that_only_resembles_a_personal_one_passes(job, page):
    assert _scan(job, _with(page, HEADMAN_TABLE.format(header="จำนวนผู้ใหญ่บ้าน <span>Headmen</span>"))) == set()


def test_a_report_with_a_name_held_this_round_is_refused(job, page):
    name = duckdb.sql(
        f"SELECT headman_name FROM read_parquet('{job.work.path('received')}') WHERE length(headman_name) > 8 LIMIT 1"
    ).fetchone()[0]
    found = _scan(job, _with(page, f"<p>ติดต่อ <b>{name}</b></p>"))
    assert found == {("quality_report.html", "text", "private_value")}


def test_the_publish_stage_refuses_the_whole_round_for_a_leaking_report(job, page, monkeypatch):
    leaking = job.layout.root / "leaking" / "quality_report.html"
    leaking.parent.mkdir(parents=True, exist_ok=True)
    leaking.write_bytes(_with(page, HEADMAN_TABLE.format(header="ชื่อผู้ใหญ่บ้าน")))
    monkeypatch.setattr(stages, "quality_page", lambda job: leaking)
    catalog = LocalCatalog(job.layout.catalog)
    with pytest.raises(PrivacyError) as refused:
        stages.publish(job, catalog)
    assert "quality_report.html" in str(refused.value) and "ไม่เผยแพร่" in str(refused.value)
    assert not catalog.root.exists() or not any(catalog.root.rglob("*.*"))  # no table, no page went out


def test_resource_names_are_thai_first_with_the_be_round_and_the_size():
    assert round_labels("2020-10") == ("ต.ค. 2563", "Oct 2020")
    assert resource_name("revision", "2020-10", 1, "csv", 1_258_291) == (
        "ต.ค. 2563 · CSV (1.2 MB) · ฉบับที่ 1 / Oct 2020 r1"
    )
    assert resource_name("report", "2021-09", 2, "html", 88_000) == (
        "รายงานคุณภาพ ก.ย. 2564 · HTML (85.9 KB) · ฉบับที่ 2 / Quality report Sep 2021 r2"
    )
    assert resource_name("latest", "2020-10", 3, "datapackage", 512) == (
        "ล่าสุด ต.ค. 2563 · คำอธิบายข้อมูล JSON (512 B) · ฉบับที่ 3 / Latest: Oct 2020 r3 metadata"
    )
    assert [size_label(n) for n in (0, 1023, 1024, 10 * 1024**2, 3 * 1024**4)] == [
        "0 B",
        "1,023 B",
        "1.0 KB",
        "10.0 MB",
        "3,072.0 GB",
    ]


def test_header_cells_are_read_as_html_allows_them_without_closing_tags():
    labels = {"headman_name"}
    unclosed = b"<table><tr><th>village<th>headman_name<tr><td>x<td>y</table>"
    assert [leak.column for leak in html_header_leaks("p.html", unclosed, labels)] == ["headman_name"]
    in_a_cell = b"<table><tr><th>village<th>note<tr><td>x<td>headman_name</table>"  # a value, not a column
    assert html_header_leaks("p.html", in_a_cell, labels) == []
