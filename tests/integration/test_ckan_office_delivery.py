"""Correction workbooks reach their own district office alone, through CKAN's own permissions.

A small round (one province) is run up to the correction workbooks; ``tambon offices sync``
makes the province's district organisations and office users; the pipeline's
``ckan_corrections`` asset delivers each workbook as a private dataset of its office's
organisation. Then, over HTTP as each person would: the office's user finds, reads and
downloads its own workbook; an anonymous visitor and another office's user find nothing and
are refused everywhere CKAN could show it (API actions, pages, search, downloads, activity,
dashboards, DCAT); the sysadmin (the data team) sees all, the unattributed workbook too.
Sync and delivery run twice: the second time makes no write call. The privacy gate refuses to
put a workbook into a public dataset.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import stat
from pathlib import Path

import dagster as dg
import pytest
import requests

import samples.village_profile as generator
from catalog.ckan_client import CkanClient
from catalog.office_delivery import (
    Collection,
    Delivery,
    OfficeDelivery,
    _dataset_fields,
    content_digest,
    dataset_name,
)
from catalog.offices import DATA_TEAM_ORG, offices_from_registry, org_name, sync_offices, user_name
from catalog.privacy import PrivacyError
from domain.declarations import load_datasets
from domain.layout import DATA_TEAM_FILE, OFFICES_FOLDER, Layout
from domain.rounds import parse_round
from pipelines.cli import main
from tests.dagster_round import run_in_process
from tests.integration.viewers import Viewer, add_file

pytestmark = pytest.mark.integration

ROUND = parse_round("2563-10")
PROVINCE = "21"  # Rayong: a handful of districts
DATASET = "village_profile"
READS = {"package_show", "organization_show", "user_show", "resource_show", "download"}
ADMIN_USER = "tambon_admin"


def _text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _job_result(selection: list[dg.AssetKey] | None, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """The round's national run for ``selection``; ``None``: the whole round, the nation's run returned."""
    from pipelines.definitions import build_definitions

    if selection is None:
        return run_in_process(build_definitions(), DATASET, ROUND, instance)[-1]
    return (
        build_definitions()
        .resolve_job_def(f"{DATASET}_round")
        .execute_in_process(partition_key=ROUND.key, instance=instance, asset_selection=selection, raise_on_error=False)
    )


def _recording_client(server, calls: list[str]) -> CkanClient:
    return CkanClient(server.url, server.token, on_call=calls.append)


@pytest.fixture(scope="module")
def world(ckan_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("offices")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root))
    mp.delenv("CKAN_URL", raising=False)
    mp.delenv("CKAN_API_TOKEN", raising=False)
    layout = Layout(root)
    generator.generate(ROUND, layout.landing_dir(DATASET, ROUND), provinces=[PROVINCE])
    instance = dg.DagsterInstance.ephemeral()
    # the round with its correction workbooks, without CKAN (the public datasets are not needed here)
    assert _job_result(None, instance).success
    reports = layout.reports(DATASET, ROUND)
    mp.setenv("CKAN_URL", ckan_server.url)
    mp.setenv("CKAN_API_TOKEN", ckan_server.token)

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        first_sync = main(["offices", "sync", "--provinces", PROVINCE])
    sync_calls: list[str] = []
    second_sync = sync_offices(_recording_client(ckan_server, sync_calls), offices_from_registry([PROVINCE]))

    delivered = _job_result([dg.AssetKey([DATASET, "ckan_corrections"])], instance)
    deliver_calls: list[str] = []
    collection = Collection.of(load_datasets()[DATASET])
    second_delivery = OfficeDelivery(_recording_client(ckan_server, deliver_calls), collection).deliver_round(
        reports, ROUND
    )

    codes = sorted(p.name.split("_", 1)[0] for p in (reports / OFFICES_FOLDER).glob("*.xlsx"))
    assert len(codes) >= 2, "the sample round gives at least two district offices a workbook"
    own, other_code = codes[0], codes[1]
    admin = Viewer(ckan_server.url, ckan_server.token, "sysadmin")
    tokens = {
        code: admin.action("api_token_create", user=user_name(code), name="test")["token"] for code in (own, other_code)
    }
    office = Viewer(ckan_server.url, tokens[own], f"office {own}")
    other = Viewer(ckan_server.url, tokens[other_code], f"office {other_code}")
    anonymous = Viewer(ckan_server.url, None, "anonymous")
    name = dataset_name(DATASET, own)
    package = admin.action("package_show", id=name)
    yield {
        "server": ckan_server,
        "layout": layout,
        "reports": reports,
        "instance": instance,
        "printed": printed.getvalue(),
        "first_sync": first_sync,
        "second_sync": second_sync,
        "sync_calls": sync_calls,
        "delivered": delivered,
        "deliver_calls": deliver_calls,
        "second_delivery": second_delivery,
        "collection": collection,
        "codes": codes,
        "own": own,
        "other_code": other_code,
        "name": name,
        "package": package,
        "resource": package["resources"][0],
        "admin": admin,
        "office": office,
        "other": other,
        "anonymous": anonymous,
    }
    mp.undo()


def test_sync_makes_organisations_and_office_users_then_nothing(world):
    assert world["first_sync"] == 0
    admin: Viewer = world["admin"]
    offices = offices_from_registry([PROVINCE])
    for office in offices:
        org = admin.action("organization_show", id=office.org, include_users=True)
        assert org["title"] == office.title
        capacities = {u["name"]: u["capacity"] for u in org["users"]}
        assert capacities[office.user] == "editor", "adds its corrections (office_guard refuses the rest)"
        assert not {o.user for o in offices if o != office} & set(capacities), "no other office is a member"
    data_team = admin.action("organization_show", id=DATA_TEAM_ORG, include_users=True)
    assert not [u for u in data_team["users"] if u["name"].startswith("office-")]
    # the passwords: a 0600 file with one line per new user, never printed
    credentials = world["layout"].root / "private" / "office_credentials.csv"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    rows = list(csv.DictReader(credentials.open(encoding="utf-8")))
    assert sorted(r["user"] for r in rows) == sorted(o.user for o in offices)
    assert len({r["password"] for r in rows}) == len(rows)
    assert all(r["password"] not in world["printed"] for r in rows)
    assert world["server"].token not in world["printed"]
    # run twice: the second makes no write call at all
    assert world["second_sync"].writes == 0 and world["second_sync"].unchanged == len(offices)
    assert world["sync_calls"] and not [c for c in world["sync_calls"] if c not in READS]


def _web_login(url: str, user: str, password: str) -> requests.Session:
    """A browser's login: the form's CSRF token, then the form as sent ("remember me" is ticked by default)."""
    session = requests.Session()
    form = session.get(f"{url}/user/login", timeout=30).text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form)
    assert token, "the login form carries its CSRF token"
    fields = {"login": user, "password": password, "_csrf_token": token.group(1), "remember": "63072000"}
    assert session.post(f"{url}/user/login", data=fields, timeout=30).status_code == 200
    return session


def test_a_password_from_the_credentials_file_logs_the_office_in(world):
    """The office's web login with the generated password, then its own private dataset's page."""
    url, name = world["server"].url, world["name"]
    credentials = world["layout"].root / "private" / "office_credentials.csv"
    row = next(r for r in csv.DictReader(credentials.open(encoding="utf-8")) if r["user"] == user_name(world["own"]))
    page = _web_login(url, row["user"], row["password"]).get(f"{url}/dataset/{name}", timeout=30)
    assert page.status_code == 200 and name in page.text
    wrong = _web_login(url, row["user"], "not-the-password").get(f"{url}/dataset/{name}", timeout=30)
    assert wrong.status_code in (403, 404)  # (its page names the dataset only as the URL asked for, to switch language)


def test_each_workbook_is_a_private_dataset_of_its_office(world):
    assert world["delivered"].success
    checks = world["delivered"].get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("delivered_to_every_office", True)]
    admin: Viewer = world["admin"]
    reports = world["reports"]
    for code in world["codes"]:
        package = admin.action("package_show", id=dataset_name(DATASET, code))
        assert package["private"] is True and package["organization"]["name"] == org_name(code)
        (resource,) = package["resources"]
        assert resource["round"] == ROUND.key and resource["format"] == "XLSX"
        local = next((reports / OFFICES_FOLDER).glob(f"{code}_*.xlsx")).read_bytes()
        assert admin.get(resource["url"]).content == local
    unattributed = admin.action("package_show", id=dataset_name(DATASET, None))
    assert unattributed["private"] is True and unattributed["organization"]["name"] == DATA_TEAM_ORG
    assert admin.get(unattributed["resources"][0]["url"]).content == (reports / DATA_TEAM_FILE).read_bytes()


def test_delivering_again_writes_nothing(world):
    again = world["second_delivery"]
    assert not again.uploaded and not again.not_synced and len(again.unchanged) == len(world["codes"]) + 1
    assert world["deliver_calls"] and not [c for c in world["deliver_calls"] if c not in READS]


def test_rewritten_workbooks_with_the_same_rows_are_not_sent_again(world):
    """The asset writes the workbooks anew (new save times, other bytes); their content is the same."""
    before = {p.name: p.read_bytes() for p in (world["reports"] / OFFICES_FOLDER).glob("*.xlsx")}
    assert _job_result([dg.AssetKey([DATASET, "correction_workbooks"])], world["instance"]).success
    calls: list[str] = []
    again = OfficeDelivery(_recording_client(world["server"], calls), world["collection"]).deliver_round(
        world["reports"], ROUND
    )
    assert not again.uploaded and not [c for c in calls if c not in READS], again
    assert set(before) == {p.name for p in (world["reports"] / OFFICES_FOLDER).glob("*.xlsx")}


def _digest_of(data: bytes, folder: Path) -> str:
    path = folder / "downloaded.xlsx"
    path.write_bytes(data)
    return content_digest(path)


def test_the_office_finds_reads_and_downloads_its_own_workbook(world, tmp_path):
    office: Viewer = world["office"]
    name, resource = world["name"], world["resource"]
    assert office.action("package_show", id=name)["private"] is True
    assert office.action("resource_show", id=resource["id"])["round"] == ROUND.key
    found = office.action("package_search", q=name, include_private=True)
    assert [r["name"] for r in found["results"]] == [name]
    download = office.get(resource["url"])
    assert download.status_code == 200 and hashlib.sha256(download.content).hexdigest() == resource["hash"]
    # the same rows as the workbook on disk (rewritten since by a test above: other save time, same content)
    local = next((world["reports"] / OFFICES_FOLDER).glob(f"{world['own']}_*.xlsx"))
    assert _digest_of(download.content, tmp_path) == content_digest(local)
    assert world["package"]["id"] in _text(office.action("package_activity_list", id=name))
    assert office.get(f"/dataset/{name}").status_code == 200
    # but not another office's, nor the data team's
    for hidden in (dataset_name(DATASET, world["other_code"]), dataset_name(DATASET, None)):
        assert office.post("package_show", id=hidden).status_code in (403, 404)


def _activity_ids(world) -> list[str]:
    """The activities on the office's dataset, as the sysadmin sees them."""
    return [a["id"] for a in world["admin"].action("package_activity_list", id=world["name"])]


