"""The data team's month in Dagster: new files start a run, a monthly schedule, one per dataset.

Both start RUNNING as soon as ``make ui`` (the daemon) is up, so the month works without
anyone switching them on:

* the landing sensor ``<dataset>_new_files`` runs a round when its files appear or change,
  including a late correction to an old round, and never re-runs a round whose files
  are the ones its last ``<dataset>/landed`` materialization already ingested (so a
  fresh ``make ui`` after ``make demo`` requests nothing);
* the schedule ``<dataset>_monthly`` runs the month's round at 06:00 Bangkok time the day
  after the reporting deadline, so the ``reported_by_deadline`` check is judged once the
  deadline has passed even if no file changed since; a month with no files at all is
  skipped with a reason (there is nothing to run, and the freshness policy flags it).

How the sensor tells "changed" cheaply. A national round is 7,000+ files and the sensor
ticks every minute, so it never hashes by default:

1. each tick lists the landing folders (name, size, modification time: ``stat`` only) and
   fingerprints each round's listing; a round whose listing equals the one recorded in
   the sensor's cursor is done, with no further I/O;
2. a round whose listing changed (or that the cursor has never seen, as after a fresh
   ``make ui``) is compared with what the last ``landed`` materialization of that
   partition ingested: its ``landing_fingerprint`` (the same listing, taken before ingest)
   equal means unchanged; otherwise file by file against ``landed_files`` (name -> size,
   mtime) and ``file_hashes`` (name -> SHA-256): a file added, removed or of another size
   has changed without reading it; only a file of the same size with another mtime (a
   copy, a ``touch``, a restore from backup) is read and hashed to confirm;
3. a round with no materialization yet is new and is requested without hashing.

The listing is taken before ingest reads the files, so a file rewritten during a run has
a newer mtime than recorded and is checked again at the next tick. The run key is the
round and its listing fingerprint: Dagster never starts the same state twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from domain.declarations import DatasetSpec
from domain.layout import Layout
from domain.rounds import Round, parse_round
from domain.work import WorkArea
from pipelines.ingest.provinces import parts_fingerprint, parts_to_run
from pipelines.partitions import province_key, rounds

#: name (``<round folder>/<path>``, as ingest names files) -> (size in bytes, mtime in ns)
Listing = dict[str, tuple[int, int]]

TIMEZONE = "Asia/Bangkok"  # the partitions' timezone
#: The ``landed`` materialization's list of province parts that changed: the province runs to request.
PROVINCES_CHANGED = "provinces_changed"
#: The ``published`` materialization's record of the parts it was made from (``parts_fingerprint``).
PARTS_FINGERPRINT = "parts_fingerprint"


def _round_folders(layout: Layout, dataset: str) -> dict[str, list[Path]]:
    """Round key -> its landing folders, only those ingest reads (named ``2563-10`` or ``2020-10`` exactly)."""
    base = layout.root / "landing" / dataset
    folders: dict[str, list[Path]] = {}
    if not base.is_dir():
        return folders
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            round_ = parse_round(folder.name)
        except ValueError:
            continue  # not a round folder
        if folder.name in (round_.be_key, round_.key):
            folders.setdefault(round_.key, []).append(folder)
    return folders


def _list(folders: list[Path]) -> Listing:
    """Every file ingest would read under ``folders``, by the name ingest gives it, with size and mtime."""
    listing: Listing = {}
    for base in folders:
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                continue  # ingest skips hidden files too (pipelines/ingest/landing.py)
            try:
                stat = path.stat()
            except OSError:
                continue  # gone since it was listed: the next tick sees the folder as it is then
            listing[f"{base.name}/{path.relative_to(base).as_posix()}"] = (stat.st_size, stat.st_mtime_ns)
    return listing


def landed_files(layout: Layout, dataset: str, round_: Round) -> Listing:
    """One round's landed files (both the B.E. and the Gregorian folder), as the sensor lists them."""
    return _list(_round_folders(layout, dataset).get(round_.key, []))


