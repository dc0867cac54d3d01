"""``tambon``: the data team's command line.

tambon sample --round 2563-10 [--provinces 47,50 | --all]   write a month of raw sample files
tambon run --round 2563-10                                   run the round end to end in Dagster
tambon report --round 2563-10                                print the last run's summary again
tambon query "SELECT ..." [--list | --describe <dataset>]    SQL on the published catalog (catalog/query.py)
tambon offices sync [--provinces 47,50 | --all]              district offices' CKAN organisations and users
tambon offices logins                                        the demo's office logins (owner-only file)
tambon offices pull [--dataset village_profile]              land the corrections offices sent through CKAN

Exit codes (also in ``tambon --help``), so that a scheduler or a script can tell a data problem
from a typo and from a service that is down:

    0    success (a quality target missed, e.g. completeness, is reported but is not a failure)
    1    a run failed: a step, or a blocking asset check (rows_balance); the ✗ lines name it,
         the run report says more. CKAN publishing is a step of the run, so a CKAN that is down
         during ``tambon run`` is 1 too, named on its ✗ line
    2    a mistake in the command: bad arguments, an unknown dataset, table or round, bad SQL,
         a missing data folder, catalog or report
    3    a service did not answer when the command itself asked it: ``tambon query --catalog``
         with CKAN unreachable or failing (try again later, or check the URL)
    130  interrupted (Ctrl-C)

A mistake a person can fix is raised as :class:`UserError` where it is found and printed once,
Thai then English with what to do next, by :func:`main`; any other exception is a bug and keeps
its traceback. Rounds are read by :func:`domain.rounds.parse_round` (2563-10 or 2020-10) and
checked by :func:`domain.rounds.check_programme_round`: from 2563-10, the programme's first
month and the first Dagster partition, to the current month; rounds after 2564-09 (the
programme's year) are run with a warning.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from catalog.analyst_db import CATALOG_DB
from catalog.query import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    BilingualParser,
    CatalogNotFound,
    CatalogUnreachable,
    UserError,
    ckan_catalog_db_url,
    exit_codes_epilog,
    run_command,
)
from catalog.query import add_command as add_query_command
from domain.declarations import REPO_ROOT, DatasetSpec, DeclarationError, load_datasets
from domain.layout import Layout
from domain.rounds import PROGRAMME_FIRST, PROGRAMME_LAST, Round, RoundError, check_programme_round, parse_round
from domain.work import LOCKS, exclusive
from pipelines import ckan_notice, run_lock

__all__ = ["EXIT_FAILED", "EXIT_OK", "UserError", "main", "parser", "summary"]

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


# -- what a person named: checked before any work, each mistake a UserError ------------------------------------
def _round(text: str) -> Round:
    """The round a person named; refused with the reason when no data can exist for it, warned after 2564-09."""
    try:
        round_ = parse_round(text)
        warning = check_programme_round(round_)
    except RoundError as error:
        raise UserError(error.message_th, error.message_en) from None
    if warning:
        print(warning, file=sys.stderr)
    return round_


def _datasets() -> dict[str, DatasetSpec]:
    """The declared datasets; a broken declaration is for the data team to fix, not a traceback to read."""
    try:
        return load_datasets()
    except DeclarationError as error:
        raise UserError(
            "คำประกาศชุดข้อมูลในโฟลเดอร์ datasets/ ไม่ถูกต้อง แก้ไฟล์ตามข้อความด้านล่างแล้วลองใหม่",
            "a dataset declaration under datasets/ is invalid: fix it as said below and try again",
            details=str(error),
        ) from None


def _known_dataset(name: str, known: Iterable[str], *, what_th: str = "", what_en: str = "") -> str:
    """``name`` if it is one of ``known``; otherwise the mistake, listing the names that would work."""
    known = list(known)
    if name not in known:
        raise UserError(
            f"ไม่รู้จักชุดข้อมูล {name!r}{what_th} ใช้ --dataset กับชื่อใดชื่อหนึ่งต่อไปนี้",
            f"unknown dataset {name!r}{what_en}: use --dataset with one of these",
            details=", ".join(known),
        )
    return name


def _data_folder(layout: Layout) -> None:
    """The data folder must be there before anything reads from it (``TAMBON_DATA_DIR`` or ``data/``)."""
    if layout.root.is_dir():
        return
    named = " (TAMBON_DATA_DIR)" if os.environ.get("TAMBON_DATA_DIR") else ""
    raise UserError(
        f"ไม่พบโฟลเดอร์ข้อมูล {layout.root}{named} ตั้งค่า TAMBON_DATA_DIR ให้ชี้ไปยังโฟลเดอร์ที่มี landing/ "
        "หรือสร้างไฟล์ตัวอย่างก่อนด้วย tambon sample",
        f"data folder {layout.root}{named} does not exist: set TAMBON_DATA_DIR to the folder holding landing/, "
        "or write sample files first with tambon sample",
    )


def _provinces(args: argparse.Namespace) -> list[str] | None:
    """The provinces to sample (None: all of Thailand); an unknown code is refused before any file is written."""
    if args.all:
        return None
    if not args.provinces:
        return DEFAULT_PROVINCES
    from registry.geography import provinces as province_table

    known = sorted(province_table()["province_code"])
    chosen = [code.strip().zfill(2) for code in args.provinces.split(",") if code.strip()]
    unknown = [code for code in chosen if code not in known]
    if unknown or not chosen:
        shown = ", ".join(unknown) or repr(args.provinces)
        raise UserError(
            f"รหัสจังหวัดไม่ถูกต้อง: {shown} ใช้รหัส 2 หลักของ 76 จังหวัด "
            "(ไม่รวมกรุงเทพมหานคร 10) คั่นด้วยจุลภาค เช่น --provinces 47,50 หรือ --all",
            f"unknown province code(s): {shown}: use the 2-digit codes of the "
            "76 provinces (Bangkok, 10, is not part of the programme), comma-separated, e.g. --provinces 47,50, "
            "or --all",
            details=", ".join(known),
        )
    return chosen


# -- the commands ------------------------------------------------------------------------------------------------
def cmd_sample(args: argparse.Namespace) -> int:
    """Sample files for one dataset, or for every dataset that has a generator in ``samples/``."""
    round_ = _round(args.round)
    layout = Layout.from_env()
    provinces = _provinces(args)
    if not args.scale > 0:
        raise UserError(
            f"--scale ต้องมากกว่า 0 (ไม่ใช่ {args.scale}) เช่น --scale 0.1 คือหนึ่งในสิบของครัวเรือน",
            f"--scale must be above 0, not {args.scale}: e.g. --scale 0.1 for a tenth of the households",
        )
    generators = [n for n in _datasets() if importlib.util.find_spec(f"samples.{n}")]
    if args.dataset:
        _known_dataset(args.dataset, generators, what_th=" ที่มีตัวสร้างไฟล์ตัวอย่าง", what_en=" with a sample generator")
    names = [args.dataset] if args.dataset else generators
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
    return EXIT_OK


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
    """Run the round of every dataset with files (or ``--dataset``), then the scorecards; 1 if any run failed."""
    round_ = _round(args.round)
    layout = Layout.from_env()
    _data_folder(layout)
    specs = _datasets()
    if args.dataset:
        _known_dataset(args.dataset, specs)
    names = [args.dataset] if args.dataset else [n for n in specs if layout.landing_dirs(n, round_)]
    if not names:
        landing = layout.root / "landing"
        raise UserError(
            f"ไม่พบไฟล์ของรอบ {round_.be_key} ใน {landing} วางไฟล์ไว้ที่ {landing}/<ชุดข้อมูล>/{round_.be_key}/ "
            f"หรือสร้างไฟล์ตัวอย่างด้วย tambon sample --round {round_.be_key}",
            f"no files for round {round_} under {landing}: put them in {landing}/<dataset>/{round_.be_key}/, "
            f"or write sample files with tambon sample --round {round_.be_key}",
        )

    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.province_workers import run_in_workers
    from pipelines.round_run import run_round

    _use_repo_dagster_home()
    os.environ["TAMBON_PROGRESS"] = "1"
    if notice := ckan_notice.notice():  # CKAN set up on this machine, but not for this run
        print(notice, file=sys.stderr)
    with exclusive(layout.root / LOCKS / "dagster-instance.lock"):
        instance = dg.DagsterInstance.get()  # two first runs at once would both create its storage
    database = layout.catalog / CATALOG_DB
    database_before = _modified(database)
    status = EXIT_OK
    for name in names:
        print(f"▶ {name} รอบ/round {round_}", file=sys.stderr)
        # The round is this process's from before its run until its figures are printed: a second
        # `tambon run`, a sensor's or the UI's run of the same round waits (pipelines/run_lock.py).
        with run_lock.hold(layout, name, round_, on_wait=lambda message: print(f"  • {message}", file=sys.stderr)):
            run = run_round(
                defs,
                specs[name],
                round_,
                layout,
                lambda job, key: execute_run(job, key, instance),
                (lambda job_name, keys: run_in_workers(job_name, keys, args.workers)) if args.workers > 1 else None,
            )
            if not run.success:
                status = EXIT_FAILED
                continue
            report = json.loads(_report_path(layout, name, round_).read_text(encoding="utf-8"))
        print(summary(report))
        reports = layout.reports(name, round_)
        print(f"  แคตตาล็อก / catalog: {layout.catalog}")
        print(f"  รายงาน / run report: {_report_path(layout, name, round_)}")
        for file, label in [
            ("quality_report.html", "รายงานคุณภาพข้อมูล / quality report"),
            ("field_workers.csv", "ผลงานรายลูกจ้าง (ภายใน) / field workers (internal)"),
            ("quarantine.csv", "แถวที่ถูกกักไว้ทีละแถว (ภายใน) / quarantined rows (internal)"),
            ("tambons_not_reported.csv", "ตำบลที่ยังไม่รายงาน / tambons not reported"),
        ]:
            if (reports / file).exists():
                print(f"  {label}: {reports / file}")
        print(f"  ข้อมูลระหว่างทาง (ภายใน) / work area (internal): {layout.work(name, round_)}")
    if not args.dataset:
        status |= _score(defs, round_, instance, layout)
    _print_analyst_database(database, database_before)
    if os.environ.get("CKAN_URL"):
        _print_ckan(os.environ["CKAN_URL"].rstrip("/"))
    return status


def _modified(path: Path) -> int | None:
    """The file's modification time in ns, None when it does not exist: was it written by this run?"""
    return path.stat().st_mtime_ns if path.exists() else None


