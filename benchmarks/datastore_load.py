"""A national village round into CKAN's DataStore: load time against the 15 s target, and against the old upsert.

Why: the DataStore holds the current revision of every round in one table per dataset (the Data API and
the previews). It was loaded with ``datastore_upsert`` through the Action API, two SQL statements a row: a
national village round (~75,000 rows) took minutes. The publisher now asks our CKAN extension to load the
round's CSV, already uploaded, with PostgreSQL COPY (``catalog/datastore_load.py``).

The run, from nothing, on a CKAN of its own (``catalog/ckan/ckan.sh``, ports 5067/24367/63767, its run dir
wiped before and stopped and removed after):

1. a national village round (every province) generated and run through the pipeline's stages into a local
   catalog, as ``benchmarks.village_round`` does;
2. the round published to CKAN by ``CkanPublisher`` (stage, switch, DataStore); the DataStore step and the
   round's load inside it are timed (``load_seconds``: the target, scaled to 75,000 rows);
3. the same round loaded again: a re-published revision replaces the round's rows (``replace_seconds``);
4. the reference, same run: the old way (``datastore_upsert``, method upsert, batches of 5,000) and the Action
   API fallback (``datastore_delete`` of the round, then method insert) each load the first
   ``--sample`` rows into a table of their own with the same data dictionary; their rows per second,
   against the new load's, are the ratios. The sample's rows must read back (``datastore_search``) the same,
   type for type and value for value, from the new table as from the old-way table.

    python -m benchmarks.datastore_load [--round 2563-10] [--sample 5000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
# ports of its own (catalog search: 5057...); BENCH_DATASTORE_CKAN_PORTS="web,pg,redis" to change
PORTS = {"TAMBON_CKAN_PORT": "5067", "TAMBON_CKAN_PG_PORT": "24367", "TAMBON_CKAN_REDIS_PORT": "63767"}
NATIONAL_ROWS = 75_000  # a national village round, as the target is stated
TARGETS = {"load_seconds_at_75000": 15.0, "same_rows_as_upsert": True}
DATASET = "village_profile"


def national_round(round_text: str, data_dir: Path) -> dict[str, Any]:
    """Every province's villages for one round, through the pipeline's stages into ``data_dir``'s catalog."""
    import samples.village_profile as generator
    from benchmarks.stage_timing import run_stages
    from domain.declarations import load_datasets
    from domain.layout import Layout
    from domain.rounds import parse_round
    from pipelines import stages

    spec = load_datasets()[DATASET]
    round_ = parse_round(round_text)
    layout = Layout(data_dir)
    start = time.perf_counter()
    generator.generate(round_, layout.landing_dir(spec.name, round_), provinces=None)
    run_stages(stages.RoundJob(spec, round_, layout))
    return {"round": round_.key, "seconds_pipeline": round(time.perf_counter() - start, 1)}


def write_sample(csv_path: Path, out: Path, key: list[str], rows: int) -> None:
    """The round's first ``rows`` rows by primary key, values as they are (the rows the Data API lists first)."""
    import csv

    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        header, *body = list(csv.reader(handle))
    at = [header.index(name) for name in key]
    body.sort(key=lambda row: [row[i] for i in at])
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *body[:rows]])


def read_table(client: Any, table_id: str, limit: int) -> dict[str, Any]:
    """The first ``limit`` rows by primary key, as the Data API returns them (without ``_id``), and the types."""
    got = client.call("datastore_search", resource_id=table_id, limit=limit, sort="round, village_code")
    return {
        "types": {f["id"]: f["type"] for f in got["fields"] if f["id"] != "_id"},
        "records": [{k: v for k, v in r.items() if k != "_id"} for r in got["records"]],
    }


def reference(client: Any, package_id: str, schema: dict[str, Any], sample_csv: Path, round_key: str) -> dict:
    """The old upsert and the Action API fallback on the sample, each into a table of its own."""
    from catalog.ckan_publish import datastore_fields
    from catalog.datastore_load import BATCH_ROWS, load_by_api, records

    out: dict[str, Any] = {}
    for way in ("upsert", "api_insert"):
        table = client.call(
            "datastore_create",
            resource={"package_id": package_id, "name": f"benchmark reference ({way})"},
            fields=datastore_fields(schema),
            primary_key=schema.get("primaryKey", []),
            force=True,
        )["resource_id"]
        start = time.perf_counter()
        if way == "upsert":  # what CkanPublisher._datastore did before
            rows = records(schema, sample_csv)
            for first in range(0, len(rows), BATCH_ROWS):
                client.call(
                    "datastore_upsert",
                    resource_id=table,
                    records=rows[first : first + BATCH_ROWS],
                    method="upsert",
                    force=True,
                )
        else:
            rows = [None] * load_by_api(client, table, schema, sample_csv, round_key)
        seconds = time.perf_counter() - start
        out[way] = {
            "table": table,
            "rows": len(rows),
            "seconds": round(seconds, 2),
            "rows_per_second": round(len(rows) / seconds),
        }
    return out


