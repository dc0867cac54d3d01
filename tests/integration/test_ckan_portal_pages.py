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
* every download button of a dataset page and of its resource pages gives a CSV that opens in
  Excel: BOM, Thai headings, มี/ไม่มี, ``x`` for a suppressed count, a name with dataset, round and
  revision; its rows are the published file's (the DataStore table's dump included);
* the CSV resources have a table preview with Thai headings, and the dataset page lists its
  columns (Thai and English titles, code, meaning) and says what ``x`` means;
* nothing private is reachable through the new download routes;
* Chromium paints the front page, a Thai search, a dataset page, a CSV preview and the quality
  report page in th and en (screenshots under the test's tmp dir).
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

from catalog.ckan_client import CkanClient
from catalog.ckan_publish import CkanPublisher
from catalog.latest import RULE
from catalog.local import LocalCatalog
from catalog.themes import THEMES
from domain.layout import Layout
from tests.browser import CHROMIUM, MISSING, chromium, png_size
from tests.integration import small_round

pytestmark = pytest.mark.integration

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
    small_round.build(layout, local)
    client = CkanClient(ckan_server.url, ckan_server.token)
    publisher = CkanPublisher(client, local)
    publisher.ensure_organization()
    small_round.publish_all(publisher, local)  # with its DataStore tables, as the asset does
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
    table = next(r for r in package["resources"] if r.get("role") == "datastore")
    return {
        "home": "/",
        "search": "/dataset/?q=หมู่บ้าน",
        "dataset": "/dataset/village-profile",
        "dataset with suppressed counts": "/dataset/household-survey-village",
        "resource": f"/dataset/village-profile/resource/{resource['id']}",  # the latest CSV, with its preview
        "datastore resource": f"/dataset/village-profile/resource/{table['id']}",
        "quality report": _report_page(world),
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
    # the latest rule is said where the figures are, in the page's language
    assert visible_text(RULE["th"]) in visible_text(page)
    assert visible_text(RULE["en"]) in visible_text(_get(world, "/en/").text, skip_english=False)


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
        "csv_preview": _pages(world)["resource"],
        "quality_report": _report_page(world),
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


def _report_page(world) -> str:
    quality = world["anon"].action.package_show(id="village-profile-quality")
    [report] = [r for r in quality["resources"] if r.get("role") == "report"]
    return f"/dataset/village-profile-quality/resource/{report['id']}"


# -- downloads that open in Excel, previews and the data dictionary (issue #15, point 3) ------------------------------
#: datasets whose download buttons are checked: village records (มี/ไม่มี, dates), suppressed village counts (x),
#: a one-row nation table
DOWNLOAD_DATASETS = {
    "village-profile": "village_profile",
    "household-survey-village": "household_survey_village",
    "household-survey-nation": "household_survey_nation",
}
BOM = b"\xef\xbb\xbf"


def _hrefs(html: str, css_class: str) -> list[str]:
    return [m for m in re.findall(rf'<a class="[^"]*{css_class}[^"]*" href="([^"]+)"', html)]


def _published(world, output: str) -> tuple[dict, Path]:
    """The latest round's Table Schema and CSV file in the local catalog (what CKAN serves)."""
    local = world["local"]
    pointer = local.pointer(output)
    folder = local.root / output / pointer["latest"]["path"]
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in package["resources"] if r["format"] == "csv")
    return resource["schema"], folder / resource["path"]


def _check_people_csv(response: requests.Response, schema: dict, file: Path, where: str) -> list[list[str]]:
    """A download a person gets: BOM, Thai headings in the schema's order, the file's rows exactly."""
    assert response.status_code == 200, where
    assert response.headers["Content-Type"].startswith("text/csv"), where
    assert response.content.startswith(BOM), where
    got = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert got[0] == [f["title_th"] for f in schema["fields"]], where
    expected = list(csv.reader(io.StringIO(file.read_text(encoding="utf-8-sig"))))
    assert got[1:] == expected[1:], where
    return got


def test_every_download_button_gives_a_thai_csv_for_excel(world):
    url = world["server"].url
    checked = 0
    for name, output in DOWNLOAD_DATASETS.items():
        schema, file = _published(world, output)
        package = world["anon"].action.package_show(id=name)
        kinds = {r["id"]: (r.get("role"), r.get("file_format")) for r in package["resources"]}
        page = _get(world, f"/dataset/{name}").text
        buttons = _hrefs(page, "resource-url-analytics")  # the Download item of each resource's menu
        assert len(buttons) == len(package["resources"]), name
        for resource in package["resources"]:
            resource_page = _get(world, f"/dataset/{name}/resource/{resource['id']}").text
            assert 'id="dropdownDownloadFormat"' not in resource_page  # CKAN's DataStore menu (codes, t/f) is gone
            buttons += _hrefs(resource_page, "btn btn-primary resource-url-analytics")
        for href in buttons:
            resource_id = next((rid for rid in kinds if rid in href), None)
            role, fmt = kinds[resource_id]
            if fmt not in ("csv", None):  # the Parquet and JSON files are given as they are
                assert href == next(r["url"] for r in package["resources"] if r["id"] == resource_id)
                continue
            response = requests.get(href if href.startswith("http") else url + href, timeout=60)
            got = _check_people_csv(response, schema, file, f"{name} {role} {href}")
            disposition = response.headers["Content-Disposition"]
            assert f"{output}_2563-10" in disposition and "r1" in disposition, disposition
            checked += 1
            if output == "village_profile":
                electricity = got[0].index(
                    next(f["title_th"] for f in schema["fields"] if f["name"] == "has_electricity")
                )
                assert {row[electricity] for row in got[1:]} <= {"มี", "ไม่มี"} and len(got) > 2
            if output == "household_survey_village":
                assert any("x" in row for row in got[1:])  # suppressed counts read x, never a blank
    # per dataset: 2 buttons (dataset page and resource page) for the latest CSV, the revision and the table
    assert checked == 2 * 3 * len(DOWNLOAD_DATASETS)


def test_the_datastore_dump_follows_the_preview_filters_and_keeps_json_for_programs(world):
    url = world["server"].url
    package = world["anon"].action.package_show(id="village-profile")
    table = next(r for r in package["resources"] if r.get("role") == "datastore")
    schema, _ = _published(world, "village_profile")
    dump = f"{url}/datastore/dump/{table['id']}"
    one = requests.get(dump, params={"filters": json.dumps({"village_code": "75010101"})}, timeout=60)
    rows = list(csv.reader(io.StringIO(one.content.decode("utf-8-sig"))))
    assert one.content.startswith(BOM) and len(rows) == 2 and "75010101" in rows[1]
    assert 'filename="village_profile_2563-10_r1.csv"' in one.headers["Content-Disposition"]
    tsv = requests.get(dump, params={"format": "tsv"}, timeout=60)
    assert (
        tsv.content.startswith(BOM)
        and tsv.content.decode("utf-8-sig").split("\t")[0] == schema["fields"][0]["title_th"]
    )
    programs = requests.get(dump, params={"format": "json"}, timeout=60).json()  # CKAN's own: codes and types
    assert programs["fields"][1]["id"] == "round" and isinstance(programs["records"][0][0], int)
    # hostile parameters are CKAN's to refuse: a 4xx, never a 500
    for params in ({"limit": "-1"}, {"offset": "x"}, {"sort": "no_such_column"}, {"filters": "{"}, {"q": "(" * 5000}):
        assert 400 <= requests.get(dump, params=params, timeout=60).status_code < 500, params


def test_csv_resources_have_a_thai_table_preview(world):
    for name, output in DOWNLOAD_DATASETS.items():
        schema, file = _published(world, output)
        expected = list(csv.reader(io.StringIO(file.read_text(encoding="utf-8-sig"))))
        package = world["anon"].action.package_show(id=name)
        for resource in (r for r in package["resources"] if r.get("file_format") == "csv"):
            views = world["anon"].action.resource_view_list(id=resource["id"])
            assert [v["view_type"] for v in views] == ["tambon_table_view"], (name, resource.get("role"))
            page = _get(world, f"/dataset/{name}/resource/{resource['id']}").text
            table = re.search(r'<table class="[^"]*tambon-preview[^"]*">(.*?)</table>', page, re.S)
            assert table, (name, resource.get("role"))
            headings = [visible_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table[1], re.S)]
            assert headings == [f"{f['title_th']} {f['name']}" for f in schema["fields"]]
            cells = [
                [visible_text(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
                for row in re.findall(r"<tr>(.*?)</tr>", table[1].split("<tbody>")[1], re.S)
            ]
            assert cells == [[" ".join(v.split()) for v in row] for row in expected[1 : 1 + len(cells)]]
            assert len(cells) == min(100, len(expected) - 1)


def test_dataset_pages_explain_their_columns_and_what_x_means(world):
    for name, output in DOWNLOAD_DATASETS.items():
        schema, _ = _published(world, output)
        page = _get(world, f"/dataset/{name}").text
        section = re.search(r'<section class="tambon-dictionary.*?</section>', page, re.S)
        assert section, name
        for field in schema["fields"]:
            row = re.search(rf'<tr id="column-{field["name"]}">(.*?)</tr>', section[0], re.S)
            assert row, (name, field["name"])
            text = visible_text(row[1], skip_english=False)
            assert field["title_th"] in text and field["title"] in text and field["name"] in text
            assert field["description_th"].split()[0] in text and field["description"].split()[0] in text
        hiding = schema.get("tambon:suppression")
        note = re.search(r'id="suppression-note">(.*?)</div>', section[0], re.S)
        if hiding:
            assert note and hiding["th"][:40] in visible_text(note[1], skip_english=False)
            assert hiding["en"][:40] in visible_text(note[1], skip_english=False)
            hidden = [f["name"] for f in schema["fields"] if f.get("tambon:suppressible")]
            assert hidden and all(
                "อาจแสดงเป็น x" in re.search(rf'<tr id="column-{c}">(.*?)</tr>', section[0], re.S)[1] for c in hidden
            )
        else:
            assert note is None


def test_private_and_staged_files_stay_out_of_the_download_routes(world):
    """The Thai-heading routes read as the visitor: a private dataset's CSV and table are CKAN's 404."""
    server, url = world["server"], world["server"].url
    admin = ckanapi.RemoteCKAN(url, apikey=server.token)
    source = admin.action.package_show(id="village-profile-nation")
    # the public dataset's Thai GDC fields (the schema requires them), under another name, private
    skip = {"id", "name", "state", "type", "resources", "organization", "groups", "tags", "creator_user_id"}
    copied = {k: v for k, v in source.items() if k not in skip and not k.startswith(("metadata_", "num_"))}
    tags = ",".join(t["name"] for t in source["tags"])
    private = admin.action.package_create(
        **{**copied, "name": "private-download-check", "private": True, "tag_string": tags}
    )
    csv_file = next(r for r in source["resources"] if r.get("role") == "revision" and r.get("file_format") == "csv")
    _, file = _published(world, "village_profile_nation")
    with file.open("rb") as handle:
        upload = admin.action.resource_create(
            package_id=private["id"], name="secret.csv", format="CSV", role="revision", file_format="csv",
            round=csv_file["round"], revision=csv_file["revision"], upload=handle,
        )  # fmt: skip
    fields = [{"id": "secret", "type": "text", "info": {"label_translated": {"th": "ลับ", "en": "secret"}}}]
    table = admin.action.datastore_create(
        resource={"package_id": private["id"], "name": "table", "role": "datastore"},
        fields=fields, records=[{"secret": "1234567890123"}], force=True,
    )  # fmt: skip
    try:
        for path in (
            f"/dataset/{private['id']}/resource/{upload['id']}/th/secret.csv",
            f"/dataset/private-download-check/resource/{upload['id']}/th/secret.csv",
            f"/datastore/dump/{table['resource_id']}",
            f"/datastore/dump/{table['resource_id']}?format=tsv",
            f"/dataset/village-profile-nation/resource/{upload['id']}/th/x.csv",  # someone else's resource id
            "/dataset/village-profile-nation/resource/no-such-id/th/x.csv",
        ):
            response = requests.get(url + path, timeout=60)
            assert response.status_code == 404, path
            assert b"1234567890123" not in response.content and "ลับ" not in response.text
        owner = requests.get(
            url + f"/datastore/dump/{table['resource_id']}", headers={"Authorization": server.token}, timeout=60
        )
        assert owner.status_code == 200 and owner.content.startswith(BOM) and "ลับ" in owner.text  # the control
    finally:
        admin.action.dataset_purge(id=private["id"])