def listing_fingerprint(listing: Listing) -> str:
    """A short hash of names, sizes and mtimes: equal listings, equal fingerprints; no file is read."""
    lines = [f"{name}|{size}|{mtime}" for name, (size, mtime) in sorted(listing.items())]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def content_fingerprint(hashes: dict[str, str]) -> str:
    """A hash of every file's name and SHA-256: what a round's content is, whatever the mtimes."""
    lines = [f"{name}\t{sha}" for name, sha in sorted(hashes.items())]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (files can be large XLSX)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def raw_files_metadata(listing: Listing, hashes: dict[str, str]) -> dict[str, Any]:
    """What ``<dataset>/landed`` records so the sensor can tell later whether the files changed."""
    return {
        "landing_fingerprint": listing_fingerprint(listing),
        "content_fingerprint": content_fingerprint(hashes),
        "landed_files": dg.MetadataValue.json({name: [size, mtime] for name, (size, mtime) in sorted(listing.items())}),
    }


def _json(metadata: dict[str, Any], key: str) -> Any:
    value = metadata.get(key)
    return getattr(value, "value", value)


def changed_since_ingest(
    listing: Listing, metadata: dict[str, Any], folder_of: Callable[[str], Path], hash_file: Callable[[Path], str]
) -> bool:
    """Whether the files listed now differ from those a ``landed`` materialization ingested.

    ``metadata`` is that materialization's; ``folder_of(name)`` is the file's path. Cheap
    tests first (fingerprint, names, sizes, mtimes); ``hash_file`` only for a file whose
    size is the same but whose mtime is not.
    """
    if _json(metadata, "landing_fingerprint") == listing_fingerprint(listing):
        return False
    hashes: dict[str, str] = _json(metadata, "file_hashes") or {}
    recorded: dict[str, list[int]] = _json(metadata, "landed_files") or {}
    if set(listing) != set(hashes):
        return True
    for name, (size, mtime) in sorted(listing.items()):
        before = recorded.get(name)
        if before is not None and (before[0], before[1]) == (size, mtime):
            continue  # same size and mtime: taken as the same bytes
        if before is not None and before[0] != size:
            return True  # another size: changed, no need to read it
        try:
            if hash_file(folder_of(name)) != hashes[name]:
                return True
        except OSError:
            return True  # unreadable now: a run records why (ingest names the file and the error)
    return False


