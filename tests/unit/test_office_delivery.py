"""Offline parts of the offices' private delivery: the privacy gate's refusals, the content digest,
the organisation model's names, and the credentials file.

Against a real CKAN: tests/integration/test_ckan_office_delivery.py.
"""

from __future__ import annotations

import datetime as dt
import io
import stat
from pathlib import Path

import pytest
from openpyxl import Workbook

from catalog.office_delivery import content_digest, dataset_name
from catalog.offices import DATA_TEAM_ORG, OFFICE_ROLE, offices_from_registry, write_credentials
from catalog.privacy import PrivacyError, refuse_public_delivery, scan_files


def _workbook_bytes(value: str, created: dt.datetime) -> bytes:
    workbook = Workbook()
    workbook.active["A1"] = value
    workbook.properties.created = created
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_the_public_gate_refuses_a_workbook_by_name_and_by_content():
    data = _workbook_bytes("นายสมชาย ใจดี", dt.datetime(2024, 1, 1))
    leaks = scan_files([("4701_Mueang_Sakon_Nakhon.xlsx", data), ("disguised.csv.bin", data)], None, None)
    assert [(leak.table, leak.kind) for leak in leaks] == [
        ("4701_Mueang_Sakon_Nakhon.xlsx", "correction_workbook"),
        ("disguised.csv.bin", "correction_workbook"),
    ]
    assert "correction_workbook" in str(PrivacyError(leaks))
    # an ordinary CSV passes that test (the control: the refusal is the workbook's, not every file's)
    assert scan_files([("villages.csv", b"village_code,households\n47010101,12\n")], None, None) == []


@pytest.mark.parametrize(
    ("dataset", "kinds"),
    [
        ({"private": False, "owner_org": "amphoe-4701"}, ["correction_workbook_public"]),
        ({"owner_org": "amphoe-4701"}, ["correction_workbook_public"]),
        ({"private": True, "organization": {"name": "amphoe-4702"}}, ["correction_workbook_other_office"]),
        (
            {"private": False, "organization": {"name": "dopa"}},
            ["correction_workbook_public", "correction_workbook_other_office"],
        ),
    ],
)
def test_the_gate_refuses_a_public_dataset_or_another_offices(dataset, kinds):
    with pytest.raises(PrivacyError) as refused:
        refuse_public_delivery("corrections-village-profile-4701", dataset, "amphoe-4701")
    assert [leak.kind for leak in refused.value.leaks] == kinds
    assert str(refused.value).startswith("ไม่เผยแพร่")


def test_the_gate_lets_a_private_dataset_of_the_office_through():
    refuse_public_delivery("x", {"private": True, "organization": {"name": "amphoe-4701"}}, "amphoe-4701")
    refuse_public_delivery("x", {"private": True, "owner_org": "amphoe-4701"}, "amphoe-4701")


def test_content_digest_ignores_the_save_time_but_not_a_cell(tmp_path: Path):
    first, again, changed = tmp_path / "a.xlsx", tmp_path / "b.xlsx", tmp_path / "c.xlsx"
    first.write_bytes(_workbook_bytes("แถวที่ 3", dt.datetime(2024, 1, 1)))
    again.write_bytes(_workbook_bytes("แถวที่ 3", dt.datetime(2025, 6, 30, 12)))
    changed.write_bytes(_workbook_bytes("แถวที่ 4", dt.datetime(2024, 1, 1)))
    assert first.read_bytes() != again.read_bytes()
    assert content_digest(first) == content_digest(again)
    assert content_digest(first) != content_digest(changed)


def test_one_organisation_and_user_per_district_named_by_code():
    offices = offices_from_registry(["47"])
    assert offices and all(o.province_code == "47" for o in offices)
    mueang = next(o for o in offices if o.amphoe_code == "4701")
    assert (mueang.org, mueang.user) == ("amphoe-4701", "office-4701")
    assert mueang.title.startswith("ที่ทำการปกครองอำเภอเมืองสกลนคร จังหวัดสกลนคร / ")
    everyone = offices_from_registry()
    assert len(everyone) == 878 and len({o.org for o in everyone}) == 878
    assert DATA_TEAM_ORG not in {o.org for o in everyone} and OFFICE_ROLE == "editor"
    assert dataset_name("village_profile", "4701") == "corrections-village-profile-4701"
    assert dataset_name("village_profile", None) == "corrections-village-profile-unattributed"


def test_credentials_are_owner_only_one_line_per_new_user(tmp_path: Path):
    offices = offices_from_registry(["47"])[:2]
    target = tmp_path / "private" / "office_credentials.csv"
    write_credentials(target, offices[0], "s3cret-one")
    write_credentials(target, offices[1], "s3cret-two")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("user,password,organization")
    assert [line.split(",")[:2] for line in lines[1:]] == [
        [offices[0].user, "s3cret-one"],
        [offices[1].user, "s3cret-two"],
    ]


def test_the_demo_prints_each_offices_login_from_the_credentials_file(tmp_path: Path, monkeypatch, capsys):
    from pipelines.cli import main

    monkeypatch.setenv("TAMBON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CKAN_URL", "http://127.0.0.1:5000")
    assert main(["offices", "logins"]) == 2  # nothing synced yet: said, not a traceback
    assert "tambon offices sync" in capsys.readouterr().err
    offices = offices_from_registry(["47"])[:2]
    for number, office in enumerate(offices):
        write_credentials(tmp_path / "private" / "office_credentials.csv", office, f"random-{number}")
    assert main(["offices", "logins"]) == 0
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:5000/user/login" in printed
    for number, office in enumerate(offices):
        assert f"{office.user}" in printed and f"random-{number}" in printed and office.name_th in printed