def _print_analyst_database(database: Path, before: int | None) -> None:
    """The analysts' database, only if it is there: a run whose publish failed may never have written it."""
    now = _modified(database)
    if now is None:
        return
    note = "" if now != before else " (ไม่ได้เขียนใหม่ในครั้งนี้ / not rewritten by this run)"
    print(f"ฐานข้อมูลสำหรับนักวิเคราะห์ / analysts' DuckDB catalog: {database}{note}")


def _print_ckan(ckan_url: str) -> None:
    """Where to browse and ATTACH in CKAN, only when CKAN holds the catalog database; a CKAN that is down is said."""
    try:
        url = ckan_catalog_db_url(ckan_url)
    except CatalogUnreachable:
        print(
            f"ติดต่อ CKAN ที่ {ckan_url} ไม่ได้ จึงไม่แสดงลิงก์ของ CKAN ตรวจ CKAN_URL และว่า CKAN ทำงานอยู่ "
            "แล้วสั่ง tambon run อีกครั้งเพื่อเผยแพร่\n"
            f"CKAN at {ckan_url} did not answer, so no CKAN links are shown: check CKAN_URL and that CKAN is "
            "running, then run tambon run again to publish",
            file=sys.stderr,
        )
        return
    except CatalogNotFound:  # nothing of ours published there (yet): no link that would lead nowhere
        return
    print(f"CKAN: {ckan_url}/organization/dopa")
    print(f"DuckDB (ATTACH ... (READ_ONLY)): {url}")