def run(round_text: str, sample: int, ports: dict[str, str], data_dir: Path, keep: bool) -> dict[str, Any]:
    import catalog.ckan_publish as ckan_publish
    from benchmarks.catalog_search import ckan_sh, start_server
    from catalog.ckan_client import CkanClient
    from catalog.datastore_load import SERVER_ACTION
    from catalog.local import LocalCatalog
    from domain.rounds import parse_round

    if (data_dir / "catalog" / DATASET / "latest.json").exists():  # --keep DIR of an earlier run: reuse its round
        made = {"round": parse_round(round_text).key, "seconds_pipeline": None}
    else:
        made = national_round(round_text, data_dir)
        os.sync()  # the pipeline's files written out before the measuring starts, not during it
    local = LocalCatalog(data_dir / "catalog")
    pointer = local.pointer(DATASET)
    current = pointer["rounds"][made["round"]]
    folder = local.root / DATASET / current["path"]
    schema = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))["resources"][0]["schema"]
    csv = folder / current["files"]["csv"]["path"]
    sample_csv = data_dir / "sample.csv"
    write_sample(csv, sample_csv, schema.get("primaryKey", []), sample)

    server = start_server(ports)
    try:
        client = CkanClient(server.url, server.token, timeout=300)
        publisher = ckan_publish.CkanPublisher(client, local)
        publisher.ensure_organization()
        loads: list[dict[str, Any]] = []
        original_load, original_datastore = ckan_publish.load_round, publisher._datastore

        said: dict[str, Any] = {}  # what the server's load action says of its time (copy, delete, insert)
        plain_call = client.call

        def call(action: str, **data: Any) -> Any:
            result = plain_call(action, **data)
            if action == SERVER_ACTION:
                said.update(result)
            return result

        client.call = call  # type: ignore[method-assign]

        def timed_load(*args: Any, **kwargs: Any) -> int:
            calls: list[str] = []
            client.on_call = calls.append
            said.clear()
            start = time.perf_counter()
            rows = original_load(*args, **kwargs)
            loads.append({"rows": rows, "seconds": time.perf_counter() - start, "calls": calls,
                          "server_seconds": said.get("seconds"), "full_text": said.get("full_text")})  # fmt: skip
            client.on_call = lambda action: None
            return rows

        step: dict[str, float] = {}

        def timed_datastore(*args: Any, **kwargs: Any) -> int:
            start = time.perf_counter()
            rows = original_datastore(*args, **kwargs)
            step["seconds"] = time.perf_counter() - start
            return rows

        ckan_publish.load_round = timed_load
        publisher._datastore = timed_datastore
        try:
            start = time.perf_counter()
            outcome = publisher.publish(DATASET, schema)
            publish_seconds = time.perf_counter() - start
            package = client.call("package_show", id=outcome.dataset)
            table = next(r for r in package["resources"] if r.get("role") == "datastore")["id"]
            source = next(
                r
                for r in package["resources"]
                if r.get("role") == "revision" and r.get("round") == made["round"] and r.get("file_format") == "csv"
            )
            # a re-published revision: the round's rows replaced (same file here: same rows, all of them rewritten)
            timed_load(
                client, table, schema, csv, made["round"], source=source, sha256=current["files"]["csv"]["sha256"]
            )
        finally:
            ckan_publish.load_round = original_load
        total = client.call("datastore_search", resource_id=table, limit=0)["total"]
        ref = reference(client, package["id"], schema, sample_csv, made["round"])
        ours = read_table(client, table, sample)
        theirs = read_table(client, ref["upsert"]["table"], sample)
        fallback = read_table(client, ref["api_insert"]["table"], sample)
    finally:
        ckan_sh(server.env, "stop", 120, check=False)
        if not keep:
            shutil.rmtree(server.run_dir, ignore_errors=True)

    first, again = loads
    rows = first["rows"]
    at_75000 = first["seconds"] * NATIONAL_ROWS / rows
    upsert_rps, insert_rps = ref["upsert"]["rows_per_second"], ref["api_insert"]["rows_per_second"]
    # the same rows, typed the same, from all three tables; and the table holds the round once
    same = ours == theirs == fallback and len(ours["records"]) == min(sample, rows) and total == rows
    result = {
        "benchmark": "datastore_load",
        "round": made["round"],
        "rows": rows,
        "table_rows_after": total,
        "way": "server COPY" if first["calls"] == ["tambon_datastore_load"] else "Action API",
        "load_seconds": round(first["seconds"], 2),
        "load_seconds_at_75000": round(at_75000, 2),
        "replace_seconds": round(again["seconds"], 2),
        "server_seconds": {"load": first["server_seconds"], "replace": again["server_seconds"]},
        "full_text": first["full_text"],
        "datastore_step_seconds": round(step["seconds"], 2),
        "publish_seconds": round(publish_seconds, 2),
        "rows_per_second": round(rows / first["seconds"]),
        "reference": {k: {x: y for x, y in v.items() if x != "table"} for k, v in ref.items()},
        "speedup_vs_upsert": round(rows / first["seconds"] / upsert_rps, 1),
        "speedup_vs_api_insert": round(rows / first["seconds"] / insert_rps, 1),
        "upsert_seconds_at_75000": round(NATIONAL_ROWS / upsert_rps, 1),
        "same_rows_as_upsert": same,
        "types": ours["types"],
        "calls": {"load": first["calls"], "replace": again["calls"]},
        "targets": TARGETS,
        "meets_targets": {
            "load_seconds_at_75000": at_75000 < TARGETS["load_seconds_at_75000"],
            "same_rows_as_upsert": same,
        },
        "seconds_pipeline": made["seconds_pipeline"],
        "gunicorn_workers": int(server.env.get("TAMBON_CKAN_WORKERS", "2")),
        "machine_cpus": os.cpu_count(),
        "machine_load_average": [round(x, 2) for x in os.getloadavg()],
        "note": "load: the round's rows into a new DataStore table by the publisher (one call of our extension's "
        "tambon_datastore_load: COPY of the uploaded CSV, delete and insert in one transaction); at 75,000: scaled "
        "linearly from the round's rows; replace: the same round loaded again over itself; reference, same run: "
        f"the first {sample:,} rows by the old datastore_upsert (method upsert) and by the Action API fallback "
        "(datastore_delete + method insert), each into a new table; same_rows_as_upsert: those rows read back "
        "equal (types and values) from all three tables",
    }
    return result


