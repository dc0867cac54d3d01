"""``tambon``: the data team's command line.

tambon sample --round 2563-10 [--provinces 47,50 | --all]   write a month of raw sample files
tambon run --round 2563-10                                   run the round end to end in Dagster
tambon report --round 2563-10                                print the last run's summary again
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import os
import sys
from pathlib import Path

from catalog.analyst_db import CATALOG_DB, CKAN_DATASET
from catalog.query import add_command as add_query_command
from pipelines.declarations import REPO_ROOT, load_datasets
from pipelines.layout import Layout
from pipelines.rounds import Round, parse_round

DEFAULT_PROVINCES = [
    "47",
    "50",
    "84",
    "21",
    "96",
]  # Sakon Nakhon, Chiang Mai, Surat Thani, Rayong, Narathiwat


def _use_repo_dagster_home() -> None:
    """Dagster's instance is the repo's dagster.yaml, whose storage paths are repo-relative."""
    os.environ["TAMBON_DATA_DIR"] = str(Layout.from_env().root)
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT))
    os.chdir(REPO_ROOT)


def cmd_sample(args: argparse.Namespace) -> int:
    """Sample files for one dataset, or for every dataset that has a generator in ``samples/``."""
    round_ = parse_round(args.round)
    layout = Layout.from_env()
    provinces = None if args.all else (args.provinces.split(",") if args.provinces else DEFAULT_PROVINCES)
    names = [args.dataset] if args.dataset else [n for n in load_datasets() if importlib.util.find_spec(f"samples.{n}")]
    for name in names:
        generator = importlib.import_module(f"samples.{name}")
        out_dir = layout.landing_dir(name, round_)
        if out_dir.is_dir() and any(out_dir.iterdir()):
            print(f"มีไฟล์ของรอบนี้อยู่แล้ว ไม่สร้างซ้ำ / {out_dir} already holds files: left as they are")
            continue
        options = {"provinces": provinces, "seed": args.seed, "bad_files": not args.no_bad_files}
        if "scale" in inspect.signature(generator.generate).parameters:
            options["scale"] = args.scale
        truth = generator.generate(round_, out_dir, **options)
        files = getattr(truth, "files", [])
        print(f"เขียนไฟล์ตัวอย่าง {len(files)} ไฟล์ / wrote {len(files)} sample files -> {out_dir}")
    return 0


def summary(report: dict) -> str:
    """The human summary of a run report, Thai then English."""
    t, q = report["totals"], report.get("quality")
    rejected = [f for f in report["files"] if f["status"] == "rejected"]
    new = [p for p in report["published"] if p["status"] == "new"]
    unchanged = len(report["published"]) - len(new)
    late = len(report.get("tambons_not_reported", []))
    lines = [
        f"ชุดข้อมูล {report['dataset']} รอบ {report['round_be']} ({report['round']})",
        f"  ไฟล์ {t['files']} ไฟล์ (อ่านไม่ได้ {len(rejected)}) แถวที่ได้รับ {t['rows_received']:,} "
        f"ผ่าน {t['rows_accepted']:,} กักไว้ {t['rows_quarantined']:,}",
        *(
            [
                f"  ความครบถ้วน {q['completeness_pct']}% ความถูกต้อง {q['accuracy_pct']}% "
                f"ส่งทันกำหนด {q['on_time_pct']}% ของตำบล ตำบลที่ยังไม่รายงาน {late} ตำบล"
            ]
            if q
            else []
        ),
        f"  เผยแพร่ฉบับใหม่ {len(new)} ชุด ไม่เปลี่ยนแปลง {unchanged} ชุด",
        f"Dataset {report['dataset']}, round {report['round']}:",
        f"  {t['files']} files ({len(rejected)} unreadable), {t['rows_received']:,} rows received, "
        f"{t['rows_accepted']:,} accepted, {t['rows_quarantined']:,} quarantined",
        *(
            [
                f"  completeness {q['completeness_pct']}%, accuracy {q['accuracy_pct']}%, "
                f"{q['on_time_pct']}% of tambons on time, {late} tambons not reported"
            ]
            if q
            else []
        ),
        f"  {len(new)} new revisions published, {unchanged} unchanged",
    ]
    if report.get("quality_by_province"):
        lines.append("  จังหวัดที่ส่งข้อมูล / provinces that reported:")
        lines += [
            f"    {p['area_code']} {p['area_name_th']} ({p['area_name_en']}): ครบถ้วน/completeness "
            f"{p['completeness_pct']}%, ถูกต้อง/accuracy {p['accuracy_pct']}%, "
            f"ตำบลที่รายงาน/tambons reported {p['tambons_reported']}/{p['tambons_expected']}"
            for p in report["quality_by_province"]
        ]
    if rejected:
        lines.append("  ไฟล์ที่อ่านไม่ได้ / unreadable files:")
        lines += [f"    {f['name']}: {f['message_th']} / {f['message_en']}" for f in rejected]
    if report["rules"]["rows_by_code"]:
        lines.append("  แถวที่กักไว้ตามสาเหตุ / rows quarantined by reason:")
        lines += [f"    {code}: {n:,}" for code, n in report["rules"]["rows_by_code"].items()]
    return "\n".join(lines)


def _report_path(layout: Layout, dataset: str, round_: Round) -> Path:
    return layout.reports(dataset, round_) / "run_report.json"


def cmd_run(args: argparse.Namespace) -> int:
    import dagster as dg

    from pipelines.definitions import defs, round_job_name

    round_ = parse_round(args.round)
    _use_repo_dagster_home()
    layout = Layout.from_env()
    os.environ["TAMBON_PROGRESS"] = "1"
    names = [args.dataset] if args.dataset else [n for n in load_datasets() if layout.landing_dirs(n, round_)]
    if not names:
        print(f"ไม่พบไฟล์ของรอบ {round_.be_key} / no files for round {round_} under {layout.root / 'landing'}")
        return 1
    instance = dg.DagsterInstance.get()
    status = 0
    for name in names:
        print(f"▶ {name} รอบ/round {round_}", file=sys.stderr)
        if not _execute(defs.resolve_job_def(round_job_name(name)), round_, instance):
            status = 1
            continue
        report = json.loads(_report_path(layout, name, round_).read_text(encoding="utf-8"))
        print(summary(report))
        reports = layout.reports(name, round_)
        print(f"  แคตตาล็อก / catalog: {layout.catalog}")
        print(f"  รายงาน / run report: {_report_path(layout, name, round_)}")
        for file, label in [
            ("quality_report.html", "รายงานคุณภาพข้อมูล / quality report"),
            ("field_workers.csv", "ผลงานรายลูกจ้าง (ภายใน) / field workers (internal)"),
        ]:
            if (reports / file).exists():
                print(f"  {label}: {reports / file}")
        print(f"  ข้อมูลระหว่างทาง (ภายใน) / work area (internal): {layout.work(name, round_)}")
    if not args.dataset:
        status |= _score(defs, round_, instance, layout)
    print(f"ฐานข้อมูลสำหรับนักวิเคราะห์ / analysts' DuckDB catalog: {layout.catalog / CATALOG_DB}")
    if os.environ.get("CKAN_URL"):
        print(f"CKAN: {os.environ['CKAN_URL']}/organization/dopa")
        print(f"DuckDB (ATTACH ... (READ_ONLY)): {_ckan_catalog_db_url(os.environ['CKAN_URL'])}")
    return status


def _execute(job, round_: Round, instance, **options) -> bool:
    """Run one job for the round in-process; print each failed step's reason."""
    result = job.execute_in_process(
        partition_key=round_.key,
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        **options,
    )
    for event in result.all_events:
        if event.is_step_failure:
            print(f"✗ {event.step_key}: {event.event_specific_data.error.message}", file=sys.stderr)
    if result.success:
        print(f"  run id: {result.run_id}")
    return result.success