def execute_run(job, partition: Round | str, instance, **options) -> bool:
    """Run one job for a partition (a round, or any partition key) with the configured executor; print each failed
    step's reason. Success is the run's.

    ``TAMBON_EXECUTOR`` (``pipelines/executors.py``) decides: in process (the default) through
    ``execute_in_process``, which always runs every step here; otherwise through ``execute_job`` with a pointer
    the step processes and Celery workers load the job from (``execute_in_process`` would ignore the job's
    executor). ``options``: ``asset_selection`` (or any other argument both take).
    """
    import dagster as dg

    from pipelines import executors

    key = partition.key if isinstance(partition, Round) else partition
    run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if executors.chosen() == executors.IN_PROCESS:
        result = job.execute_in_process(
            partition_key=key, instance=instance, raise_on_error=False, run_config=run_config, **options
        )
    else:
        result = dg.execute_job(
            _reconstructable(job.name),
            instance=instance,
            tags={"dagster/partition": key},
            raise_on_error=False,
            run_config={**run_config, "resources": _data_dir_config(job)},
            **options,
        )
    failed_steps = [event for event in result.all_events if event.is_step_failure]
    for event in failed_steps:
        print(f"✗ {event.step_key}: {_reason(event.event_specific_data.error)}", file=sys.stderr)
    if not result.success and not failed_steps:  # no step failed: the run did (a worker lost, a broker down...)
        for event in result.all_events:
            if event.is_run_failure and event.event_specific_data and event.event_specific_data.error:
                print(f"✗ run {result.run_id}: {_reason(event.event_specific_data.error)}", file=sys.stderr)
    if result.success:
        print(f"  run id: {result.run_id}")
    return result.success