def report(result: dict[str, Any]) -> str:
    """Figures and targets side by side, Thai first with English beside it."""
    ok = result["meets_targets"]

    def mark(key: str) -> str:
        return "ผ่าน / met" if ok[key] else "ไม่ผ่าน / MISSED"

    ref = result["reference"]
    return "\n".join(
        [
            f"รอบ / round {result['round']}: {result['rows']:,} แถว / rows ({result['way']})",
            f"โหลด DataStore / DataStore load: {result['load_seconds']} s, {result['rows_per_second']:,} rows/s; "
            f"ที่ / at 75,000 rows: {result['load_seconds_at_75000']} s "
            f"(เป้า / target < {result['targets']['load_seconds_at_75000']} s) {mark('load_seconds_at_75000')}",
            f"แทนที่รอบเดิม / replace the round: {result['replace_seconds']} s",
            f"เดิม / before (datastore_upsert): {ref['upsert']['rows_per_second']:,} rows/s "
            f"(~{result['upsert_seconds_at_75000']} s at 75,000); เร็วขึ้น / speed-up {result['speedup_vs_upsert']}x",
            f"ทางสำรอง / fallback (Action API insert): {ref['api_insert']['rows_per_second']:,} rows/s; "
            f"ours {result['speedup_vs_api_insert']}x",
            f"ชนิดและค่าเหมือนเดิม / same types and values as upsert: {result['same_rows_as_upsert']} "
            f"{mark('same_rows_as_upsert')}",
        ]
    )


def main() -> None:
    from benchmarks.catalog_search import parse_ports

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--round", default="2563-10")
    parser.add_argument("--sample", type=int, default=5000, help="rows loaded the old way, as the reference")
    parser.add_argument("--ports", default=os.environ.get("BENCH_DATASTORE_CKAN_PORTS"), help="web,postgres,redis")
    parser.add_argument("--keep", type=Path, help="keep the generated data here and the (stopped) CKAN run dir")
    parser.add_argument("--output", type=Path, default=RESULTS / "datastore_load.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tambon-bench-") as tmp:
        data_dir = (args.keep or Path(tmp)).resolve()
        result = run(
            args.round,
            args.sample,
            parse_ports(args.ports, PORTS, "BENCH_DATASTORE_CKAN_PORTS"),
            data_dir,
            keep=args.keep is not None,
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(report(result))


if __name__ == "__main__":
    main()
