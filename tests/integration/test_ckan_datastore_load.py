"""The DataStore load of a round (catalog/datastore_load.py and ckanext-tambon's ``tambon_datastore_load``).

On a real CKAN: the server's COPY load types every value as the Action API does (the old way, row by row);
a re-published revision of a round replaces that round's rows (none left over, none doubled); a re-run
writes nothing; a file whose hash is not the one expected is refused.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

import samples.village_profile as generator
from catalog.ckan_client import CkanClient, CkanError
from catalog.ckan_publish import CkanPublisher, datastore_fields
from catalog.datastore_load import SERVER_ACTION, load_round
from catalog.local import LocalCatalog
from domain.declarations import load_datasets
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages

pytestmark = pytest.mark.integration

ROUND = parse_round("2563-10")
DATASET = "village_profile"
READS = ("package_show", "organization_show", "download", "datastore_search", "resource_show")


def _local_round(layout: Layout) -> None:
    job = stages.RoundJob(load_datasets()[DATASET], ROUND, layout)
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    stages.publish(job, LocalCatalog(layout.catalog))


@pytest.fixture(scope="module")
def world(ckan_server, tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("datastore-load"))
    generator.generate(ROUND, layout.landing_dir(DATASET, ROUND), provinces=["21"], bad_files=False)
    _local_round(layout)
    return {"layout": layout, "local": LocalCatalog(layout.catalog), "server": ckan_server}


def _client(world, calls: list[str] | None = None) -> CkanClient:
    return CkanClient(world["server"].url, world["server"].token, on_call=calls.append if calls is not None else None)


def _current(world) -> tuple[dict, dict, object]:
    """The round's current revision in the local catalog: (pointer entry, Table Schema, CSV path)."""
    local = world["local"]
    current = local.pointer(DATASET)["rounds"][ROUND.key]
    folder = local.root / DATASET / current["path"]
    schema = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))["resources"][0]["schema"]
    return current, schema, folder / current["files"]["csv"]["path"]


def _publish(world, calls: list[str] | None = None):
    _, schema, _ = _current(world)
    publisher = CkanPublisher(_client(world, calls), world["local"])
    publisher.ensure_organization()
    return publisher.publish(DATASET, schema)


def _table(client: CkanClient) -> str:
    package = client.call("package_show", id="village-profile")
    return next(r for r in package["resources"] if r.get("role") == "datastore")["id"]


def _rows(client: CkanClient, table: str) -> dict:
    got = client.call("datastore_search", resource_id=table, limit=10000, sort="round, village_code")
    assert got["total"] == len(got["records"])
    return {
        "types": {f["id"]: f["type"] for f in got["fields"] if f["id"] != "_id"},
        "records": [{k: v for k, v in r.items() if k != "_id"} for r in got["records"]],
    }


