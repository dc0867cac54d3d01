"""The quality page in a real browser: headless Chromium (Debian's ``chromium``) parses and paints it.

The page is opened from disk (file://), offline, as a data-team member would open
the file they were sent. Chromium's DOM dump shows its charts became SVG elements;
its screenshot and its PDF (print) show it paints and prints.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import samples.village_profile as generator
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages
from pipelines.report import write_quality_page
from tests.browser import CHROMIUM, MISSING, chromium, png_size

pytestmark = pytest.mark.integration

ROUNDS = [parse_round("2563-10"), parse_round("2563-11")]
PROVINCES = ["75", "81"]


@pytest.fixture(scope="module")
def page_file(tmp_path_factory, village_spec) -> Path:
    """A real two-round work area and the second round's page written from it."""
    if not CHROMIUM.exists():
        pytest.skip(MISSING)
    layout = Layout(tmp_path_factory.mktemp("quality-browser"))
    for round_ in ROUNDS:
        generator.generate(round_, layout.landing_dir(village_spec.name, round_), provinces=PROVINCES)
        job = stages.RoundJob(village_spec, round_, layout)
        for stage in (stages.ingest, stages.validate, stages.quality):
            stage(job)
    return write_quality_page(village_spec, ROUNDS[-1], layout.root / "work" / village_spec.name)


def test_charts_are_svg_elements_in_the_rendered_dom(page_file, tmp_path):
    dom = chromium(page_file.as_uri(), tmp_path, "--dump-dom").stdout
    source = page_file.read_text(encoding="utf-8")
    charts = re.findall(r'<svg[^>]*\bid="(chart-[^"]+)"[^>]*role="img"', dom)
    assert {"chart-province-completeness", "chart-province-accuracy", "chart-reasons", "chart-trend-nation"} <= set(
        charts
    )
    assert {f"chart-trend-{p}" for p in PROVINCES} <= set(charts)
    for mark in ('<rect class="bar', '<path class="line', '<line class="target"'):
        assert dom.count(mark) == source.count(mark) > 0, mark
    assert '<html lang="th">' in dom and "ตำบลที่ยังไม่รายงาน" in dom


def test_screenshot_is_painted(page_file, tmp_path):
    shot = tmp_path / "quality_report.png"
    chromium(page_file.as_uri(), tmp_path, "--window-size=1280,2400", f"--screenshot={shot}")
    assert png_size(shot) == (1280, 2400)
    assert shot.stat().st_size > 80_000  # a blank or unstyled page compresses to a few kB


def test_page_prints_to_pdf(page_file, tmp_path):
    pdf = tmp_path / "quality_report.pdf"
    chromium(page_file.as_uri(), tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 2