def _reconstructable(job_name: str):
    """The job as other processes load it: ``pipelines.definitions``'s ``defs``, from the repository's folder."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_module("pipelines.definitions", "defs", str(REPO_ROOT))
    return repository.get_reconstructable_job(job_name)


def _data_dir_config(job) -> dict[str, Any]:
    """The data folder written into the run's config, so a step in another process (a Celery worker started
    with another ``TAMBON_DATA_DIR``, or none) works on this run's folder, not on its own."""
    data_dir = str(Layout.from_env().root)
    return {
        name: {"config": {"data_dir": data_dir}} for name in ("data", "catalog", "locks") if name in job.resource_defs
    }


def _reason(error) -> str:
    """The innermost cause of a step failure, in its own (Thai/English) words, not Dagster's "Error occurred while
    executing op" wrapper; the whole stack stays in Dagster's log and UI."""
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    prefix, _, rest = message.partition(": ")
    return rest if error.cls_name and prefix.endswith(error.cls_name) and rest else message


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
        return EXIT_OK
    print(f"▶ scorecards รอบ/round {round_}: {', '.join(ready)}", file=sys.stderr)
    selection = [key for key in defs.resolve_all_asset_keys() if key.path[0] in ready]  # published, and CKAN
    ok = execute_run(defs.resolve_job_def(SCORECARDS_JOB), round_.key, instance, asset_selection=selection)
    for name in ready:
        pointer = layout.catalog / f"{name}_picks" / "latest.json"
        latest = json.loads(pointer.read_text(encoding="utf-8"))["rounds"].get(round_.key) if pointer.exists() else None
        if latest:
            print(f"ผลการคัดเลือก / picks ({name}): {pointer.parent / latest['path']}")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    """The last run's summary (or its JSON); no report yet is a mistake with the command that makes one."""
    round_, layout = _round(args.round), Layout.from_env()
    _data_folder(layout)
    _known_dataset(args.dataset, _datasets())
    path = _report_path(layout, args.dataset, round_)
    if not path.exists():
        raise UserError(
            f"ยังไม่มีรายงานของ {args.dataset} รอบ {round_.be_key} ประมวลผลก่อนด้วย "
            f"tambon run --round {round_.be_key} --dataset {args.dataset}",
            f"no run report yet for {args.dataset}, round {round_}: run "
            f"tambon run --round {round_.be_key} --dataset {args.dataset} first (looked for {path})",
        )
    report = json.loads(path.read_text(encoding="utf-8"))
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else summary(report))
    return EXIT_OK


