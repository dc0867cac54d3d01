"""The round's quality report on the portal, and resource names people can read, on a real CKAN.

A small village round (Samut Songkhram) goes through the stages in-process, into
the local catalog, then into CKAN by the publisher. Read back anonymously over
HTTP: the quality dataset carries the round's report as a resource with a
web-page view, its resource page frames the report, and CKAN serves the report as
a page (``text/html``, inline), byte for byte the local copy. Every resource name
starts Thai, with the round as a B.E. month, the revision, the format and the
size. A re-run with nothing new writes nothing; a report that leaks is refused
before anything of it is uploaded.
"""

from __future__ import annotations

import hashlib
import re
from html import unescape
from pathlib import Path

import ckanapi
import pytest
import requests

import samples.village_profile as generator
from catalog.ckan_client import CkanClient
from catalog.ckan_publish import (
    REPORT_PAGE,
    REPORT_VIEW_TITLE,
    CkanPublisher,
    TokenInFileError,
    report_files,
    revision_files,
    size_label,
)
from catalog.local import LocalCatalog
from catalog.privacy import PrivacyError
from domain.declarations import load_datasets
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages
from tests.browser import CHROMIUM, MISSING, chromium

pytestmark = pytest.mark.integration

ROUND = parse_round("2563-10")
QUALITY = "village-profile-quality"
READS = ("package_show", "organization_show", "download")
#: ``[ล่าสุด |รายงานคุณภาพ ]ต.ค. 2563 · FORMAT (SIZE) · ฉบับที่ N / … Oct 2020 rN``
NAME = re.compile(
    r"^(?:ล่าสุด |รายงานคุณภาพ )?ต\.ค\. 2563 · (?:CSV|Parquet|คำอธิบายข้อมูล JSON|HTML) "
    r"\(([\d.,]+ (?:B|KB|MB))\) · ฉบับที่ (\d+) / (?:Latest: |Quality report )?Oct 2020 r\2(?: metadata)?$"
)


@pytest.fixture(scope="module")
def world(ckan_server, tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("ckan-report"))
    spec = load_datasets()["village_profile"]
    generator.generate(ROUND, layout.landing_dir(spec.name, ROUND), provinces=["75"])
    job = stages.RoundJob(spec, ROUND, layout)
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    local = LocalCatalog(layout.catalog)
    stages.publish(job, local)
    world = {"local": local, "server": ckan_server, "anon": ckanapi.RemoteCKAN(ckan_server.url)}
    publisher = _publisher(world)
    publisher.ensure_organization()
    _publish_all(publisher, local)
    return world


def _publisher(world, calls: list[str] | None = None) -> CkanPublisher:
    client = CkanClient(world["server"].url, world["server"].token, on_call=calls.append if calls is not None else None)
    return CkanPublisher(client, world["local"])


def _publish_all(publisher: CkanPublisher, local: LocalCatalog) -> dict:
    return {p.parent.name: publisher.publish(p.parent.name) for p in sorted(local.root.glob("*/latest.json"))}


def _writes(calls: list[str]) -> list[str]:
    return [c for c in calls if c not in READS]


def _reports(package: dict) -> list[dict]:
    return [r for r in package["resources"] if r.get("role") == "report"]


def _page(world) -> Path:
    return world["local"].root / "village_profile_quality" / ROUND.key / REPORT_PAGE


def test_the_quality_dataset_carries_the_rounds_report_with_a_web_page_view(world):
    package = world["anon"].action.package_show(id=QUALITY)  # anonymous: the public sees it
    [report] = _reports(package)
    [local] = report_files(world["local"], "village_profile_quality")
    data = _page(world).read_bytes()
    assert local.sha256 == hashlib.sha256(data).hexdigest() == report["hash"]
    assert report["format"] == "HTML" and report["size"] == len(data) and report["publish_state"] == "published"
    assert report["revision"] == str(world["local"].pointer("village_profile_quality")["rounds"][ROUND.key]["revision"])
    assert report["name"].startswith("รายงานคุณภาพ ต.ค. 2563 · HTML (") and NAME.match(report["name"])
    views = world["anon"].action.resource_view_list(id=report["id"])
    assert [(v["view_type"], v["title"]) for v in views] == [("webpage_view", REPORT_VIEW_TITLE)]
    assert package["resources"][0]["role"] == "latest" and package["resources"][3]["id"] == report["id"]


def test_the_report_opens_from_the_dataset_page_inside_ckans_page(world):
    url = world["server"].url
    [report] = _reports(world["anon"].action.package_show(id=QUALITY))
    dataset_page = requests.get(f"{url}/dataset/{QUALITY}", timeout=60)
    assert dataset_page.status_code == 200
    assert f"/resource/{report['id']}" in dataset_page.text
    # the list shows the name cut at 50 characters: the kind, the B.E. month, the format and the size survive it
    shown = rf">\s*รายงานคุณภาพ ต\.ค\. 2563 · HTML \({re.escape(size_label(report['size']))}\)"
    assert re.search(shown, dataset_page.text), shown

    resource_page = requests.get(f"{url}/dataset/{QUALITY}/resource/{report['id']}", timeout=60)
    assert resource_page.status_code == 200
    frames = [unescape(src) for src in re.findall(r'<iframe[^>]*\ssrc="([^"]+)"', resource_page.text)]
    assert frames == [report["url"]] and report["url"].startswith(url)

    served = requests.get(report["url"], timeout=60)  # what the frame loads, without a login
    assert served.status_code == 200 and served.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "attachment" not in served.headers.get("Content-Disposition", "")  # shown, not downloaded
    assert served.headers.get("X-Frame-Options", "SAMEORIGIN").upper() == "SAMEORIGIN"  # CKAN's page may frame it
    assert served.content == _page(world).read_bytes()
    assert '<html lang="th">' in served.text and "ตำบลที่ยังไม่รายงาน" in served.text


@pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING)
def test_a_browser_renders_the_report_ckan_serves(world, tmp_path):
    """Chromium loads the report from CKAN's URL: served as a page, its charts become SVG elements."""
    [report] = _reports(world["anon"].action.package_show(id=QUALITY))
    dom = chromium(report["url"], tmp_path, "--dump-dom").stdout
    assert re.search(r'<svg[^>]*\bid="chart-province-completeness"[^>]*role="img"', dom)
    assert "<pre" not in dom[:2000]  # a page shown as text would be one <pre> block


def test_resource_names_are_thai_first_with_the_be_round_the_revision_and_the_size(world):
    local = {(f.round, f.revision, f.format): f for f in revision_files(world["local"], "village_profile_tambon")}
    package = world["anon"].action.package_show(id="village-profile-tambon")
    named = [r for r in package["resources"] if r.get("role") in ("revision", "latest")]
    assert len(named) == 6
    for resource in named:
        match = NAME.match(resource["name"])
        assert match, resource["name"]
        file = local[(ROUND.key, int(match.group(2)), resource["file_format"])]
        assert resource["size"] == file.size and match.group(1) == size_label(file.size), resource["name"]
        assert resource["name"].startswith("ล่าสุด ") == (resource["role"] == "latest")


def test_renamed_once_then_a_rerun_writes_nothing(world):
    admin = ckanapi.RemoteCKAN(world["server"].url, apikey=world["server"].token)
    old = admin.action.package_show(id="village-profile-nation")
    for resource in old["resources"]:  # the names this catalog gave before
        admin.action.resource_patch(id=resource["id"], name=f"village_profile_nation {resource['id'][:6]} · CSV")
    calls: list[str] = []
    outcomes = _publish_all(_publisher(world, calls), world["local"])
    assert _writes(calls) == ["package_patch"] and outcomes["village_profile_nation"].switched
    renamed = admin.action.package_show(id="village-profile-nation")
    assert [r["name"] for r in renamed["resources"]] == [r["name"] for r in old["resources"]]

    calls.clear()
    outcomes = _publish_all(_publisher(world, calls), world["local"])
    assert _writes(calls) == [] and not any(o.uploaded or o.switched for o in outcomes.values())


def test_a_report_re_rendered_for_the_same_revision_replaces_the_one_shown(world):
    [before] = _reports(world["anon"].action.package_show(id=QUALITY))
    page = _page(world)
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<!-- re-rendered -->\n</body>"))
    calls: list[str] = []
    outcome = _publisher(world, calls).publish("village_profile_quality")
    assert outcome.switched and [n for n in outcome.uploaded] == [
        report_files(world["local"], "village_profile_quality")[0].resource_name
    ]
    assert {"resource_create", "resource_view_create", "package_patch"} <= set(calls)
    [after] = _reports(world["anon"].action.package_show(id=QUALITY))
    assert after["id"] != before["id"] and after["revision"] == before["revision"]
    assert requests.get(after["url"], timeout=60).content == page.read_bytes()
    assert [v["view_type"] for v in world["anon"].action.resource_view_list(id=after["id"])] == ["webpage_view"]
    gone = requests.get(f"{world['server'].url}/api/3/action/resource_show", params={"id": before["id"]}, timeout=60)
    assert gone.status_code in (403, 404)

    calls.clear()
    _publisher(world, calls).publish("village_profile_quality")
    assert _writes(calls) == []


def _valid_citizen_id() -> str:
    digits = [1, 1, 0, 1, 7, 0, 0, 2, 0, 7, 1, 3]
    check = (11 - sum(d * (13 - i) for i, d in enumerate(digits)) % 11) % 10
    return "".join(map(str, digits)) + str(check)


@pytest.mark.parametrize(
    ("insert", "error"),
    [
        (lambda world: f"<p>เลขประจำตัว {_valid_citizen_id()}</p>", PrivacyError),
        (lambda world: "<table><tr><th>ชื่อผู้ใหญ่บ้าน</th></tr><tr><td>-</td></tr></table>", PrivacyError),
        (lambda world: f"<!-- {world['server'].token} -->", TokenInFileError),
    ],
    ids=["citizen-id", "personal-column", "api-token"],
)
def test_a_leaking_report_is_refused_before_anything_of_it_is_uploaded(world, insert, error):
    page = _page(world)
    clean = page.read_bytes()
    admin = ckanapi.RemoteCKAN(world["server"].url, apikey=world["server"].token)
    shown = _reports(admin.action.package_show(id=QUALITY))
    page.write_bytes(clean.replace(b"</body>", insert(world).encode() + b"</body>"))
    calls: list[str] = []
    try:
        with pytest.raises(error) as refused:
            _publisher(world, calls).publish("village_profile_quality")
    finally:
        page.write_bytes(clean)
    assert _writes(calls) == [] and "ไม่เผยแพร่" in str(refused.value)
    assert world["server"].token not in str(refused.value)
    assert _reports(admin.action.package_show(id=QUALITY)) == shown  # nothing staged, nothing switched
