"""The catalog's front page and its Thai pages, on a real CKAN, read as a visitor reads them.

A small round of both collections (village profile and household survey, Samut
Songkhram) goes through the stages into the local catalog and is published to CKAN
with its DataStore tables, as the pipeline's CKAN asset does. Then, anonymously over
HTTP and in headless Chromium:

* the front page (Thai by default) tells what the Tambon Smart Team data is, shows the
  latest round's figures exactly as the published quality table has them, links the
  featured datasets, the theme groups and the newest quality report, has a Thai search
  box, and no trace of CKAN's placeholder page;
* the Thai front, search, dataset, resource, organisation and group pages show no label
  from ``english_labels.txt``; the same pages under ``/en/`` are English;
* ``/dataset/village_profile`` (the README's name) redirects to ``/dataset/village-profile``;
* Chromium paints the front page, a Thai search and a dataset page in th and en
  (screenshots under the test's tmp dir).
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import ckanapi
import pytest
import requests

import samples.household_survey as household_generator
import samples.village_profile as village_generator
from catalog.ckan_client import CkanClient
from catalog.ckan_publish import CkanPublisher
from catalog.local import LocalCatalog
from catalog.themes import THEMES
from pipelines import stages
from pipelines.declarations import load_datasets
from pipelines.layout import Layout
from pipelines.rounds import parse_round
from tests.browser import CHROMIUM, MISSING, chromium, png_size

pytestmark = pytest.mark.integration

ROUND = parse_round("2563-10")
PROVINCE = "75"  # Samut Songkhram: the smallest province, a quick round
LABELS_FILE = Path(__file__).with_name("english_labels.txt")
#: Thai labels of our own and of CKAN's that must not appear on the English pages
THAI_LABELS = ("ข้ามไปยังเนื้อหาหลัก", "เข้าสู่ระบบ", "ชุดข้อมูลแนะนำ", "ชุดข้อมูลตามประเด็น", "หมู่บ้านที่รายงาน", "ค้นหาชุดข้อมูล")


def english_labels() -> list[str]:
    lines = LABELS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def world(ckan_server, tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("ckan-portal"))
    local = LocalCatalog(layout.catalog)
    specs = load_datasets()
    for name, generate in (
        ("village_profile", lambda d: village_generator.generate(ROUND, d, provinces=[PROVINCE], bad_files=False)),
        (
            "household_survey",
            lambda d: household_generator.generate(ROUND, d, provinces=[PROVINCE], bad_files=False, scale=0.05),
        ),
    ):
        generate(layout.landing_dir(name, ROUND))
        job = stages.RoundJob(specs[name], ROUND, layout)
        for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
            stage(job)
        stages.publish(job, local)
    client = CkanClient(ckan_server.url, ckan_server.token)
    publisher = CkanPublisher(client, local)
    publisher.ensure_organization()
    for pointer in sorted(local.root.glob("*/latest.json")):
        output = pointer.parent.name
        current = local.pointer(output)["latest"]["path"]
        package = json.loads((local.root / output / current / "datapackage.json").read_text(encoding="utf-8"))
        publisher.publish(output, package["resources"][0]["schema"])  # with its DataStore table, as the asset does
    return {"local": local, "server": ckan_server, "anon": ckanapi.RemoteCKAN(ckan_server.url)}


def _get(world, path: str) -> requests.Response:
    response = requests.get(world["server"].url + path, timeout=60)
    assert response.status_code == 200, (path, response.status_code)
    return response


def _nation_row(world, output: str) -> dict[str, str]:
    """The latest round's nation row of a quality table, from the local catalog (the source of truth)."""
    local = world["local"]
    pointer = local.pointer(output)
    latest = pointer["latest"]
    path = local.root / output / latest["path"] / pointer["rounds"][latest["round"]]["files"]["csv"]["path"]
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    return next(row for row in rows if row["level"] == "nation")


def _figure(page: str, figure: str) -> str:
    """The bold number of one figure box on the front page."""
    block = re.search(rf'id="figure-{figure}".*?<strong>([^<]+)</strong>', page, re.S)
    assert block, figure
    return block[1].strip()