@pytest.mark.parametrize("who", ["anonymous", "other"])
def test_nobody_else_finds_reads_or_downloads_it(world, who):
    viewer: Viewer = world[who]
    name, package, resource = world["name"], world["package"], world["resource"]
    own_org = org_name(world["own"])
    marks = (package["id"], resource["id"], name, package["title"])

    def hidden(text: str, where: str) -> None:
        for mark in marks:
            if mark not in where:  # a refused page repeats the URL it was asked for (its language switch)
                assert mark not in text, (who, where, mark)

    # API actions on the dataset and its file: refused
    for action, params in (
        ("package_show", {"id": name}),
        ("package_show", {"id": package["id"]}),
        ("resource_show", {"id": resource["id"]}),
        ("package_activity_list", {"id": name}),
        ("resource_view_list", {"id": resource["id"]}),
    ):
        assert viewer.post(action, **params).status_code in (403, 404), (who, action)
    for activity in _activity_ids(world):
        assert viewer.post("activity_show", id=activity, include_data=True).status_code in (403, 404), who
        assert viewer.post("activity_data_show", id=activity).status_code in (403, 404), who
    # downloads and pages: refused
    for path in (
        resource["url"],
        f"/dataset/{name}",
        f"/dataset/{package['id']}",
        f"/dataset/{name}/resource/{resource['id']}",
        f"/dataset/activity/{name}",
        f"/dataset/{name}.rdf",
        f"/dataset/{name}.ttl",
        f"/dataset/{name}.jsonld",
    ):
        response = viewer.get(path)
        assert response.status_code in (403, 404), (who, path, response.status_code)
        hidden(response.text, path)
    # search: not found, even when asking for private datasets
    for params in (
        {"q": name, "include_private": True},
        {"q": "แบบแก้ไขข้อมูล", "include_private": True},
        {"q": "corrections", "include_private": True},
        {"fq": f"organization:{own_org}", "include_private": True},
        {"include_private": True, "rows": 100},
    ):
        result = viewer.action("package_search", **params)
        hidden(_text(result), f"package_search {params}")
    assert viewer.action("package_search", q=name, include_private=True)["count"] == 0
    for query in ("format:XLSX", f"name:{ROUND.be_key}", "url:"):
        hidden(_text(viewer.action("resource_search", query=query)), f"resource_search {query}")
    # activity streams and dashboards: none of its activities
    streams = {
        "organization_activity_list": viewer.action("organization_activity_list", id=own_org),
        "recently_changed_packages_activity_list": viewer.action("recently_changed_packages_activity_list"),
        "user_activity_list": viewer.action("user_activity_list", id=ADMIN_USER),
    }
    if who == "other":
        streams["dashboard_activity_list"] = viewer.action("dashboard_activity_list")
        dashboard = viewer.get("/dashboard/")
        assert dashboard.status_code == 200 and dashboard.url.endswith("/dashboard/"), "logged in, not sent to login"
        streams["dashboard page"] = dashboard.text
    for stream, value in streams.items():
        hidden(value if isinstance(value, str) else _text(value), stream)
    # the organisation exists publicly (its name is not personal) but shows none of its datasets
    for path in (f"/organization/{own_org}", f"/organization/activity/{own_org}", "/dataset/", "/catalog.ttl"):
        response = viewer.get(path)
        assert response.status_code == 200, (who, path, response.status_code)
        hidden(response.text, path)
    assert viewer.action("organization_show", id=own_org, include_datasets=True)["package_count"] == 0


