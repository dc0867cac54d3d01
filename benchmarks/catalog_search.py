"""Dataset search on the catalog's CKAN at 10,000 datasets: search against package_show, throughput, rebuild.

Why: our extension answers ``package_search`` from PostgreSQL instead of Solr. Searching must stay
cheap as the catalog grows: the targets are a Thai search (with five facets) whose median is at most
3x, and p95 at most 5x, the median of ``package_show`` of one dataset in the same run; no errors; and
CKAN's own ``search-index rebuild`` of 10,000 datasets in under 5 minutes.

The run, from nothing, on a CKAN of its own (``catalog/ckan/ckan.sh`` with its own ports and run dir,
wiped before and stopped and removed after):

1. a catalog like ours: datasets of the Thai GDC schema with Thai and English titles and notes, Thai
   and English tags, organisations, groups, licences, coverage (province, rounds) and 5-7 resources
   each. A sample is created with ``package_create`` over HTTP by a bounded pool (its rate is
   recorded: that is why the rest is not made that way); the rest is written straight into CKAN's
   tables through CKAN's model in the CKAN virtualenv (this module again, ``--load``), after checking
   that its rows for one dataset equal the rows ``package_create`` wrote for the same dataset;
2. ``ckan search-index rebuild`` (timed) indexes every dataset; the count found must be the count made;
3. warm-up, then interleaved rounds of: ``package_show`` of one dataset, ``package_search`` with the
   Thai ``q`` หมู่บ้าน ("village") and five facets, and the same with the English ``q`` "village";
   then the throughput of the Thai search (and of ``package_show``) at 10 concurrent clients.

    python -m benchmarks.catalog_search [--datasets 10000] [--requests 50] [--clients 10] [--keep]

Only the standard library at module level: the loader part runs in the CKAN virtualenv.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
CKAN_SH = REPO_ROOT / "catalog" / "ckan" / "ckan.sh"
PROVINCES_CSV = REPO_ROOT / "registry" / "data" / "province_centres.csv"
SCHEMA_YAML = REPO_ROOT / "catalog" / "ckan" / "ckanext-tambon" / "ckanext" / "tambon" / "thai_gdc_dataset.yaml"
# ports of its own (integration tests: 5055..., conformance: 5056...); BENCH_CKAN_PORTS="web,pg,redis" to change
PORTS = {"TAMBON_CKAN_PORT": "5057", "TAMBON_CKAN_PG_PORT": "24357", "TAMBON_CKAN_REDIS_PORT": "63757"}
THAI_Q = "หมู่บ้าน"
ENGLISH_Q = "village"
ROWS = 20  # one page of CKAN's /dataset
WARMUP = 5
TARGETS = {"search_median_ratio": 3.0, "search_p95_ratio": 5.0, "errors": 0, "rebuild_seconds_at_10000": 300.0}
HTTP_TIMEOUT = 60.0

ORGANIZATIONS = [
    ("dopa", "กรมการปกครอง", "Department of Provincial Administration"),
    ("cdd", "กรมการพัฒนาชุมชน", "Community Development Department"),
    ("dla", "กรมส่งเสริมการปกครองท้องถิ่น", "Department of Local Administration"),
    ("nso", "สำนักงานสถิติแห่งชาติ", "National Statistical Office"),
    ("moph", "สำนักงานปลัดกระทรวงสาธารณสุข", "Office of the Permanent Secretary, Ministry of Public Health"),
    ("rid", "กรมชลประทาน", "Royal Irrigation Department"),
]
GROUPS = [
    ("population", "ประชากร", "Population"),
    ("economy", "เศรษฐกิจ", "Economy"),
    ("health", "สาธารณสุข", "Health"),
    ("local-government", "การปกครองท้องถิ่น", "Local government"),
    ("agriculture", "เกษตรและแหล่งน้ำ", "Agriculture and water"),
]
LICENSES = ["Open Data Common", "Creative Commons Attributions", "License not specified"]


@dataclass(frozen=True)
class Topic:
    key: str
    org: str
    group: str
    title_th: str
    title_en: str
    notes_th: str
    notes_en: str
    tags: tuple[str, ...]
    level: str  # geo_coverage


# About a third of the catalog is about villages (หมู่บ้าน / village in the title), as in a DOPA catalog;
# other topics mention villages only in their notes or not at all, so the two searches find different sets.
TOPICS = [
    Topic("village-profile", "dopa", "local-government", "ข้อมูลพื้นฐานหมู่บ้าน จังหวัด{p} รอบ {r}",
          "Village basic profile, {pe}, round {r}", "ข้อมูลพื้นฐานระดับหมู่บ้าน (กชช. 2ค) ของทุกหมู่บ้านในจังหวัด{p}",
          "Basic data of every village in {pe} (NRD 2C)", ("หมู่บ้าน", "กชช2ค", "village", "rural"), "หมู่บ้าน"),
    Topic("village-fund", "cdd", "economy", "กองทุนหมู่บ้านและชุมชนเมือง จังหวัด{p} ปี {y}",
          "Village and urban community funds, {pe}, {y}", "สถานะกองทุนหมู่บ้าน เงินทุนหมุนเวียน และสมาชิก",
          "Village fund status, revolving capital and members", ("กองทุนหมู่บ้าน", "village fund", "finance"),
          "หมู่บ้าน"),
    Topic("village-water", "rid", "agriculture", "แหล่งน้ำเพื่อการเกษตรรายหมู่บ้าน จังหวัด{p} ปี {y}",
          "Agricultural water sources by village, {pe}, {y}", "แหล่งน้ำ ฝาย และบ่อบาดาลในแต่ละหมู่บ้าน",
          "Reservoirs, weirs and wells in each village", ("แหล่งน้ำ", "water", "irrigation"), "หมู่บ้าน"),
    Topic("household-bmn", "cdd", "population", "ข้อมูลความจำเป็นพื้นฐาน (จปฐ.) ระดับครัวเรือน จังหวัด{p} ปี {y}",
          "Basic minimum needs survey of households, {pe}, {y}",
          "ผลการสำรวจครัวเรือนตามเกณฑ์ จปฐ. รวมรายหมู่บ้านและตำบล", "Household survey results, summed by village and tambon",
          ("ครัวเรือน", "จปฐ", "household", "survey"), "ตำบล"),
    Topic("population-register", "dopa", "population", "จำนวนประชากรตามทะเบียนราษฎร จังหวัด{p} ปี {y}",
          "Registered population, {pe}, {y}", "จำนวนประชากรจำแนกตามเพศและอายุ รายอำเภอ",
          "Population by sex and age, by district", ("ประชากร", "ทะเบียนราษฎร", "population", "census"), "อำเภอ"),
    Topic("lao-kpi", "dla", "local-government", "ตัวชี้วัดการดำเนินงานองค์กรปกครองส่วนท้องถิ่น จังหวัด{p} ปี {y}",
          "Local administrative organisation KPIs, {pe}, {y}", "ผลการประเมินตัวชี้วัดของเทศบาลและ อบต.",
          "KPI results of municipalities and SAOs", ("ท้องถิ่น", "ตัวชี้วัด", "kpi", "local government"),
          "เทศบาล/อบต."),
    Topic("district-assessment", "dopa", "local-government", "ผลการประเมินตนเองของอำเภอ จังหวัด{p} ปี {y}",
          "District self-assessment results, {pe}, {y}", "ผลการประเมินตนเองของที่ว่าการอำเภอ",
          "Self-assessment of district offices", ("อำเภอ", "ประเมินตนเอง", "district", "assessment"), "อำเภอ"),
    Topic("health-centres", "moph", "health", "โรงพยาบาลส่งเสริมสุขภาพตำบล จังหวัด{p} ปี {y}",
          "Subdistrict health promoting hospitals, {pe}, {y}", "ที่ตั้ง บุคลากร และผู้รับบริการ ครอบคลุมทุกหมู่บ้าน",
          "Locations, staff and patients, covering every village", ("สาธารณสุข", "รพ.สต.", "health", "hospital"),
          "ตำบล"),
    Topic("labour-force", "nso", "economy", "การสำรวจภาวะการทำงานของประชากร จังหวัด{p} ไตรมาส {q}/{y}",
          "Labour force survey, {pe}, quarter {q}/{y}", "กำลังแรงงาน ผู้มีงานทำ และผู้ว่างงาน",
          "Labour force, employed and unemployed", ("แรงงาน", "labour", "employment"), "จังหวัด"),
    Topic("agri-households", "nso", "agriculture", "ครัวเรือนเกษตรกรและพื้นที่เพาะปลูก จังหวัด{p} ปี {y}",
          "Farming households and planted area, {pe}, {y}", "จำนวนครัวเรือนเกษตรและพื้นที่ปลูกพืชหลัก",
          "Farming households and the area of the main crops", ("เกษตร", "ครัวเรือนเกษตร", "agriculture", "farming"),
          "จังหวัด"),
]  # fmt: skip


def provinces() -> list[tuple[str, str]]:
    """(code, Thai name) of the 77 provinces, from the registry's file."""
    with PROVINCES_CSV.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return [(row["province_code"], row["name_th"]) for row in rows]