def cmd_offices_sync(args: argparse.Namespace) -> int:
    """Organisations and users of the district offices in CKAN (catalog/offices.py); idempotent.

    New users' passwords go to a file only its owner can read (0600), never to the screen or a log:
    the data team hands each office its line, then deletes the file.
    """
    from catalog.ckan_client import CkanError
    from catalog.offices import offices_from_registry, sync_offices, write_credentials

    provinces = _provinces(args)
    client = _ckan_client()
    offices = offices_from_registry(provinces)
    credentials = _credentials_file()
    try:
        result = sync_offices(client, offices, lambda o, p: write_credentials(credentials, o, p))
    except CkanError as error:
        raise UserError(
            "CKAN ไม่ตอบหรือปฏิเสธคำสั่ง ตรวจ CKAN_URL และโทเค็น (ต้องเป็นผู้ดูแลระบบ) แล้วลองใหม่ สิ่งที่สร้างไปแล้วจะไม่ถูกสร้างซ้ำ",
            "CKAN did not answer or refused: check CKAN_URL and the token (a sysadmin's), then run again; "
            "what was already made is not made twice",
            exit_code=EXIT_UNREACHABLE,
            details=str(error),
        ) from None
    print(
        f"อำเภอ {len(offices)} แห่ง: สร้างหน่วยงาน {len(result.organizations_created)} ปรับปรุง "
        f"{len(result.organizations_updated)} สร้างผู้ใช้ {len(result.users_created)} ตั้งสมาชิก "
        f"{len(result.memberships_set)} ไม่เปลี่ยนแปลง {result.unchanged}\n"
        f"{len(offices)} district offices: {len(result.organizations_created)} organisations created, "
        f"{len(result.organizations_updated)} updated, {len(result.users_created)} users created, "
        f"{len(result.memberships_set)} memberships set, {result.unchanged} unchanged"
    )
    if result.users_created:
        print(
            f"รหัสผ่านของผู้ใช้ใหม่อยู่ใน {credentials} (อ่านได้เฉพาะเจ้าของไฟล์) ส่งให้แต่ละอำเภอแล้วลบไฟล์\n"
            f"new users' passwords are in {credentials} (owner-only): hand each office its line, then delete it"
        )
    return EXIT_OK


def _ckan_client() -> Any:
    """The data team's CKAN client (a sysadmin's token), or the configuration mistake said plainly."""
    from catalog.ckan_client import CkanClient, token_from_environment

    url, token = os.environ.get("CKAN_URL"), token_from_environment(ckan_notice.SECRETS_FILE)
    if not url or not token:
        raise UserError(
            "ยังไม่ได้ตั้งค่า CKAN: ตั้ง CKAN_URL และ CKAN_API_TOKEN (โทเค็นของผู้ดูแลระบบ) "
            f"หรือเขียน CKAN_API_TOKEN=... ใน {ckan_notice.SECRETS_FILE}",
            "CKAN is not configured: set CKAN_URL and CKAN_API_TOKEN (a sysadmin's token), "
            f"or put CKAN_API_TOKEN=... in {ckan_notice.SECRETS_FILE}",
        )
    return CkanClient(url, token)


def _credentials_file() -> Path:
    return Layout.from_env().root / "private" / "office_credentials.csv"


def cmd_offices_logins(args: argparse.Namespace) -> int:
    """The demo's office logins, read from the owner-only credentials file that ``offices sync`` wrote.

    For the demo (``make demo`` prints them at its end) and for the data team handing each office
    its line; the passwords are random per installation, never in the repository.
    """
    path = _credentials_file()
    if not path.exists():
        raise UserError(
            f"ไม่มีไฟล์รหัสผ่าน {path}: รัน tambon offices sync ก่อน (รหัสผ่านเขียนเฉพาะตอนสร้างผู้ใช้)",
            f"no credentials file {path}: run tambon offices sync first (passwords are written when users are made)",
        )
    url = os.environ.get("CKAN_URL", "")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    print(f"บัญชีสาธิตของอำเภอ (เข้าสู่ระบบที่ {url}/user/login) / demo office logins (log in at {url}/user/login):")
    for row in rows:
        print(f"  {row['user']:<12} {row['password']}  {row['name_th']} / {row['name_en']}")
    return EXIT_OK