def last_ingest_metadata(instance: dg.DagsterInstance, dataset: str, partition: str) -> dict[str, Any] | None:
    """Metadata of the newest ``<dataset>/landed`` materialization of ``partition``, or None if there is none."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey([dataset, "landed"]), asset_partitions=[partition]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    return dict(records[0].asset_materialization.metadata)


def landing_sensor(spec: DatasetSpec, job_name: str) -> dg.SensorDefinition:
    """``<dataset>_new_files``: run a round whose landed files differ from what was last ingested.

    RUNNING by default: new files are the data team's trigger, and comparing with the last
    materialization (not only the cursor) makes a fresh start request nothing.
    """

    @dg.sensor(
        name=f"{spec.name}_new_files",
        job_name=job_name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"New or changed files in data/landing/{spec.name}/<round>/ run that round; a round whose "
        "files were already ingested is never run again / ไฟล์ใหม่หรือไฟล์ที่แก้ไขจะเริ่มการประมวลผลรอบนั้น",
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        layout = Layout.from_env()
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        current: dict[str, str] = {}
        requests, unchanged = [], []
        base = layout.root / "landing" / spec.name
        for key, folders in sorted(_round_folders(layout, spec.name).items()):
            listing = _list(folders)
            fingerprint = current[key] = listing_fingerprint(listing)
            if not listing or seen.get(key) == fingerprint:
                continue
            metadata = last_ingest_metadata(context.instance, spec.name, key)
            if metadata is not None and not changed_since_ingest(listing, metadata, base.joinpath, sha256_file):
                unchanged.append(key)
                continue
            requests.append(
                dg.RunRequest(partition_key=key, run_key=f"{key}:{fingerprint}", tags={"trigger": "new_files"})
            )
        if unchanged:
            context.log.info(
                f"ไฟล์ของรอบ {', '.join(unchanged)} ตรงกับที่นำเข้าแล้ว ไม่ประมวลผลซ้ำ / "
                f"files of {', '.join(unchanged)} are those already ingested: not run again"
            )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))

    return sensor


def provinces_sensor(spec: DatasetSpec, job_name: str) -> dg.SensorDefinition:
    """``<dataset>_provinces``: after a round's files are sorted, run exactly the provinces whose parts changed.

    Each new ``<dataset>/landed`` materialization names the parts it changed (``provinces_changed``);
    one run per ``province|round`` key, keyed by that materialization, so none is started twice.
    """

    @dg.sensor(
        name=f"{spec.name}_provinces",
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a round's files are sorted, each province whose files changed is read and validated / "
        "หลังแยกไฟล์ของรอบตามจังหวัด ตรวจเฉพาะจังหวัดที่ไฟล์เปลี่ยน",
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        after = int(context.cursor) if context.cursor else None
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey([spec.name, "landed"]), after_storage_id=after),
            limit=100,
            ascending=after is not None,  # first tick: the newest sort of each round, below
        ).records
        layout, requests, seen = Layout.from_env(), [], set()
        for record in records:
            materialization = record.asset_materialization
            if materialization is None or materialization.partition is None or materialization.partition in seen:
                continue
            if after is None:
                # Never ticked (a fresh `make ui`, perhaps after `make demo`): what an earlier sort left to run,
                # read from the parts themselves, rather than every province ever sorted.
                seen.add(materialization.partition)
                work = WorkArea(layout.work(spec.name, parse_round(materialization.partition)), partitioned=True)
                provinces = parts_to_run(work, "validated")
            else:
                provinces = _json(dict(materialization.metadata), PROVINCES_CHANGED) or []
            requests += [
                dg.RunRequest(
                    partition_key=str(province_key(materialization.partition, province)),
                    run_key=f"{record.storage_id}:{province}",
                    tags={"trigger": "files_sorted"},
                )
                for province in provinces
            ]
        newest = max((r.storage_id for r in records), default=None)
        return dg.SensorResult(run_requests=requests, cursor=str(newest) if newest is not None else context.cursor)

    return sensor


def national_sensor(spec: DatasetSpec, job_name: str) -> dg.SensorDefinition:
    """``<dataset>_national``: a round's national steps, once every province part is validated from its last sort.

    Runs once per state of the round's parts (their fingerprint is the run key and is recorded by
    ``published``): a sort that changed nothing, or a fresh ``make ui`` after ``make demo``, requests
    nothing; a province still running makes the round wait for it.
    """

    @dg.sensor(
        name=f"{spec.name}_national",
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="When every province of a round is validated, the round's quality, aggregates and packages "
        "are made / เมื่อตรวจครบทุกจังหวัดแล้ว ประมวลผลระดับประเทศของรอบ",
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        layout = Layout.from_env()
        requests, waiting = [], []
        base = layout.root / "work" / spec.name
        for folder in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
            work = WorkArea(folder, partitioned=True)
            fingerprint = parts_fingerprint(work)
            if fingerprint is None or fingerprint == _published_fingerprint(context.instance, spec.name, folder.name):
                continue
            if parts_to_run(work, "validated"):
                waiting.append(folder.name)
                continue
            requests.append(
                dg.RunRequest(
                    partition_key=folder.name, run_key=f"{folder.name}:{fingerprint}", tags={"trigger": "parts"}
                )
            )
        if waiting:
            context.log.info(
                f"รอบ {', '.join(waiting)} ยังตรวจไม่ครบทุกจังหวัด / {', '.join(waiting)}: provinces still to validate"
            )
        return dg.SensorResult(run_requests=requests)

    return sensor


def _published_fingerprint(instance: dg.DagsterInstance, dataset: str, partition: str) -> str | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey([dataset, "published"]), asset_partitions=[partition]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    return _json(dict(records[0].asset_materialization.metadata), PARTS_FINGERPRINT)


def office_uploads_sensor(spec: DatasetSpec) -> dg.SensorDefinition:
    """``<dataset>_office_uploads``: the corrections the district offices added in CKAN, landed in their round.

    Only lands files (pipelines/office_returns.py); the landing sensor then re-runs the round they
    belong to, exactly as for a file a field office copied in. The cursor holds the uploads already
    landed (resource and upload time), so a tick downloads only what is new; a refused one (a link
    elsewhere, too large) is said in the log, once.
    """

    @dg.sensor(
        name=f"{spec.name}_office_uploads",
        required_resource_keys={"ckan"},
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Corrections the district offices send back through CKAN land in data/landing/{spec.name}/"
        "<round>/corrections/ / ไฟล์แก้ไขที่อำเภอส่งกลับทาง CKAN ถูกนำเข้ารอบของมัน",
    )
    def sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        from pipelines.office_returns import land_uploads

        seen: set[str] = set(json.loads(context.cursor)) if context.cursor else set()
        handled = land_uploads(context.resources.ckan.client(), spec, Layout.from_env(), seen)
        for item in handled:
            if item.path is not None:
                context.log.info(f"อำเภอ {item.amphoe_code} ส่งไฟล์แก้ไข รอบ {item.round} / office {item.amphoe_code} "
                                 f"sent corrections for {item.round}: {item.path.name}")  # fmt: skip
            else:
                context.log.warning(f"อำเภอ {item.amphoe_code}: {item.reason}")
        if not handled:
            return dg.SkipReason("ไม่มีไฟล์แก้ไขใหม่ / no new corrections")
        return dg.SensorResult(cursor=json.dumps(sorted(seen | {h.key for h in handled})))

    return sensor


def _has_files(layout: Layout, dataset: str, round_: Round) -> bool:
    return any(any(p.is_file() for p in folder.rglob("*")) for folder in layout.landing_dirs(dataset, round_))


def monthly_schedule(
    spec: DatasetSpec, job: dg.UnresolvedAssetJobDefinition, name: str | None = None, hour: int = 6
) -> dg.ScheduleDefinition:
    """The day after ``spec``'s reporting deadline, early morning Bangkok time: the round of that month.

    RUNNING by default: this run is what judges ``reported_by_deadline`` after the deadline
    (a run before it cannot call anyone late), and re-running an unchanged round publishes
    nothing new. A month whose landing folder is empty is skipped with a reason, rather
    than run into an empty round. The scorecards use the village profile's deadline an
    hour later, after its round is published.
    """
    day = min(int(spec.raw.get("reporting", {}).get("deadline_day", 25)) + 1, 28)
    schedule_name = f"{name or spec.name}_monthly"

    @dg.schedule(
        name=schedule_name,
        cron_schedule=f"0 {hour} {day} * *",
        job=job,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Day {day}, {hour:02d}:00 Bangkok time: the month's round, after the reporting deadline / "
        f"วันที่ {day} เวลา {hour:02d}:00 น.: ประมวลผลรอบของเดือนหลังครบกำหนดส่ง",
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        key = rounds.get_partition_key_for_timestamp(context.scheduled_execution_time.timestamp())
        round_ = parse_round(key)
        if not _has_files(Layout.from_env(), spec.name, round_):
            return dg.SkipReason(
                f"ยังไม่มีไฟล์ของรอบ {round_.be_key} ใน data/landing/{spec.name}/ จึงไม่มีอะไรให้ประมวลผล / "
                f"no files for round {round_.key} in data/landing/{spec.name}/: nothing to run"
            )
        return dg.RunRequest(partition_key=key, tags={"trigger": "monthly"})

    return schedule


def freshness_policy(spec: DatasetSpec) -> dg.FreshnessPolicy:
    """The round's packages are expected published by noon the day after the reporting deadline.

    The schedule runs at 06:00 that day, so a round still unpublished at noon means a
    failed or stuck run, or no files at all. Any publication since the 1st of the
    month counts (the landing sensor publishes as files arrive). Dagster evaluates
    it when ``freshness: enabled`` is set in dagster.yaml, and shows it on the asset.
    """
    day = min(int(spec.raw.get("reporting", {}).get("deadline_day", 25)) + 1, 28)
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"0 12 {day} * *",
        lower_bound_delta=dt.timedelta(days=day - 1),
        timezone="Asia/Bangkok",
    )