def schema_fields() -> set[str]:
    """Dataset field names of our scheming schema (read as text: no YAML parser in the stdlib), so that the
    coverage fields are filled only when the schema being benchmarked declares them."""
    text = SCHEMA_YAML.read_text(encoding="utf-8").split("\nresource_fields:")[0]
    return {line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("- field_name:")}


def dataset(index: int, provinces_: list[tuple[str, str]], fields: set[str]) -> dict[str, Any]:
    """The ``index``-th dataset of the catalog, as ``package_create`` takes it (deterministic)."""
    topic = TOPICS[index % len(TOPICS)]
    code, province = provinces_[(index // len(TOPICS)) % len(provinces_)]
    year = 2555 + index // (len(TOPICS) * len(provinces_))
    rng = random.Random(index)
    quarter = 1 + index % 4
    month = rng.choice([3, 6, 9, 10, 12])
    round_be = f"{year}-{month:02d}"
    round_ce = f"{year - 543}-{month:02d}"
    province_en = f"province {code}"
    values = {"p": province, "pe": province_en, "r": round_be, "y": year, "q": quarter}
    resources = []
    for position in range(5 + index % 3):
        fmt = ["CSV", "Parquet", "JSON", "XLSX", "CSV", "PDF", "CSV"][position]
        revision = 1 + position // 3
        resources.append(
            {
                "name": f"{topic.key} {round_be} ({round_ce}) r{revision} · {fmt}",
                "url": f"https://data.example.invalid/{topic.key}/{code}/{round_ce}/r{revision}.{fmt.lower()}",
                "format": fmt,
                "description": f"รอบ {round_be} ฉบับที่ {revision} / round {round_ce}, revision {revision}",
            }
        )
    data: dict[str, Any] = {
        "name": f"{topic.key}-{code}-{year}-{index}",
        "title": topic.title_th.format(**values),
        "title_en": topic.title_en.format(**values),
        "notes": f"{topic.notes_th.format(**values)}\n\n{topic.notes_en.format(**values)}",
        "notes_en": topic.notes_en.format(**values),
        "owner_org": topic.org,
        "groups": [{"name": topic.group}],
        "tag_string": ",".join([*topic.tags, province]),
        "license_id": LICENSES[index % len(LICENSES)],
        "data_type": "ข้อมูลสถิติ",
        "maintainer": "ศูนย์เทคโนโลยีสารสนเทศ",
        "maintainer_email": "opendata@example.invalid",
        "objective": ["ยุทธศาสตร์ชาติ"],
        "update_frequency_unit": "ปี",
        "update_frequency_interval": "1",
        "geo_coverage": topic.level,
        "data_source": dict((o[0], o[1]) for o in ORGANIZATIONS)[topic.org],
        "data_format": ["CSV"],
        "data_category": "ข้อมูลสาธารณะ",
        "data_language": ["ไทย"],
        "first_year_of_data": str(year),
        "last_year_of_data": str(year),
        "round_coverage": f"{round_be} ({round_ce})",
        "version": f"{round_ce}-r1",
        "resources": resources,
    }
    coverage = {
        "coverage_province": [province],
        "coverage_province_en": [province_en],
        "coverage_province_code": [code],
        "coverage_round": [round_be],
        "coverage_round_ce": [round_ce],
    }
    data.update({key: value for key, value in coverage.items() if key in fields})
    return data


# -- the loader (runs in the CKAN virtualenv) --------------------------------------------------------------------
def load(ini: Path, first: int, count: int) -> dict[str, Any]:
    """Datasets ``first`` .. ``first + count - 1`` straight into CKAN's tables (no indexing: the rebuild does it).

    Dataset ``first`` is made with ``package_create`` and the rows this loader would write for it are
    compared with the rows CKAN wrote (package, extras, tags, resources, group membership): they must be
    equal, or the figures would be for some other catalog than ours."""
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    make_app(load_config(str(ini)))
    import ckan.model as model
    from ckan.plugins import toolkit

    site_user = toolkit.get_action("get_site_user")({"ignore_auth": True}, {})["name"]

    def context() -> dict[str, Any]:
        return {"user": site_user, "ignore_auth": True}

    for name, title, title_en in ORGANIZATIONS:
        if not model.Group.get(name):
            toolkit.get_action("organization_create")(
                context(), {"name": name, "title": title, "description": title_en}
            )
    for name, title, title_en in GROUPS:
        if not model.Group.get(name):
            toolkit.get_action("group_create")(context(), {"name": name, "title": title, "description": title_en})
    group_ids = {g.name: g.id for g in model.Session.query(model.Group)}
    user_id = model.User.get(site_user).id
    provinces_, fields = provinces(), schema_fields()

    started = time.perf_counter()
    template = toolkit.get_action("package_create")(context(), dataset(first, provinces_, fields))
    theirs = stored_rows(model, template["id"])
    # fields we leave empty: package_create stores their empty value ("[]" for a multiple choice); so do we
    filled = set(dataset(first, provinces_, fields))
    empty = {key: value for key, value in theirs["extras"].items() if key not in filled and value in ("", "[]")}
    ours = rows_for(dataset(first, provinces_, fields), template["id"], group_ids, {}, user_id, empty)
    differences = compare_rows(ours, theirs)
    if differences:
        raise SystemExit("the loader's rows differ from package_create's:\n" + "\n".join(differences))

    tag_ids = {t.name: t.id for t in model.Session.query(model.Tag).filter(model.Tag.vocabulary_id.is_(None))}
    batch: dict[str, list[dict[str, Any]]] = {}
    written = 1
    connection = model.Session.connection()
    tables = {
        "package": model.package_table,
        "package_extra": model.package_extra_table,
        "tag": model.tag_table,
        "package_tag": model.package_tag_table,
        "resource": model.resource_table,
        "member": model.member_table,
    }

    def flush() -> None:
        for table in ("package", "package_extra", "tag", "package_tag", "resource", "member"):
            if batch.get(table):
                connection.execute(tables[table].insert(), batch[table])
        batch.clear()

    import uuid

    for index in range(first + 1, first + count):
        data = dataset(index, provinces_, fields)
        new_rows = rows_for(data, str(uuid.uuid4()), group_ids, tag_ids, user_id, empty)
        for table, table_rows in new_rows.items():
            batch.setdefault(table, []).extend(table_rows)
        written += 1
        if len(batch["package"]) >= 500:
            flush()
    flush()
    model.Session.commit()
    return {"datasets": written, "seconds": round(time.perf_counter() - started, 2)}


def rows_for(
    data: dict[str, Any],
    package_id: str,
    group_ids: dict[str, str],
    tag_ids: dict[str, str],
    user_id: str,
    empty: dict[str, str],
) -> dict[str, list[dict[str, Any]]]:
    """The rows CKAN keeps for one dataset: core columns, every other field as an extra (lists as JSON, as
    ckanext-scheming stores them), tags (new ones added to ``tag_ids``), resources, group membership."""
    import datetime
    import uuid

    now = datetime.datetime.utcnow()
    core = ("name", "title", "notes", "license_id", "maintainer", "maintainer_email", "version")
    skip = {*core, "owner_org", "groups", "tag_string", "resources"}
    package = {key: data[key] for key in core}
    package.update(
        id=package_id,
        type="dataset",
        owner_org=group_ids[data["owner_org"]],
        creator_user_id=user_id,
        metadata_created=now,
        metadata_modified=now,
        private=False,
        state="active",
        url="",
        author="",
        author_email="",
    )
    extras = [
        {
            "id": str(uuid.uuid4()),
            "package_id": package_id,
            "key": key,
            "value": json.dumps(value) if isinstance(value, list) else str(value),
            "state": "active",
        }
        for key, value in {**empty, **data}.items()
        if key not in skip
    ]
    tags, package_tags = [], []
    for name in data["tag_string"].split(","):
        if name not in tag_ids:
            tag_ids[name] = str(uuid.uuid4())
            tags.append({"id": tag_ids[name], "name": name, "vocabulary_id": None})
        package_tags.append(
            {"id": str(uuid.uuid4()), "package_id": package_id, "tag_id": tag_ids[name], "state": "active"}
        )
    resources = [
        {
            **resource,
            "id": str(uuid.uuid4()),
            "package_id": package_id,
            "position": position,
            "state": "active",
            "created": now,
            "metadata_modified": now,
            "url_type": "",
            "extras": {},
        }
        for position, resource in enumerate(data["resources"])
    ]
    members = [
        {
            "id": str(uuid.uuid4()),
            "table_name": "package",
            "table_id": package_id,
            "capacity": "public",
            "group_id": group_ids[group["name"]],
            "state": "active",
        }
        for group in data["groups"]
    ]
    # package_create also records the dataset as a member of its organisation
    members.append(
        {**members[0], "id": str(uuid.uuid4()), "capacity": "organization", "group_id": package["owner_org"]}
    )
    return {
        "package": [package],
        "package_extra": extras,
        "tag": tags,
        "package_tag": package_tags,
        "resource": resources,
        "member": members,
    }


def stored_rows(model: Any, package_id: str) -> dict[str, Any]:
    """What ``package_create`` wrote for one dataset, in the shape ``compare_rows`` compares."""
    package = model.Package.get(package_id)
    return {
        "package": {c.name: getattr(package, c.name) for c in model.package_table.c},
        "extras": {e.key: e.value for e in model.Session.query(model.PackageExtra).filter_by(package_id=package_id)},
        "tags": sorted(t.name for t in package.get_tags()),
        "resources": [
            {c.name: getattr(r, c.name) for c in model.resource_table.c}
            for r in sorted(package.resources, key=lambda r: r.position)
        ],
        "groups": sorted(
            (m.group_id, m.capacity) for m in model.Session.query(model.Member).filter_by(table_id=package_id)
        ),
    }


def compare_rows(ours: dict[str, list[dict[str, Any]]], theirs: dict[str, Any]) -> list[str]:
    """Differences that matter (ids and timestamps aside; empty and missing text are the same)."""
    ignore = {"id", "package_id", "metadata_created", "metadata_modified", "created", "creator_user_id"}
    differences = []

    def same(a: Any, b: Any) -> bool:
        # a validator may leave a number in the ORM object; the column is text either way
        return (None if a in (None, "") else str(a)) == (None if b in (None, "") else str(b))

    for key, value in ours["package"][0].items():
        if key not in ignore and not same(value, theirs["package"].get(key)):
            differences.append(f"package.{key}: ours {value!r}, package_create's {theirs['package'].get(key)!r}")
    our_extras = {e["key"]: e["value"] for e in ours["package_extra"]}
    for key in sorted(set(our_extras) | set(theirs["extras"])):
        if not same(our_extras.get(key), theirs["extras"].get(key)):
            differences.append(
                f"extra {key}: ours {our_extras.get(key)!r}, package_create's {theirs['extras'].get(key)!r}"
            )
    their_tags = theirs["tags"]
    our_tags = sorted({t["tag_id"] for t in ours["package_tag"]})
    if len(our_tags) != len(their_tags):
        differences.append(f"tags: ours {len(our_tags)}, package_create's {their_tags}")
    for position, (our, their) in enumerate(zip(ours["resource"], theirs["resources"], strict=False)):
        for key, value in our.items():
            if key not in ignore and not same(value, their.get(key)):
                differences.append(f"resource {position}.{key}: ours {value!r}, package_create's {their.get(key)!r}")
    if len(ours["resource"]) != len(theirs["resources"]):
        differences.append(f"resources: ours {len(ours['resource'])}, package_create's {len(theirs['resources'])}")
    if sorted((m["group_id"], m["capacity"]) for m in ours["member"]) != theirs["groups"]:
        differences.append(f"groups: ours {ours['member']}, package_create's {theirs['groups']}")
    return differences


# -- the measuring side (the pipeline's Python) -------------------------------------------------------------------
@dataclass
class Server:
    env: dict[str, str]
    run_dir: Path
    url: str
    token: str

    @property
    def ini(self) -> Path:
        return self.run_dir / "ckan.ini"

    @property
    def venv(self) -> Path:
        return Path(self.env["TAMBON_CKAN_HOME"]) / "venv"


def ckan_sh(env: dict[str, str], command: str, timeout: float, check: bool = True) -> None:
    subprocess.run(["bash", str(CKAN_SH), command], env=env, check=check, timeout=timeout)


def start_server(ports: dict[str, str]) -> Server:
    env = {**os.environ, **ports}
    home = Path(env.get("TAMBON_CKAN_HOME") or REPO_ROOT / ".cache" / "ckan").resolve()
    run_dir = home / f"run-bench-{ports['TAMBON_CKAN_PORT']}"
    env.update(TAMBON_CKAN_HOME=str(home), TAMBON_CKAN_RUN=str(run_dir))
    ckan_sh(env, "stop", 120, check=False)  # a killed earlier run
    shutil.rmtree(run_dir, ignore_errors=True)
    ckan_sh(env, "install", 900)
    ckan_sh(env, "start", 300)
    values = dict(line.split("=", 1) for line in (run_dir / "env").read_text().splitlines() if "=" in line)
    return Server(env=env, run_dir=run_dir, url=values["CKAN_URL"], token=values["CKAN_API_TOKEN"])


class Client:
    """One keep-alive HTTP connection (a browser or an API client reuses its connection too)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token
        self.connection: http.client.HTTPConnection | None = None

    def call(self, action: str, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None) -> Any:
        """(seconds, result): raises on any HTTP error or ``success: false``."""
        path = f"/api/3/action/{action}"
        if params:
            path += "?" + urllib.parse.urlencode(params)
        headers = {"Authorization": self.token} if self.token else {}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT)
            try:
                start = time.perf_counter()
                self.connection.request("POST" if payload else "GET", path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                seconds = time.perf_counter() - start
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # gunicorn recycles a worker after ~2000 requests (ckan.sh): reconnect once, do not count it
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"{action}: HTTP {response.status}: {data[:300]!r}")
        result = json.loads(data)
        if not result.get("success"):
            raise RuntimeError(f"{action}: {result.get('error')}")
        return seconds, result["result"]


def api_create(server: Server, indexes: list[int], workers: int) -> dict[str, Any]:
    """``package_create`` over HTTP by ``workers`` clients: the rate the bulk loader saves us from."""
    provinces_, fields = provinces(), schema_fields()
    local = threading.local()

    def create(index: int) -> float:
        if not hasattr(local, "client"):
            local.client = Client(server.url, server.token)
        seconds, _ = local.client.call("package_create", body=dataset(index, provinces_, fields))
        return seconds

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        latencies = list(pool.map(create, indexes))
    elapsed = time.perf_counter() - start
    return {
        "datasets": len(indexes),
        "clients": workers,
        "seconds": round(elapsed, 2),
        "per_second": round(len(indexes) / elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
    }


def bulk_load(server: Server, first: int, count: int) -> dict[str, Any]:
    """This module's ``--load`` in the CKAN virtualenv (CKAN's model and config live there)."""
    proc = subprocess.run(
        [str(server.venv / "bin" / "python"), "-m", "benchmarks.catalog_search", "--load", str(server.ini),
         "--first", str(first), "--datasets", str(count)],
        cwd=REPO_ROOT,
        env={**server.env, "CKAN_INI": str(server.ini), "PGOPTIONS": "-c statement_timeout=0"},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"the bulk load failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rebuild(server: Server) -> float:
    """CKAN's own ``search-index rebuild``, as an operator runs it, timed."""
    log = server.run_dir / "logs" / "rebuild.log"
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(
            [str(server.venv / "bin" / "ckan"), "-c", str(server.ini), "search-index", "rebuild", "-q"],
            env={**server.env, "CKAN_INI": str(server.ini)},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=3600,
            check=False,
        )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"search-index rebuild failed (exit {proc.returncode}):\n{log.read_text()[-4000:]}")
    return seconds


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 50 values is the 48th smallest)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def figures(latencies: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in latencies]
    return {
        "requests": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def throughput(server: Server, action: str, params: dict[str, Any], clients: int, total: int) -> dict[str, Any]:
    """``total`` requests shared by ``clients`` concurrent clients (bounded in count and by HTTP_TIMEOUT)."""
    remaining = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        client = Client(server.url)
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            try:
                seconds, _ = client.call(action, params)
                with lock:
                    latencies.append(seconds)
            except Exception as error:
                with lock:
                    errors.append(str(error)[:300])

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {
        "clients": clients,
        "requests": total,
        "seconds": round(elapsed, 2),
        "per_second": round(len(latencies) / elapsed, 1),
        **({k: v for k, v in figures(latencies).items() if k != "requests"} if latencies else {}),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def search_params(q: str, facets: list[str]) -> dict[str, Any]:
    return {"q": q, "facet.field": json.dumps(facets), "rows": ROWS}


def measure(server: Server, n: int, requests: int, clients: int, facets: list[str]) -> dict[str, Any]:
    """Interleaved rounds (show, Thai search, English search) so that the machine's noise falls on all three."""
    client = Client(server.url)
    show_id = dataset(0, provinces(), set())["name"]
    kinds = {
        "package_show": ("package_show", {"id": show_id}),
        "search_thai": ("package_search", search_params(THAI_Q, facets)),
        "search_english": ("package_search", search_params(ENGLISH_Q, facets)),
    }
    errors: list[str] = []
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    results: dict[str, Any] = {}
    for round_ in range(WARMUP + requests):
        for kind, (action, params) in kinds.items():
            try:
                seconds, result = client.call(action, params)
            except Exception as error:
                errors.append(f"{kind}: {str(error)[:300]}")
                continue
            if round_ >= WARMUP:
                latencies[kind].append(seconds)
            results[kind] = result
    thai, english = results.get("search_thai", {}), results.get("search_english", {})
    checks = {
        # every dataset whose title says หมู่บ้าน / village must be found (others may be, by notes or tags)
        "thai_count_at_least_titles": thai.get("count", 0) >= count_titles(n, THAI_Q),
        "english_count_at_least_titles": english.get("count", 0) >= count_titles(n, ENGLISH_Q),
        "thai_facets_present": all(f in thai.get("search_facets", {}) for f in facets),
        "thai_page_full": len(thai.get("results", [])) == min(ROWS, thai.get("count", 0)),
    }
    errors += [f"check failed: {name}" for name, ok in checks.items() if not ok]
    out: dict[str, Any] = {kind: figures(values) for kind, values in latencies.items() if values}
    out["thai_count"], out["english_count"] = thai.get("count"), english.get("count")
    out["checks"] = checks
    out["throughput_search_thai"] = throughput(server, "package_search", kinds["search_thai"][1], clients, 20 * clients)
    out["throughput_package_show"] = throughput(server, "package_show", kinds["package_show"][1], clients, 20 * clients)
    out["errors_list"] = errors[:20]
    out["errors"] = len(errors) + out["throughput_search_thai"]["errors"] + out["throughput_package_show"]["errors"]
    return out


def count_titles(n: int, word: str) -> int:
    """How many of the catalog's datasets have ``word`` in their Thai or English title."""
    provinces_ = provinces()
    titles = (dataset(i, provinces_, set()) for i in range(n))
    return sum(1 for d in titles if word.lower() in f"{d['title']} {d['title_en']}".lower())


def run(n: int, requests: int, clients: int, api_sample: int, ports: dict[str, str], keep: bool) -> dict[str, Any]:
    fields = schema_fields()
    coverage = "coverage_province" in fields
    facets = ["organization", "groups", "tags", "res_format", "coverage_province" if coverage else "license_id"]
    server = start_server(ports)
    try:
        sample = min(api_sample, max(n - 1, 0))
        loaded = bulk_load(server, 0, n - sample)  # first: it also makes the organisations and groups
        created = api_create(server, list(range(n - sample, n)), workers=4) if sample else {}
        rebuild_seconds = rebuild(server)
        _, everything = Client(server.url).call("package_search", {"q": "*:*", "rows": 0})
        indexed = everything["count"]
        measured = measure(server, n, requests, clients, facets)
    finally:
        ckan_sh(server.env, "stop", 120, check=False)
        if not keep:
            shutil.rmtree(server.run_dir, ignore_errors=True)
    if indexed != n:
        measured["errors"] += 1
        measured["errors_list"].append(f"search finds {indexed} datasets after the rebuild, {n} were made")
    show = measured["package_show"]["median_ms"]
    thai = measured["search_thai"]
    result = {
        "benchmark": "catalog_search",
        "datasets": n,
        "search_median_ratio": round(thai["median_ms"] / show, 2),
        "search_p95_ratio": round(thai["p95_ms"] / show, 2),
        "english_median_ratio": round(measured["search_english"]["median_ms"] / show, 2),
        "errors": measured.pop("errors"),
        "rebuild_seconds": round(rebuild_seconds, 1),
        "targets": TARGETS,
        "meets_targets": {
            "search_median_ratio": thai["median_ms"] / show <= TARGETS["search_median_ratio"],
            "search_p95_ratio": thai["p95_ms"] / show <= TARGETS["search_p95_ratio"],
            "errors": False,  # set below
            "rebuild_seconds": rebuild_seconds * 10_000 / max(n, 1) < TARGETS["rebuild_seconds_at_10000"],
        },
        "indexed": indexed,
        "facets": facets,
        "q_thai": THAI_Q,
        "q_english": ENGLISH_Q,
        "rows": ROWS,
        **measured,
        "create_api_sample": created,
        "create_bulk": loaded,
        "gunicorn_workers": int(server.env.get("TAMBON_CKAN_WORKERS", "2")),
        "machine_cpus": os.cpu_count(),
        "note": "ratios: median (p95) of package_search with the Thai q and five facets over the median of "
        "package_show of one dataset, same run, interleaved, after warm-up, one keep-alive client; throughput: "
        f"{clients} concurrent clients, 20 requests each; rebuild: `ckan search-index rebuild` of every dataset "
        "(the target is for 10,000: at another size it is scaled linearly); create_api_sample: package_create "
        "over HTTP by 4 clients (why the rest is bulk-written through CKAN's model, checked equal to "
        "package_create's rows for one dataset)",
    }
    result["meets_targets"]["errors"] = result["errors"] == 0
    return result


def report(result: dict[str, Any]) -> str:
    """Figures and targets side by side, Thai first with English beside it."""
    t = result["targets"]
    ok = result["meets_targets"]

    def mark(key: str) -> str:
        return "ผ่าน / met" if ok[key] else "ไม่ผ่าน / MISSED"

    show, thai, english = result["package_show"], result["search_thai"], result["search_english"]
    lines = [
        f"ชุดข้อมูล / datasets: {result['datasets']:,} (indexed {result['indexed']:,})",
        f"package_show: median {show['median_ms']} ms, p95 {show['p95_ms']} ms",
        f"ค้นหาภาษาไทย / Thai search q={result['q_thai']}: median {thai['median_ms']} ms, p95 {thai['p95_ms']} ms, "
        f"{result['thai_count']} found",
        f"ค้นหาภาษาอังกฤษ / English search q={result['q_english']}: median {english['median_ms']} ms, "
        f"p95 {english['p95_ms']} ms, {result['english_count']} found",
        f"  median / package_show: {result['search_median_ratio']}x (เป้า / target ≤ {t['search_median_ratio']}x) "
        f"{mark('search_median_ratio')}",
        f"  p95 / package_show median: {result['search_p95_ratio']}x (เป้า / target ≤ {t['search_p95_ratio']}x) "
        f"{mark('search_p95_ratio')}",
        f"ข้อผิดพลาด / errors: {result['errors']} (เป้า / target {t['errors']}) {mark('errors')}",
        f"สร้างดัชนีใหม่ / index rebuild: {result['rebuild_seconds']} s (เป้า / target < "
        f"{t['rebuild_seconds_at_10000']} s at 10,000) {mark('rebuild_seconds')}",
        f"ปริมาณงาน / throughput, {result['throughput_search_thai']['clients']} clients: Thai search "
        f"{result['throughput_search_thai']['per_second']}/s, package_show "
        f"{result['throughput_package_show']['per_second']}/s",
    ]
    if result.get("create_api_sample"):
        sample = result["create_api_sample"]
        lines.append(
            f"สร้างผ่าน API / package_create over HTTP: {sample['per_second']}/s ({sample['datasets']} datasets, "
            f"{sample['clients']} clients); bulk: {result['create_bulk']['datasets']:,} in "
            f"{result['create_bulk']['seconds']} s"
        )
    return "\n".join(lines)


def parse_ports(
    text: str | None, defaults: dict[str, str] = PORTS, variable: str = "BENCH_CKAN_PORTS"
) -> dict[str, str]:
    """A benchmark CKAN's ports from ``--ports``/``variable`` ("web,postgres,redis"), else ``defaults``."""
    if not text:
        return dict(defaults)
    values = [v.strip() for v in text.split(",")]
    if len(values) != 3 or not all(v.isdigit() for v in values):
        raise SystemExit(f"{variable} / --ports must be three ports: web,postgres,redis")
    return dict(zip(defaults, values, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50, help="measured requests of each kind (at least 30)")
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients for the throughput")
    parser.add_argument("--api-sample", type=int, default=60, help="datasets made by package_create over HTTP")
    parser.add_argument("--ports", default=os.environ.get("BENCH_CKAN_PORTS"), help="web,postgres,redis")
    parser.add_argument("--keep", action="store_true", help="keep the (stopped) run dir, e.g. for its logs")
    parser.add_argument("--output", type=Path, default=RESULTS / "catalog_search.json")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)  # the loader, in the CKAN venv
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.load, args.first, args.datasets)))
        return
    if args.requests < 30:
        parser.error("--requests: at least 30 of each kind")
    result = run(args.datasets, args.requests, args.clients, args.api_sample, parse_ports(args.ports), args.keep)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(report(result))


if __name__ == "__main__":
    main()