def test_a_changed_workbook_replaces_the_rounds_file(world):
    """A workbook with other content for the same round: the round's resource gets the new file, nothing else."""
    from openpyxl import load_workbook

    path = next((world["reports"] / OFFICES_FOLDER).glob(f"{world['own']}_*.xlsx"))
    workbook = load_workbook(path)
    workbook.worksheets[0]["A1"] = "แก้ไขแล้ว / corrected"
    workbook.save(path)
    calls: list[str] = []
    again = OfficeDelivery(_recording_client(world["server"], calls), world["collection"]).deliver_round(
        world["reports"], ROUND
    )
    assert again.uploaded == [world["name"]] and len(again.unchanged) == len(world["codes"])
    assert [c for c in calls if c not in READS] == ["resource_patch"]
    package = world["admin"].action("package_show", id=world["name"])
    (resource,) = package["resources"]
    assert resource["id"] == world["resource"]["id"]
    assert world["office"].get(resource["url"]).content == path.read_bytes()


def test_the_sysadmin_sees_all(world):
    admin: Viewer = world["admin"]
    found = admin.action("package_search", q="corrections", include_private=True, rows=100)
    names = {r["name"] for r in found["results"]}
    assert {dataset_name(DATASET, code) for code in world["codes"]} | {dataset_name(DATASET, None)} <= names
    # (CKAN's organization_activity_list leaves private datasets out for everyone, sysadmins too)
    assert world["resource"]["id"] in _text(admin.action("package_activity_list", id=world["name"]))
    assert admin.get(f"/dataset/{world['name']}").status_code == 200
    assert world["package"]["id"] in admin.get(f"/dataset/{world['name']}.ttl").text  # DCAT names it by id