class _Text(HTMLParser):
    """What a visitor reads: text and labelling attributes, minus scripts, styles and what is marked lang="en"."""

    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    )
    ATTRIBUTES = ("placeholder", "aria-label", "title", "alt")

    def __init__(self, skip_english: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_english = skip_english
        self.parts: list[str] = []
        self.skip: list[str] = []  # open elements whose content is not checked

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self.skip:
            if tag not in self.VOID:
                self.skip.append(tag)
            return
        english = self.skip_english and (values.get("lang") or "").startswith("en")
        if tag in ("script", "style", "template") or english:
            if tag not in self.VOID:
                self.skip.append(tag)
            return
        self.parts += [values[a] or "" for a in self.ATTRIBUTES if values.get(a)]
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if self.skip and tag not in self.VOID:
            self.skip.pop()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str, skip_english: bool = True) -> str:
    """The page's words; ``skip_english``: leave out what is marked lang="en" (on a Thai page, the English
    we show beside the Thai on purpose)."""
    parser = _Text(skip_english)
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_left(html: str) -> list[str]:
    text = visible_text(html)
    return [label for label in english_labels() if re.search(rf"(?<![A-Za-z]){re.escape(label)}(?![A-Za-z])", text)]


def _pages(world) -> dict[str, str]:
    """The pages issue #15 names: home, search, dataset, resource, organisation and group."""
    package = world["anon"].action.package_show(id="village-profile")
    resource = next(r for r in package["resources"] if r.get("role") == "latest")
    return {
        "home": "/",
        "search": "/dataset/?q=หมู่บ้าน",
        "dataset": "/dataset/village-profile",
        "resource": f"/dataset/village-profile/resource/{resource['id']}",
        "organizations": "/organization/",
        "organization": "/organization/dopa",
        "groups": "/group/",
        "group": f"/group/{THEMES[0].name}",
    }


def test_front_page_in_thai_tells_the_programme_and_has_no_placeholder(world):
    page = _get(world, "/").text
    assert '<html lang="th"' in page
    assert "โครงการพัฒนาตำบลแบบบูรณาการ" in page and "กรมการปกครอง" in page
    assert "ฐานข้อมูลกลางที่เปิดเผยต่อสาธารณชน" in page
    for placeholder in ("placeholder-420x220", "Welcome to CKAN", "ยินดีต้อนรับสู่ CKAN", "Search data", "ckan-logo"):
        assert placeholder not in page, placeholder
    [form] = [f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if 'id="tambon-home-search"' in f]
    assert 'action="/dataset/"' in form and 'method="get"' in form and 'name="q"' in form
    assert 'placeholder="ค้นหาชุดข้อมูล เช่น หมู่บ้าน สกลนคร ไฟฟ้า"' in form
    found = requests.get(world["server"].url + "/dataset/", params={"q": "หมู่บ้าน"}, timeout=60)
    assert found.status_code == 200 and "village-profile" in found.text  # the box's query finds the data
    about = _get(world, "/about").text  # CKAN's About text is marketing in English: ours tells the programme
    assert "CKAN is the world" not in about and "โครงการพัฒนาตำบลแบบบูรณาการ" in about


def test_front_page_figures_are_the_published_latest_round(world):
    page = _get(world, "/").text
    villages = _nation_row(world, "village_profile_quality")
    households = _nation_row(world, "household_survey_quality")
    assert "ตุลาคม 2563" in page  # the latest round as a Thai month and B.E. year
    assert _figure(page, "villages") == f"{int(villages['villages_reported']):,}"
    assert f"จาก {int(villages['villages_expected']):,} หมู่บ้าน" in page
    assert _figure(page, "completeness") == f"{float(villages['completeness_pct']):.2f}%"
    assert _figure(page, "accuracy") == f"{float(villages['accuracy_pct']):.2f}%"
    missing = int(villages["tambons_expected"]) - int(villages["tambons_reported"])
    assert _figure(page, "tambons-missing") == f"{missing:,}"
    assert _figure(page, "households") == f"{int(households['rows_received']):,}"
    assert int(households["rows_received"]) > 0 and int(villages["villages_reported"]) > 0


