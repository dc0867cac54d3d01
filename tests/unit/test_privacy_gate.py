"""The privacy gate at publish time, on a real household round: a leak stops the whole publish.

A declaration mistake is the realistic way personal data reaches a public file:
here the household survey's copy forgets the ``privacy`` mark on the head's
citizen ID and is told to publish its rows. The gate must still find the IDs by
their check digit, name the file and the column, and publish nothing at all for
the round (not even the clean aggregate tables).
"""

from __future__ import annotations

import json
import shutil

import pytest

from catalog.local import LocalCatalog
from catalog.privacy import PrivacyError, scan_files
from domain.declarations import DATASETS_DIR, load_dataset
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages
from samples import household_survey

ROUND = parse_round("2563-10")


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """A small household round (Samut Songkhram, 5% of households) through validation and aggregation."""
    root = tmp_path_factory.mktemp("gate")
    folder = root / "datasets" / "household_survey"
    shutil.copytree(DATASETS_DIR / "household_survey", folder)
    schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
    for field in schema["fields"]:
        if field["name"] == "head_citizen_id":
            del field["privacy"]  # the mistake
    (folder / "schema.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    declaration = (folder / "dataset.yaml").read_text(encoding="utf-8")
    (folder / "dataset.yaml").write_text(
        declaration.replace("publish_records: false", "publish_records: true"), encoding="utf-8"
    )
    spec = load_dataset(folder)
    layout = Layout(root / "data")
    household_survey.generate(ROUND, layout.landing_dir(spec.name, ROUND), provinces=["75"], scale=0.05)
    job = stages.RoundJob(spec, ROUND, layout)
    stages.ingest(job)
    figures = stages.validate(job)
    assert figures["rows_accepted"] > 500
    stages.quality(job)
    stages.aggregate(job)
    return job


def test_a_leaked_citizen_id_stops_the_publish_and_names_file_and_column(validated):
    catalog = LocalCatalog(validated.layout.catalog)
    with pytest.raises(PrivacyError) as refused:
        stages.publish(validated, catalog)
    leaks = {(leak.table, leak.column, leak.kind) for leak in refused.value.leaks}
    assert ("household_survey.csv", "head_citizen_id", "citizen_id") in leaks
    assert "household_survey.csv.head_citizen_id" in str(refused.value) and "ไม่เผยแพร่" in str(refused.value)
    assert not catalog.root.exists() or not any(catalog.root.rglob("*.csv"))  # nothing at all went out


def test_an_id_typed_as_a_number_is_caught_in_the_file_text():
    """Excel turns a citizen ID into a number; the CSV then says 3101001234565.0 in a float column."""
    valid = "3101001234565"
    assert scan_files([("t.csv", f"\ufeffcode,amount\r\n{valid}.0,1.5\r\n".encode())], None, None)[0].kind == (
        "citizen_id"
    )
    phone = "\ufeffname,note\r\nบ้านนา,โทร 081-234-5678\r\n".encode()
    assert [(x.table, x.column, x.kind) for x in scan_files([("v.csv", phone)], None, None)] == [
        ("v.csv", "note", "phone_number")
    ]
    clean = "\ufeffvillage_code,households\r\n84010101,x\r\n84010102,120\r\n".encode()
    assert scan_files([("c.csv", clean)], None, None) == []