def test_an_office_sends_corrections_back_and_can_do_nothing_that_publishes(world):
    """The office user is an editor so that it can add its corrections; office_guard refuses everything else."""
    office, other, anonymous, admin = world["office"], world["other"], world["anonymous"], world["admin"]
    package, delivered = world["package"], world["resource"]
    sent = add_file(office, package["id"], "แก้ไขแล้ว.xlsx", b"corrected workbook bytes")
    assert sent.status_code == 200 and sent.json()["success"], sent.text
    upload = sent.json()["result"]
    assert office.get(upload["url"]).content == b"corrected workbook bytes"
    # nobody else can add to the office's dataset, or see what it sent
    for viewer in (other, anonymous):
        assert add_file(viewer, package["id"], "x.xlsx", b"x").status_code == 403, viewer.label
        assert viewer.post("resource_show", id=upload["id"]).status_code in (403, 404), viewer.label
        assert viewer.get(upload["url"]).status_code in (403, 404), viewer.label
    refused = {
        "make it public": office.post("package_patch", id=package["id"], private=False),
        "update without saying private": office.post("package_update", **{**package, "private": None}),
        "create a dataset in its organisation": office.post(
            "package_create",
            **{**{k: v for k, v in package.items() if k not in ("id", "resources")}, "name": "office-made-this",
               "private": False},
        ),
        "bulk make public": office.post("bulk_update_public", org_id=package["owner_org"], datasets=[package["id"]]),
        "bulk delete": office.post("bulk_update_delete", org_id=package["owner_org"], datasets=[package["id"]]),
        "delete the dataset": office.post("package_delete", id=package["id"]),
        "move it to another organisation": office.post(
            "package_owner_org_update", id=package["id"], organization_id=org_name(world["other_code"])
        ),
        "replace the delivered workbook": office.post("resource_patch", id=delivered["id"], name="mine now"),
        "delete the delivered workbook": office.post("resource_delete", id=delivered["id"]),
    }  # fmt: skip
    assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 403)
    shown = admin.action("package_show", id=package["id"])
    assert shown["private"] is True and shown["organization"]["name"] == org_name(world["own"])
    assert any(r["id"] == delivered["id"] and r["name"] == delivered["name"] for r in shown["resources"])
    # the dataset page offers the office no edit of the delivered workbook (it would be refused); the data team one
    edit = f"/resource/{delivered['id']}/edit"
    assert edit not in office.get(f"/dataset/{package['name']}").text
    assert edit in admin.get(f"/dataset/{package['name']}").text
    # what it sent stays sent (a later upload supersedes it: nothing is lost); the data team may still do all
    assert office.post("resource_delete", id=upload["id"]).status_code == 403
    assert admin.post("resource_patch", id=delivered["id"], description=delivered["description"]).status_code == 200