def test_front_page_links_featured_datasets_themes_and_the_newest_report(world):
    page = _get(world, "/").text
    for name in ("village-profile", "village-profile-province", "household-survey-village", "village-profile-quality"):
        assert f'href="/dataset/{name}"' in page, name
    for theme in THEMES:
        assert f'href="/group/{theme.name}"' in page and theme.title_th in page, theme.name
    quality = world["anon"].action.package_show(id="village-profile-quality")
    [report] = [r for r in quality["resources"] if r.get("role") == "report"]
    assert f'href="/dataset/village-profile-quality/resource/{report["id"]}"' in page
    assert "รายงานคุณภาพข้อมูล ตุลาคม 2563 ฉบับที่ 1" in page
    # the groups are CKAN's own: their pages list the datasets the publisher put in them
    village = world["anon"].action.package_show(id="village-profile")
    assert {g["name"] for g in village["groups"]} == {"population-villages", "infrastructure-services"}
    assert "ข้อมูลพื้นฐานหมู่บ้าน" in _get(world, "/group/population-villages").text


def test_thai_pages_show_no_english_ui_label(world):
    assert len(english_labels()) >= 40
    left = {name: english_left(_get(world, path).text) for name, path in _pages(world).items()}
    assert left == {name: [] for name in left}


def test_english_pages_are_english(world):
    for name, path in _pages(world).items():
        page = _get(world, "/en" + path).text
        assert '<html lang="en"' in page, name
        text = visible_text(page, skip_english=False)
        assert [label for label in THAI_LABELS if label in text] == [], name
        assert "Skip to main content" in text, name
    home = visible_text(_get(world, "/en/").text, skip_english=False)
    assert "Tambon Smart Team open data" in home and "Villages reported" in home and "October 2020 (B.E. 2563)" in home
    search = visible_text(_get(world, "/en/dataset/?q=village").text, skip_english=False)
    assert re.search(r"\b\d+ datasets? found\b", search)


def test_thai_search_counts_in_thai(world):
    text = visible_text(_get(world, "/dataset/?q=หมู่บ้าน").text)
    assert re.search(r"พบ \d+ ชุดข้อมูล", text)


def test_the_readme_name_redirects_to_the_dataset(world):
    url = world["server"].url
    moved = requests.get(url + "/dataset/village_profile", allow_redirects=False, timeout=60)
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/dataset/village-profile")
    deep = requests.get(url + "/dataset/village_profile_quality?x=1", allow_redirects=False, timeout=60)
    assert deep.headers["Location"].endswith("/dataset/village-profile-quality?x=1")
    english = requests.get(url + "/en/dataset/village_profile", allow_redirects=False, timeout=60)
    assert english.status_code == 301 and english.headers["Location"].endswith("/en/dataset/village-profile")
    landed = requests.get(url + "/dataset/village_profile", timeout=60)
    assert landed.status_code == 200 and landed.url.endswith("/dataset/village-profile")
    assert requests.get(url + "/dataset/no_such_output", allow_redirects=False, timeout=60).status_code == 404


def test_chromium_paints_the_pages_in_thai_and_english(world, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(MISSING)
    url = world["server"].url
    shots = {
        "front": "/",
        "search": "/dataset/?q=หมู่บ้าน",
        "dataset": "/dataset/village-profile",
    }
    for lang in ("th", "en"):
        for name, path in shots.items():
            shot = tmp_path / f"{name}_{lang}.png"
            chromium(url + ("/en" if lang == "en" else "") + path, tmp_path, "--window-size=1280,1400",
                     f"--screenshot={shot}")  # fmt: skip
            assert png_size(shot) == (1280, 1400), shot.name
            assert shot.stat().st_size > 150_000, shot.name  # blank: a few kB; an error page: well under 150 kB
    dom = chromium(url + "/", tmp_path, "--dump-dom").stdout  # after scripts ran: still no English label
    assert "หมู่บ้านที่รายงาน" in dom and english_left(dom) == []