def _score(defs, round_: Round, instance, layout: Layout) -> int:
    """The scorecards whose input tables are published for the round; the others are named and skipped."""

    from pipelines.definitions import SCORECARDS_JOB
    from pipelines.scorecards import MissingInputError, load_inputs, load_scorecards

    ready = []
    for name, card in load_scorecards().items():
        try:
            load_inputs(card, layout.catalog, round_)
            ready.append(name)
        except MissingInputError as missing:
            print(f"ข้ามการคำนวณ {name} / {name} skipped: {missing}")
    if not ready:
        return 0
    print(f"▶ scorecards รอบ/round {round_}: {', '.join(ready)}", file=sys.stderr)
    selection = [key for key in defs.resolve_all_asset_keys() if key.path[0] in ready]  # published, and CKAN
    ok = _execute(defs.resolve_job_def(SCORECARDS_JOB), round_, instance, asset_selection=selection)
    for name in ready:
        pointer = layout.catalog / f"{name}_picks" / "latest.json"
        latest = json.loads(pointer.read_text(encoding="utf-8"))["rounds"].get(round_.key) if pointer.exists() else None
        if latest:
            print(f"ผลการคัดเลือก / picks ({name}): {pointer.parent / latest['path']}")
    return 0 if ok else 1


def _ckan_catalog_db_url(ckan_url: str) -> str:
    """The stable download URL of the catalog database in CKAN (what an analyst ATTACHes)."""
    import requests

    response = requests.get(f"{ckan_url}/api/3/action/package_show", params={"id": CKAN_DATASET}, timeout=30)
    if not response.ok:
        return f"{ckan_url}/dataset/{CKAN_DATASET}"
    resources = response.json()["result"]["resources"]
    return next((r["url"] for r in resources if r.get("format") == "DuckDB"), f"{ckan_url}/dataset/{CKAN_DATASET}")