def test_the_gate_refuses_a_workbook_for_a_public_dataset(world):
    """A workbook dataset someone made public: the delivery refuses to upload and makes it private again."""
    admin: Viewer = world["admin"]
    office = next(o for o in offices_from_registry([PROVINCE]) if o.amphoe_code == world["own"])
    probe = Collection("gate_probe", "ทดสอบประตูความเป็นส่วนตัว", "privacy gate probe")
    fields = {**_dataset_fields(probe, office), "private": False}
    admin.action("package_create", **fields)
    assert world["anonymous"].post("package_show", id=fields["name"]).status_code == 200  # public, for now
    calls: list[str] = []
    delivery = OfficeDelivery(_recording_client(world["server"], calls), probe)
    workbook = next((world["reports"] / OFFICES_FOLDER).glob(f"{world['own']}_*.xlsx"))
    with pytest.raises(PrivacyError) as refused:
        delivery.deliver_file(workbook, ROUND, office, Delivery())
    assert [leak.kind for leak in refused.value.leaks] == ["correction_workbook_public"]
    assert "resource_create" not in calls and "resource_patch" not in calls
    after = admin.action("package_show", id=fields["name"])
    assert after["private"] is True and after["resources"] == []
    assert world["anonymous"].post("package_show", id=fields["name"]).status_code in (403, 404)


def test_control_once_public_the_same_checks_find_it(world):
    """Runs last (file order): the office's dataset made public by hand, the checks above now find it, so
    their "not found" is CKAN's permissions at work and not a check that cannot fail."""
    admin: Viewer = world["admin"]
    anonymous: Viewer = world["anonymous"]
    name, package, resource = world["name"], world["package"], world["resource"]
    own_org = org_name(world["own"])
    admin.action("package_patch", id=package["id"], private=False)
    try:
        assert anonymous.post("package_show", id=name).status_code == 200
        assert anonymous.post("resource_show", id=resource["id"]).status_code == 200
        assert anonymous.get(resource["url"]).status_code == 200
        assert anonymous.get(f"/dataset/{name}").status_code == 200
        assert anonymous.action("package_search", q=name, include_private=True)["count"] == 1
        assert name in anonymous.get(f"/organization/{own_org}").text
        assert package["id"] in anonymous.get("/catalog.ttl").text
        assert package["id"] in _text(anonymous.action("recently_changed_packages_activity_list"))
        assert package["id"] in _text(anonymous.action("organization_activity_list", id=own_org))
    finally:
        admin.action("package_patch", id=package["id"], private=True)
    assert anonymous.post("package_show", id=name).status_code in (403, 404)