def cmd_offices_pull(args: argparse.Namespace) -> int:
    """Land the corrections the offices sent back through CKAN now (what the office-uploads sensor does).

    Idempotent: a file landed before is one file (``land_returned``); ``tambon run`` then reads them.
    """
    from pipelines.office_returns import land_uploads

    client, layout = _ckan_client(), Layout.from_env()
    specs = load_datasets()
    names = [args.dataset] if args.dataset else [n for n, s in specs.items() if s.has_quality_figures]
    for name in names:
        _known_dataset(name, list(specs))
        for item in land_uploads(client, specs[name], layout, set()):
            if item.path is None:
                print(f"{name} อำเภอ {item.amphoe_code}: {item.reason}")
            else:
                print(
                    f"{name} อำเภอ {item.amphoe_code} รอบ {item.round}: {item.path.name} "
                    f"/ office {item.amphoe_code}, round {item.round}: landed {item.path}"
                )
    return EXIT_OK


def _epilog() -> str:
    """Exit codes and the rounds accepted, for ``tambon --help``."""
    first, last = PROGRAMME_FIRST.be_key, PROGRAMME_LAST.be_key
    return (
        f"{exit_codes_epilog()}\n"
        f"รอบ: 2563-10 (พ.ศ.) หรือ 2020-10 (ค.ศ.) ตั้งแต่ {first} ถึงเดือนปัจจุบัน "
        f"รอบหลัง {last} (หลังปีงบประมาณของโครงการ) ประมวลผลได้แต่มีคำเตือน\n"
        f"rounds: 2563-10 (B.E.) or 2020-10 (Gregorian), from {first} to this month; "
        f"rounds after {last} (the programme's year) run with a warning"
    )


def parser() -> argparse.ArgumentParser:
    top = BilingualParser(
        prog="tambon",
        description="Tambon open-data pipeline / ไปป์ไลน์ข้อมูลเปิดระดับตำบล",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    run.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("TAMBON_WORKERS", "1")),
        help="จังหวัดที่ประมวลผลพร้อมกัน / provinces run side by side, each in a worker process "
        "(default $TAMBON_WORKERS or 1)",
    )
    run.set_defaults(func=cmd_run)
    report = sub.add_parser("report", help="print the last run's summary / แสดงสรุปผล")
    report.add_argument("--round", required=True)
    report.add_argument("--dataset", default="village_profile")
    report.add_argument("--json", action="store_true", help="the machine-readable report")
    report.set_defaults(func=cmd_report)
    add_query_command(sub)
    offices = sub.add_parser("offices", help="หน่วยงานระดับอำเภอใน CKAN / district offices in CKAN")
    offices_sub = offices.add_subparsers(dest="offices_command", required=True)
    sync = offices_sub.add_parser(
        "sync", help="สร้างหน่วยงานและผู้ใช้ของอำเภอ (รันซ้ำได้) / create the offices' organisations and users, idempotent"
    )
    sync.add_argument(
        "--provinces", help="รหัสจังหวัดคั่นด้วยจุลภาค / comma-separated province codes (default: a handful, as tambon sample)"
    )
    sync.add_argument("--all", action="store_true", help="ทุกจังหวัด / all 76 provinces")
    sync.set_defaults(func=cmd_offices_sync)
    logins = offices_sub.add_parser(
        "logins", help="แสดงบัญชีสาธิตของอำเภอ (จากไฟล์รหัสผ่าน) / print the demo office logins (credentials file)"
    )
    logins.set_defaults(func=cmd_offices_logins)
    pull = offices_sub.add_parser(
        "pull", help="นำไฟล์แก้ไขที่อำเภอส่งกลับทาง CKAN เข้ารอบ / land the corrections offices sent through CKAN"
    )
    pull.add_argument("--dataset", help="ชุดข้อมูลเดียว / one dataset (default: every collection with workbooks)")
    pull.set_defaults(func=cmd_offices_pull)
    return top


def main(argv: list[str] | None = None) -> int:
    """The exit code (see the module docstring); a :class:`UserError` is printed, never a traceback."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as done:  # --help (0) or a malformed argument (2), already printed by argparse
        return done.code if isinstance(done.code, int) else 2
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