def cmd_report(args: argparse.Namespace) -> int:
    round_, layout = parse_round(args.round), Layout.from_env()
    path = _report_path(layout, args.dataset, round_)
    if not path.exists():
        print(f"ยังไม่มีรายงานของรอบนี้ / no report yet: {path}")
        return 1
    report = json.loads(path.read_text(encoding="utf-8"))
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else summary(report))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="tambon", description="Tambon open-data pipeline / ไปป์ไลน์ข้อมูลเปิดระดับตำบล")
    sub = top.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="write a realistic month of raw files / สร้างไฟล์ตัวอย่าง")
    sample.add_argument("--round", default="2563-10", help="2563-10 or 2020-10")
    sample.add_argument("--dataset", help="one dataset (default: every dataset with a sample generator)")
    sample.add_argument("--scale", type=float, default=1.0, help="share of households (household survey only)")
    sample.add_argument("--provinces", help="comma-separated province codes (default: a handful)")
    sample.add_argument("--all", action="store_true", help="all of Thailand")
    sample.add_argument("--seed", type=int, default=2563)
    sample.add_argument("--no-bad-files", action="store_true", help="leave out the deliberately bad files")
    sample.set_defaults(func=cmd_sample)
    run = sub.add_parser("run", help="run a round end to end in Dagster / ประมวลผลหนึ่งรอบ")
    run.add_argument("--round", required=True, help="2563-10 or 2020-10")
    run.add_argument("--dataset", help="one dataset (default: every dataset with files for the round)")
    run.set_defaults(func=cmd_run)
    report = sub.add_parser("report", help="print the last run's summary / แสดงสรุปผล")
    report.add_argument("--round", required=True)
    report.add_argument("--dataset", default="village_profile")
    report.add_argument("--json", action="store_true", help="the machine-readable report")
    report.set_defaults(func=cmd_report)
    add_query_command(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
