"""A staged resource is invisible to everyone who cannot edit its dataset, until the switch.

The publisher (catalog/ckan_publish.py) uploads a new revision's files with
``resource_create`` as resources marked ``publish_state = pending``, verifies
them, then switches them on with one ``package_patch``. Here a file is staged
with the publisher's own client and fields, then looked for, as an anonymous
visitor and as a logged-in editor of another organisation, everywhere CKAN
shows resources: the API (package_show, resource_show, resource_search,
package_search, every activity action), the HTML pages (dataset, activity,
changes) and DCAT. As sysadmin it is there; after the switch it is there for
everyone — the same checks then find it, so they can fail.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from catalog.ckan_client import CkanClient
from tests.integration.gdc_fields import GDC_STATISTICS

pytestmark = pytest.mark.integration

ORG = "dopa"
OTHER_ORG = "tambon-other-agency"
OTHER_USER = "tambon-other-editor"
DATASET = "tambon-staging-dataset"
PUBLISHED_NAME = "staging_dataset 2567-09 (2024-09) r1 · CSV"
STAGED_NAME = "staging_dataset 2567-10 (2024-10) r1 · Parquet zebrastaged"
STAGED_WORD = "zebrastaged"  # in the staged resource's name and description only


class Viewer:
    """Someone looking at the catalog over HTTP: anonymous (no token) or with an API token."""

    def __init__(self, url: str, token: str | None, label: str) -> None:
        self.url, self.token, self.label = url, token, label
        self.headers = {"Authorization": token} if token else {}

    def action(self, name: str, /, **params: object) -> object:
        response = requests.post(f"{self.url}/api/3/action/{name}", json=params, headers=self.headers, timeout=30)
        body = response.json()
        assert response.status_code == 200 and body["success"], (self.label, name, response.status_code, body)
        return body["result"]

    def status(self, name: str, /, **params: object) -> int:
        url = f"{self.url}/api/3/action/{name}"
        return requests.post(url, json=params, headers=self.headers, timeout=30).status_code

    def page(self, path: str) -> str:
        response = requests.get(self.url + path, headers=self.headers, timeout=30)
        assert response.status_code == 200, (self.label, path, response.status_code)
        return response.content.decode("utf-8")


def _text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _public_activity_detail(ckan_server) -> None:
    """Let everyone read activity details (``activity_show`` with data, ``activity_diff``, the changes
    page), as a site may choose to: the staged resource must stay hidden there too. (By default CKAN
    keeps those details to the dataset's editors.)"""
    ckan = Path(ckan_server.env["TAMBON_CKAN_HOME"]) / "venv" / "bin" / "ckan"
    ini = ckan_server.run_dir / "ckan.ini"
    subprocess.run(
        [str(ckan), "config-tool", str(ini), "ckan.auth.public_activity_stream_detail=true"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    restarted = ckan_server.ckan_sh("restart")
    assert restarted.returncode == 0, restarted.stderr


@pytest.fixture(scope="module")
def world(ckan_server, tmp_path_factory):
    _public_activity_detail(ckan_server)
    admin = Viewer(ckan_server.url, ckan_server.token, "sysadmin")
    admin.action("organization_create", name=ORG, title="กรมการปกครอง")
    admin.action("organization_create", name=OTHER_ORG, title="หน่วยงานอื่น")
    admin.action("user_create", name=OTHER_USER, email="other@example.invalid", password="Tambon-other-2567!")
    admin.action("organization_member_create", id=OTHER_ORG, username=OTHER_USER, role="editor")
    token = admin.action("api_token_create", user=OTHER_USER, name="test")["token"]
    other = Viewer(ckan_server.url, token, "editor of another organisation")
    anonymous = Viewer(ckan_server.url, None, "anonymous")

    package = admin.action(
        "package_create",
        name=DATASET,
        title="ชุดข้อมูลทดสอบการเผยแพร่",
        notes="ทดสอบการซ่อนไฟล์ที่ยังไม่เผยแพร่",
        owner_org=ORG,
        resources=[
            {
                "name": PUBLISHED_NAME,
                "url": "https://example.invalid/r1.csv",
                "format": "CSV",
                "role": "revision",
                "publish_state": "published",
            }
        ],
        **{k: v for k, v in GDC_STATISTICS.items() if k != "owner_org"},
    )
    other.action("follow_dataset", id=DATASET)  # so the dataset's activities reach the other user's dashboard

    # stage one file exactly as CkanPublisher._stage does: a multipart resource_create, publish_state pending
    staged_file: Path = tmp_path_factory.mktemp("staged") / "r1.parquet"
    staged_file.write_bytes(b"PAR1 staged revision bytes")
    client = CkanClient(ckan_server.url, ckan_server.token, retries=0)
    staged = client.upload(
        "resource_create",
        {
            "package_id": package["id"],
            "name": STAGED_NAME,
            "format": "Parquet",
            "hash": "0" * 64,
            "size": str(staged_file.stat().st_size),
            "role": "revision",
            "publish_state": "pending",
            "round": "2024-10",
            "round_be": "2567-10",
            "revision": "1",
            "file_format": "parquet",
            "description": f"รอบ 2567-10 ฉบับปรับปรุงที่ 1 {STAGED_WORD} / round 2024-10, revision 1",
        },
        "upload",
        staged_file,
    )
    return {"admin": admin, "other": other, "anonymous": anonymous, "staged": staged, "package": package}


def _surfaces(viewer: Viewer, staged_id: str) -> dict[str, str]:
    """Everything ``viewer`` can read that could name the staged resource, as text."""
    seen = {
        "package_show": _text(viewer.action("package_show", id=DATASET)),
        "resource_search by name": _text(viewer.action("resource_search", query=f"name:{STAGED_WORD}")),
        "resource_search by format": _text(viewer.action("resource_search", query="format:Parquet")),
        "resource_search all": _text(viewer.action("resource_search", query="url:")),
        "package_search q": _text(viewer.action("package_search", q=STAGED_WORD)),
        "package_search res_name": _text(viewer.action("package_search", fq=f"res_name:{STAGED_WORD}")),
        "package_search dataset": _text(
            viewer.action("package_search", q=f"name:{DATASET}", **{"facet.field": ["res_format"]})
        ),
        "package_search fl": _text(
            viewer.action("package_search", q=f"name:{DATASET}", fl=["name", "res_name", "data_dict"])
        ),
        "package_activity_list": _text(viewer.action("package_activity_list", id=DATASET)),
        "organization_activity_list": _text(viewer.action("organization_activity_list", id=ORG)),
        "recently_changed_packages_activity_list": _text(viewer.action("recently_changed_packages_activity_list")),
        "user_activity_list": _text(viewer.action("user_activity_list", id="tambon_admin")),
        "dataset page": viewer.page(f"/dataset/{DATASET}"),
        "dataset activity page": viewer.page(f"/dataset/activity/{DATASET}"),
        "organization activity page": viewer.page(f"/organization/activity/{ORG}"),
        "catalog.ttl": viewer.page("/catalog.ttl"),
        "dataset.ttl": viewer.page(f"/dataset/{DATASET}.ttl"),
    }
    if viewer.token:
        seen["dashboard_activity_list"] = _text(viewer.action("dashboard_activity_list"))
    return seen


def _staging_activities(world) -> list[dict]:
    """The activities (seen by the sysadmin) whose dataset copy holds the staged resource."""
    staged_id = world["staged"]["id"]
    activities = world["admin"].action("package_activity_list", id=DATASET)
    return [a for a in activities if staged_id in _text(a)]


@pytest.mark.parametrize("who", ["anonymous", "other"])
def test_staged_resource_is_nowhere_for_those_who_cannot_edit(world, who):
    viewer: Viewer = world[who]
    staged_id = world["staged"]["id"]
    surfaces = _surfaces(viewer, staged_id)
    for surface, text in surfaces.items():
        assert staged_id not in text, (who, surface)
        assert STAGED_WORD not in text, (who, surface)
    # the surfaces are not empty: the published revision and the dataset are there
    for surface in ("package_show", "dataset page", "dataset.ttl", "package_activity_list"):
        assert PUBLISHED_NAME in surfaces[surface] or DATASET in surfaces[surface], (who, surface)
    assert PUBLISHED_NAME in surfaces["package_show"] and PUBLISHED_NAME in surfaces["dataset page"]
    assert viewer.action("package_search", q=STAGED_WORD)["count"] == 0
    assert viewer.action("resource_search", query=f"name:{STAGED_WORD}")["count"] == 0
    assert "Parquet" not in _text(
        viewer.action("package_search", q=f"name:{DATASET}", **{"facet.field": ["res_format"]})["search_facets"]
    )
    # the resource itself and its download are refused
    assert viewer.status("resource_show", id=staged_id) == 403
    assert requests.get(world["staged"]["url"], headers=viewer.headers, timeout=30).status_code in (403, 404)


@pytest.mark.parametrize("who", ["anonymous", "other"])
def test_staging_activities_by_id_show_no_staged_resource(world, who):
    viewer: Viewer = world[who]
    staged_id = world["staged"]["id"]
    staging = _staging_activities(world)
    assert staging, "the sysadmin sees the staging in the activity stream"
    listed = {a["id"] for a in viewer.action("package_activity_list", id=DATASET)}
    for activity in staging:
        assert activity["id"] not in listed, "an activity that only staged files is left out of the stream"
        for action, params in (
            ("activity_show", {"id": activity["id"], "include_data": True}),
            ("activity_data_show", {"id": activity["id"]}),
            ("activity_data_show", {"id": activity["id"], "object_type": "package"}),
            ("activity_diff", {"id": activity["id"], "object_type": "package", "diff_type": "unified"}),
        ):
            text = _text(viewer.action(action, **params))
            assert staged_id not in text and STAGED_WORD not in text, (who, action, params)
        for path in (f"/dataset/changes/{activity['id']}", f"/dataset/{DATASET}/history/{activity['id']}"):
            text = viewer.page(path)
            assert staged_id not in text and STAGED_WORD not in text, (who, path)
            assert PUBLISHED_NAME in text or "tambon_admin" in text, (who, path)
        history = requests.get(
            f"{viewer.url}/dataset/{DATASET}/resources/{staged_id}/history/{activity['id']}",
            headers=viewer.headers,
            timeout=30,
        )
        assert history.status_code in (403, 404) and STAGED_WORD not in history.text


def test_sysadmin_sees_the_staged_resource(world):
    admin: Viewer = world["admin"]
    staged_id = world["staged"]["id"]
    assert staged_id in _text(admin.action("package_show", id=DATASET))
    assert admin.action("resource_show", id=staged_id)["publish_state"] == "pending"
    assert staged_id in _text(admin.action("resource_search", query=f"name:{STAGED_WORD}"))
    assert staged_id in _text(admin.action("package_activity_list", id=DATASET))
    assert staged_id in admin.page(f"/dataset/{DATASET}")


def test_after_the_switch_everyone_sees_it(world):
    """Runs last (file order): the publisher's switch, then the same surfaces find the resource."""
    admin: Viewer = world["admin"]
    staged_id = world["staged"]["id"]
    package = admin.action("package_show", id=DATASET)
    resources = [{**r, "publish_state": "published"} if r["id"] == staged_id else r for r in package["resources"]]
    admin.action("package_patch", id=package["id"], resources=resources, version="2567-10")
    for who in ("anonymous", "other"):
        viewer: Viewer = world[who]
        surfaces = _surfaces(viewer, staged_id)
        for surface in (
            "package_show",
            "resource_search by name",
            "package_search q",
            "package_search res_name",
            "package_search fl",
            "package_activity_list",
            "organization_activity_list",
            "recently_changed_packages_activity_list",
            "dataset page",
            "catalog.ttl",
            "dataset.ttl",
        ):
            assert staged_id in surfaces[surface] or STAGED_WORD in surfaces[surface], (who, surface)
        if who == "other":
            assert staged_id in surfaces["dashboard_activity_list"]
        assert viewer.action("resource_show", id=staged_id)["name"] == STAGED_NAME
        assert viewer.action("package_search", q=STAGED_WORD)["count"] == 1
        assert "Parquet" in _text(
            viewer.action("package_search", q=f"name:{DATASET}", **{"facet.field": ["res_format"]})["search_facets"]
        )