def _csv_rows(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


class _NoServerLoad(CkanClient):
    """A CKAN without our extension's load action, as a remote catalog may be."""

    def call(self, action: str, **data):
        if action == SERVER_ACTION:
            raise CkanError(action, f"Bad request - Action name not known: {action}")
        return super().call(action, **data)


def test_the_server_load_types_every_value_as_the_action_api_does(world):
    calls: list[str] = []
    outcome = _publish(world, calls)
    assert SERVER_ACTION in calls and "datastore_upsert" not in calls  # loaded by COPY on the server
    _, schema, path = _current(world)
    assert outcome.datastore_rows == len(_csv_rows(path))
    client = _client(world)
    table = _table(client)
    ours = _rows(client, table)
    # the same round through the Action API only (the fallback; one SQL statement a row) into a table of its own
    package = client.call("package_show", id="village-profile")
    reference = client.call(
        "datastore_create",
        resource={"package_id": package["id"], "name": "reference"},
        fields=datastore_fields(schema),
        primary_key=schema["primaryKey"],
        force=True,
    )["resource_id"]
    fallback = _NoServerLoad(world["server"].url, world["server"].token)
    assert load_round(fallback, reference, schema, path, ROUND.key, source=None) == len(ours["records"])
    try:
        assert _rows(client, reference) == ours
        # the free-text search (_full_text: CKAN's trigger there, computed in bulk here) finds the same rows
        first = ours["records"][0]
        for q in (first["village_name"], first["tambon_name_en"], str(first["households"]), "true", first["round"]):
            found = [
                {r["village_code"] for r in client.call("datastore_search", resource_id=t, q=q, limit=1000)["records"]}
                for t in (table, reference)
            ]
            assert found[0] == found[1] and found[0], q
        # a table loaded before (GiST indexes, rows of the round) loaded again by the server: the same rows
        current, _, _ = _current(world)
        source = next(
            r
            for r in package["resources"]
            if r.get("role") == "revision"
            and r.get("file_format") == "csv"
            and r.get("hash") == current["files"]["csv"]["sha256"]
        )
        calls: list[str] = []
        loaded = load_round(_client(world, calls), reference, schema, path, ROUND.key, source, source["hash"])
        assert calls == [SERVER_ACTION] and loaded == len(ours["records"])
        assert _rows(client, reference) == ours
    finally:
        client.call("resource_delete", id=reference)
    assert (ours["types"]["households"], ours["types"]["has_electricity"], ours["types"]["survey_date"]) == (
        "int8",
        "bool",
        "date",
    )
    assert ours["types"]["latitude"] == "float8" and ours["types"]["village_name"] == "text"
    record = ours["records"][0]
    assert isinstance(record["households"], int) and isinstance(record["has_electricity"], bool)
    # the data dictionary is the one the publisher declared: Thai and English labels, the boolean's words
    fields = {f["id"]: f.get("info", {}) for f in client.call("datastore_search", resource_id=table, limit=0)["fields"]}
    for declared in datastore_fields(schema):
        shown = fields[declared["id"]]
        assert {k: shown.get(k) for k in declared["info"]} == declared["info"], declared["id"]
    info = fields["has_electricity"]
    assert info["label_translated"] == {"th": "ไฟฟ้า", "en": "Has electricity"}
    assert (info["true_text"], info["false_text"]) == ("มี", "ไม่มี")


def test_a_republished_revision_replaces_the_rounds_rows(world):
    client = _client(world)
    table = _table(client)
    before = _rows(client, table)["records"]
    # offices send their files again: one household count changed, and one village left out (of every file
    # that had it: a round's files may repeat a village)
    folder = world["layout"].landing_dir(DATASET, ROUND)
    path = next(p for p in sorted(folder.iterdir()) if p.suffix == ".csv" and p.read_bytes()[:3] == b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    column = next(i for i, h in enumerate(rows[0]) if h.strip() in ("จำนวนครัวเรือน", "households"))
    rows[1][column] = "977"
    published = {r["village_code"] for r in before}
    gone = next(row[0].strip() for row in reversed(rows[2:]) if row and row[0].strip() in published)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    for other in folder.iterdir():  # codes are ASCII digits whatever a file's encoding
        data = other.read_bytes()
        if other.suffix.lower() == ".csv" and gone.encode() in data:
            other.write_bytes(b"\n".join(line for line in data.split(b"\n") if gone.encode() not in line))
    _local_round(world["layout"])
    current, _, csv_path = _current(world)
    assert current["revision"] == 2
    calls: list[str] = []
    assert _publish(world, calls).datastore_rows == len(_csv_rows(csv_path))
    assert calls.count(SERVER_ACTION) == 1
    after = _rows(client, table)["records"]
    expected = _csv_rows(csv_path)
    assert gone not in {r["village_code"] for r in expected}
    assert len(after) == len(expected) == len(before) - 1  # the village left out is gone, nothing doubled
    assert gone not in {r["village_code"] for r in after}
    assert [r["village_code"] for r in after] == sorted(r["village_code"] for r in expected)
    assert len({(r["round"], r["village_code"]) for r in after}) == len(after)
    assert {r["village_code"]: r["households"] for r in after} == {
        r["village_code"]: int(r["households"]) if r["households"] else None for r in expected
    }
    assert 977 in {r["households"] for r in after}
    package = client.call("package_show", id="village-profile")
    loaded = json.loads(next(r for r in package["resources"] if r.get("role") == "datastore")["loaded_versions"])
    assert loaded == {ROUND.key: current["version"]}


def test_a_rerun_loads_nothing(world):
    calls: list[str] = []
    outcome = _publish(world, calls)
    writes = [c for c in calls if c not in READS]
    assert writes == [] and outcome.datastore_rows == 0


def test_the_server_refuses_a_file_that_is_not_the_one_expected(world):
    client = _client(world)
    current, _, _ = _current(world)
    package = client.call("package_show", id="village-profile")
    source = next(
        r
        for r in package["resources"]
        if r.get("role") == "revision" and r.get("file_format") == "csv" and int(r["revision"]) == current["revision"]
    )
    table = _table(client)
    total = client.call("datastore_search", resource_id=table, limit=0)["total"]
    with pytest.raises(CkanError, match="sha256"):
        client.call(SERVER_ACTION, resource_id=table, source_id=source["id"], sha256="0" * 64, column="round",
                    value=ROUND.key)  # fmt: skip
    with pytest.raises(CkanError, match="value"):  # rows of another round than the one named
        client.call(SERVER_ACTION, resource_id=table, source_id=source["id"], sha256=source["hash"], column="round",
                    value="2019-10")  # fmt: skip
    assert client.call("datastore_search", resource_id=table, limit=0)["total"] == total
    anonymous = CkanClient(world["server"].url, None)
    with pytest.raises(CkanError):
        anonymous.call(SERVER_ACTION, resource_id=table, source_id=source["id"], sha256=source["hash"],
                       column="round", value=ROUND.key)  # fmt: skip
