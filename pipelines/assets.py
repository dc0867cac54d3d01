"""Dagster assets for one dataset, generated from its declaration.

    <dataset>/raw_files -> <dataset>/validated + <dataset>/quarantine
                        -> <dataset>/quality, <dataset>/aggregates -> <dataset>/published

Partitioned by monthly round. Each asset is a thin wrapper over a stage in
``pipelines/stages.py``; this module only adds Dagster's metadata and checks.
"""

import json
import time

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from catalog.analyst_db import build_local, publish_ckan
from catalog.privacy import PrivacyError, scan_files
from domain.clock import today
from domain.declarations import DatasetSpec, load_datasets
from domain.layout import OFFICES_FOLDER
from domain.rounds import parse_round
from pipelines import checks, ckan_notice, stages
from pipelines.automation import (
    PARTS_FINGERPRINT,
    PROVINCES_CHANGED,
    freshness_policy,
    landed_files,
    raw_files_metadata,
)
from pipelines.deadlines import late_or_missing, reporting_deadline, split_not_reported
from pipelines.partitions import EVERY_PROVINCE, partition_keys, province_rounds, rounds
from pipelines.progress import say
from pipelines.report.corrections.measured import LOOP_TABLE, MEASURES, loop_totals
from pipelines.resources import CkanResource, DataLayout, LocalCatalogResource, RunLocks
from pipelines.scorecards import MissingInputError, Scorecard, compute_round, scorecard_outputs


def _job(spec: DatasetSpec, context: AssetExecutionContext, data: DataLayout, locks: RunLocks) -> stages.RoundJob:
    """The round this step works on, held for this run: one run per dataset and round at a time, and for a
    province's run, per dataset, province and round (provinces of a round run side by side; a round's sort
    and its national steps hold the round, so they never overlap one another)."""
    round_ = parse_round(partition_keys(context.partition_key)["round"])
    locks.hold(spec.name, round_ if context.partition_key == round_.key else context.partition_key)
    return stages.RoundJob(spec, round_, data.layout())


def _round_of_parts(spec: DatasetSpec, context: AssetExecutionContext, data: DataLayout, locks: RunLocks):
    """A national step's round, whose every province part must be validated from the last sort."""
    job = _job(spec, context, data, locks)
    try:
        stages.require_parts(job)
    except stages.StaleParts as error:
        raise dg.Failure(description=str(error), metadata={"provinces": error.provinces}) from error
    except stages.EmptyRound as error:
        raise dg.Failure(description=str(error)) from error
    return job


def _files_table(balance, limit: int = 300) -> dg.MetadataValue:
    """Files with a problem first (unreadable, duplicate, most rows quarantined); a national round is cut."""
    lines = [
        "| file | sha256 | status | format | received | accepted | quarantined | problem |",
        "|---|---|---|---|---|---|---|---|",
    ]
    order = balance.assign(_ok=balance["status"] == "ok").sort_values(
        ["_ok", "rows_quarantined", "name"], ascending=[True, False, True], kind="mergesort"
    )
    for row in order.head(limit).itertuples():
        lines.append(
            f"| {row.name} | `{row.sha256[:12]}` | {row.status} | {row.format} {row.encoding} | "
            f"{row.rows_received} | {row.rows_accepted} | {row.rows_quarantined} | {row.problem_code} |"
        )
    if len(balance) > limit:
        lines.append(f"| … {len(balance) - limit:,} more files in the run report | | | | | | | |")
    return dg.MetadataValue.md("\n".join(lines))


def correction_metadata(loop: pd.DataFrame) -> dict[str, dg.MetadataValue]:
    """The correction loop (issue #14.4) as the quality asset's metadata: the nation's totals, one value each
    (so Dagster plots them over the rounds), and the per-office table (``corrections.measured``)."""
    totals = loop_totals(loop)
    out: dict[str, dg.MetadataValue] = {
        "corrections_offices": dg.MetadataValue.int(totals["offices"]),
    }
    for column in MEASURES:
        value = totals[column]
        if value is None:
            out[column] = dg.MetadataValue.null()
        elif isinstance(value, int):
            out[column] = dg.MetadataValue.int(value)
        else:
            out[column] = dg.MetadataValue.float(value)
    shown = loop[["level", "area_code", "area_name_th", *MEASURES]].astype(object)
    out["corrections_by_office"] = dg.MetadataValue.md(shown.where(shown.notna(), "–").to_markdown(index=False))
    return out


def dataset_assets(spec: DatasetSpec) -> list[dg.AssetsDefinition]:
    name = spec.name
    key = {
        stage: dg.AssetKey([name, stage])
        for stage in (
            "landed", "raw_files", "validated", "quarantine", "quarantine_report", "quality", "aggregates", "published"
        )
    }  # fmt: skip
    check = checks.specs(spec, key["quarantine_report"], key["quality"], key["published"])
    from_round = dg.AssetDep(key["landed"], partition_mapping=EVERY_PROVINCE)
    every_province = [dg.AssetDep(key[k], partition_mapping=EVERY_PROVINCE) for k in ("validated", "quarantine")]

    @dg.asset(
        key=key["landed"],
        partitions_def=rounds,
        group_name=name,
        description=f"{spec.title['en']}: the round's files archived by SHA-256, each read once, its rows sorted "
        f"into province parts / {spec.title['th']}: ไฟล์ต้นฉบับของรอบ แยกแถวตามจังหวัด",
    )
    def landed(context: AssetExecutionContext, data: DataLayout, locks: RunLocks) -> dg.MaterializeResult:
        job, start = _job(spec, context, data, locks), time.perf_counter()
        listing = landed_files(job.layout, name, job.round)  # before reading: a file rewritten meanwhile shows newer
        sorted_ = stages.sort(job)
        files = sorted_.files
        say(
            context,
            f"{name} {job.round}: {len(files)} files ({sorted_.files_read} read), "
            f"provinces to run: {', '.join(sorted_.changed) or '-'}",
        )
        hashes = dict(zip(files["name"], files["sha256"], strict=True))
        return dg.MaterializeResult(
            metadata={
                "files": len(files),
                "files_read": sorted_.files_read,
                "provinces": len(sorted_.digests),
                PROVINCES_CHANGED: dg.MetadataValue.json(sorted_.changed),  # what the provinces sensor requests
                "seconds": round(time.perf_counter() - start, 2),
                "file_hashes": dg.MetadataValue.json(hashes),
                **raw_files_metadata(listing, hashes),  # what the landing sensor compares with
            }
        )

    @dg.asset(
        key=key["raw_files"],
        deps=[from_round],
        partitions_def=province_rounds,
        group_name=name,
        description="One province's rows of the round, normalised with lineage, then its district offices' "
        "corrections / แถวของจังหวัด พร้อมไฟล์แก้ไขของอำเภอในจังหวัด",
    )
    def raw_files(context: AssetExecutionContext, data: DataLayout, locks: RunLocks) -> dg.MaterializeResult:
        job, start = _job(spec, context, data, locks), time.perf_counter()
        province = partition_keys(context.partition_key)["province"]
        figures = stages.read_part(job, province)
        say(context, f"{name} {job.round} {province}: {figures['rows_received']:,} rows, {figures['files']} files")
        return dg.MaterializeResult(metadata={**figures, "seconds": round(time.perf_counter() - start, 2)})

    @dg.multi_asset(
        name=f"{name}__validate",
        partitions_def=province_rounds,
        group_name=name,
        specs=[
            dg.AssetSpec(
                key["validated"],
                deps=[key["raw_files"]],
                description="One province's rows that passed the Table Schema and every declared rule",
            ),
            dg.AssetSpec(
                key["quarantine"],
                deps=[key["raw_files"]],
                description="One province's rows held back, each with machine codes and Thai/English reasons "
                "(internal)",
            ),
        ],
    )
    def validate(context: AssetExecutionContext, data: DataLayout, locks: RunLocks):
        job, start = _job(spec, context, data, locks), time.perf_counter()
        province = partition_keys(context.partition_key)["province"]
        if stages.part_digest(job.work, province) is None:  # the province has no files (any more)
            figures = {"rows_received": 0, "rows_accepted": 0, "rows_quarantined": 0, "engine": "-"}
            figures |= {"rows_by_code": {}, "findings_by_code": {}}
        else:
            figures = stages.validate_part(job, province)
        say(
            context,
            f"{name} {job.round} {province}: {figures['rows_accepted']:,} rows accepted, "
            f"{figures['rows_quarantined']:,} quarantined",
        )
        seconds = round(time.perf_counter() - start, 2)
        yield dg.MaterializeResult(
            asset_key=key["validated"],
            metadata={"rows_accepted": figures["rows_accepted"], "engine": figures["engine"], "seconds": seconds},
        )
        yield dg.MaterializeResult(
            asset_key=key["quarantine"],
            metadata={
                "rows_quarantined": figures["rows_quarantined"],
                "rows_by_code": dg.MetadataValue.json(figures["rows_by_code"]),
                "findings_by_code": dg.MetadataValue.json(figures["findings_by_code"]),
            },
        )

    @dg.asset(
        key=key["quarantine_report"],
        deps=every_province,
        partitions_def=rounds,
        group_name=name,
        check_specs=[check["rows_balance"], check["quarantine_rate"]],
        description="Every quarantined row of the round with its file, sheet, row, field and reason, for the data "
        "team (internal: personal values) / แถวที่ถูกกักไว้ทั้งรอบ พร้อมเหตุผล ใช้ภายใน",
    )
    def quarantine_report(context: AssetExecutionContext, data: DataLayout, locks: RunLocks) -> dg.MaterializeResult:
        job = _round_of_parts(spec, context, data, locks)
        figures = stages.round_counts(job)
        balance = stages.balance_by_file(job)
        rows_file, findings_written = stages.quarantine_table(job)  # internal: holds personal values as sent
        say(
            context,
            f"{name} {job.round}: {figures['rows_accepted']:,} rows accepted, "
            f"{figures['rows_quarantined']:,} quarantined",
        )
        return dg.MaterializeResult(
            metadata={
                "rows_received": figures["rows_received"],
                "rows_accepted": figures["rows_accepted"],
                "rows_quarantined": figures["rows_quarantined"],
                "rows_by_code": dg.MetadataValue.json(figures["rows_by_code"]),
                "files": _files_table(balance),
                "rows_table": dg.MetadataValue.path(str(rows_file)),  # file, sheet, row, field, value, reason
                "rows_table_lines": findings_written,
            },
            check_results=[checks.rows_balance(balance), checks.quarantine_rate(spec, figures)],
        )

    stages_done = [landed, raw_files, validate, quarantine_report]
    if spec.has_quality_figures:

        @dg.asset(
            key=key["quality"],
            deps=[*every_province, key["quarantine_report"]],  # its page links the round's quarantine list
            partitions_def=rounds,
            group_name=name,
            check_specs=[check["completeness"], check["reported_by_deadline"]],
            description="Completeness and accuracy per tambon, amphoe, province and nation / ความครบถ้วนและความถูกต้อง",
        )
        def quality(context: AssetExecutionContext, data: DataLayout, locks: RunLocks) -> dg.MaterializeResult:
            job = _round_of_parts(spec, context, data, locks)
            figures = stages.quality(job)
            deadline, judged_on = reporting_deadline(spec, job.round), today()
            figures_table = job.work.read("quality")
            missing = split_not_reported(figures_table)
            late = split_not_reported(figures_table, late_or_missing(spec, job.round, figures_table, judged_on))
            full_list = stages.not_reported_list(job)
            page = stages.quality_page(job)
            links = {"full_list": full_list, "quality_page": page}
            say(
                context,
                f"{name} {job.round}: completeness {figures['completeness_pct']}%, "
                f"{len(figures['tambons_not_reported'])} tambons not reported",
            )
            return dg.MaterializeResult(
                metadata={k: v for k, v in figures.items() if k not in ("tambons_not_reported", "corrections")}
                | {
                    "tambons_not_reported": len(figures["tambons_not_reported"]),
                    "quality_page": dg.MetadataValue.path(str(page)),
                    "tambons_not_reported_list": dg.MetadataValue.path(str(full_list)),
                }
                | correction_metadata(job.work.read(LOOP_TABLE)),
                check_results=[
                    checks.completeness(spec, figures, missing, links),
                    checks.reported_by_deadline(deadline, judged_on, late, missing.tambons, links),
                ],
            )

        stages_done.append(quality)

        @dg.asset(
            key=dg.AssetKey([name, "correction_workbooks"]),
            deps=[key["quality"]],
            partitions_def=rounds,
            group_name=name,
            description="One XLSX per district office: its own held-back rows to correct, reasons in Thai and "
            "English (internal: personal data, never published) / แบบแก้ไขข้อมูลรายอำเภอ ใช้ภายใน ไม่เผยแพร่",
        )
        def correction_workbooks(
            context: AssetExecutionContext, data: DataLayout, locks: RunLocks
        ) -> dg.MaterializeResult:
            job = _round_of_parts(spec, context, data, locks)
            written = stages.correction_workbooks(job)
            say(
                context,
                f"{name} {job.round}: {len(written.offices)} correction workbooks, {written.rows_total:,} rows "
                f"({written.rows_unattributed:,} rows and {written.files_unattributed} files for the data team)",
            )
            return dg.MaterializeResult(
                metadata={
                    "workbooks": len(written.offices),
                    "rows_to_correct": written.rows_total,
                    "rows_unattributed": written.rows_unattributed,
                    "files_unattributed": written.files_unattributed,
                    "correction_deadline": written.deadline.isoformat(),
                    "offices_folder": dg.MetadataValue.path(str(job.layout.reports(name, job.round) / OFFICES_FOLDER)),
                    "data_team_workbook": dg.MetadataValue.path(str(written.data_team)),
                    "seconds": written.seconds,
                }
            )

        stages_done.append(correction_workbooks)

    @dg.asset(
        key=key["aggregates"],
        deps=every_province[:1],
        partitions_def=rounds,
        group_name=name,
        description="Public records and the declared aggregates per level, computed in DuckDB",
    )
    def aggregates(context: AssetExecutionContext, data: DataLayout, locks: RunLocks) -> dg.MaterializeResult:
        job = _round_of_parts(spec, context, data, locks)
        rows = stages.aggregate(job)
        say(context, f"{name} {job.round}: aggregates " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
        return dg.MaterializeResult(metadata={f"rows_{k}": v for k, v in rows.items()})

    @dg.asset(
        key=key["published"],
        deps=[key["aggregates"], *([key["quality"]] if spec.has_quality_figures else [])],
        partitions_def=rounds,
        group_name=name,
        check_specs=[check["no_personal_data"]],
        freshness_policy=freshness_policy(spec),
        description="Versioned Parquet and CSV packages in the catalog (new revision only when data changed)",
    )
    def published(
        context: AssetExecutionContext, data: DataLayout, catalog: LocalCatalogResource, locks: RunLocks
    ) -> dg.MaterializeResult:
        job = _round_of_parts(spec, context, data, locks)
        try:
            result = stages.publish(job, catalog.catalog(), lambda message: say(context, message))
        except PrivacyError as error:
            raise dg.Failure(description=str(error), metadata={"leaks": [str(x) for x in error.leaks]}) from error
        report = stages.write_report(job, result)
        new = [p for p in result if p.status == "new"]
        say(context, f"{name} {job.round}: {len(new)} new revisions, {len(result) - len(new)} unchanged")
        ckan = ckan_notice.notice()  # CKAN configured on this machine but not in this process: say so
        if ckan:
            context.log.warning(ckan)
        return dg.MaterializeResult(
            metadata={
                PARTS_FINGERPRINT: stages.parts_fingerprint(job.work),  # what the national sensor compares with
                **({"ckan": ckan} if ckan else {}),
                "new": [f"{p.output} r{p.revision}" for p in new],
                "unchanged": [f"{p.output} r{p.revision}" for p in result if p.status == "unchanged"],
                "catalog": dg.MetadataValue.path(str(catalog.catalog().root)),
                "run_report": dg.MetadataValue.path(str(job.layout.reports(name, job.round) / "run_report.json")),
                "rows_received": report["totals"]["rows_received"],
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="no_personal_data",
                    passed=True,
                    metadata={"tables_scanned": len(result), "private_fields": spec.private_field_names},
                )
            ],
        )

    assets = [*stages_done, aggregates, published]
    if spec.raw.get("field_workers"):

        @dg.asset(
            key=dg.AssetKey([name, "field_workers"]),
            deps=every_province,
            partitions_def=rounds,
            group_name=name,
            description="Per field worker: units submitted, accepted, on time (internal, for supervisors;"
            " never published) / ผลงานรายลูกจ้าง ใช้ภายใน ไม่เผยแพร่",
        )
        def field_workers(context: AssetExecutionContext, data: DataLayout, locks: RunLocks) -> dg.MaterializeResult:
            job = _round_of_parts(spec, context, data, locks)
            path = stages.field_workers(job)
            workers = len(pd.read_csv(path)) if path else 0
            return dg.MaterializeResult(metadata={"workers": workers, "table": dg.MetadataValue.path(str(path))})

        assets.append(field_workers)
    return assets


def ckan_asset(name: str) -> dg.AssetsDefinition:
    """Mirror the outputs of ``name`` (a dataset or a scorecard) from the local catalog into CKAN.

    Only defined when CKAN is configured; runs in the pool "ckan", one at a time.
    """

    @dg.asset(
        key=dg.AssetKey([name, "ckan"]),
        deps=[dg.AssetKey([name, "published"])],
        partitions_def=rounds,
        group_name=name if name in load_datasets() else SCORECARDS_GROUP,
        pool="ckan",
        description="The same versioned packages in CKAN: staged, verified, then switched in one step",
    )
    def ckan(
        context: AssetExecutionContext, catalog: LocalCatalogResource, ckan: CkanResource, locks: RunLocks
    ) -> dg.MaterializeResult:
        locks.hold(name, parse_round(context.partition_key))
        local = catalog.catalog()
        publisher = ckan.publisher(local)
        publisher.ensure_organization()
        outcomes = []
        for output in sorted(p.parent.name for p in local.root.glob(f"{name}*/latest.json")):
            if output != name and not output.startswith(f"{name}_"):
                continue
            pointer = local.pointer(output)
            package = local.root / output / pointer.get("newest", pointer["latest"])["path"] / "datapackage.json"
            schema = json.loads(package.read_text(encoding="utf-8"))["resources"][0]["schema"]
            outcomes.append(publisher.publish(output, schema))
        database = publish_ckan(publisher.client, local.root, organization=publisher.organization.name)
        uploaded = sum(len(o.uploaded) for o in outcomes)
        say(context, f"{name}: CKAN {uploaded} uploads, {sum(o.switched for o in outcomes)} datasets switched")
        return dg.MaterializeResult(
            metadata={
                "uploaded": [u for o in outcomes for u in o.uploaded],
                "reused": len([r for o in outcomes for r in o.reused]),
                "switched": [o.dataset for o in outcomes if o.switched],
                "datastore_rows": sum(o.datastore_rows for o in outcomes),
                "urls": dg.MetadataValue.json({o.dataset: o.url for o in outcomes}),
                "catalog_db": dg.MetadataValue.url(database.url),
            }
        )

    return ckan


def ckan_corrections_asset(spec: DatasetSpec) -> dg.AssetsDefinition:
    """Each district office's correction workbook into its own private CKAN dataset (catalog/office_delivery.py).

    Only defined when CKAN is configured. An office without its organisation (``tambon offices sync``
    not run for its province) is skipped and named by a warning check, so one unsynced province does
    not hold back the others' workbooks.
    """
    from catalog.office_delivery import Collection, OfficeDelivery

    name = spec.name
    key = dg.AssetKey([name, "ckan_corrections"])
    collection = Collection.of(spec)

    @dg.asset(
        key=key,
        deps=[dg.AssetKey([name, "correction_workbooks"])],
        partitions_def=rounds,
        group_name=name,
        pool="ckan",
        check_specs=[dg.AssetCheckSpec("delivered_to_every_office", asset=key)],
        description="ส่งแบบแก้ไขให้แต่ละอำเภอเป็นชุดข้อมูลส่วนตัวใน CKAN / Correction workbooks as private datasets "
        "of each district office's CKAN organisation (that office and the data team only)",
    )
    def ckan_corrections(
        context: AssetExecutionContext, ckan: CkanResource, locks: RunLocks, data: DataLayout
    ) -> dg.MaterializeResult:
        round_ = parse_round(context.partition_key)
        locks.hold(name, round_)
        client = ckan.client()
        try:
            delivery = OfficeDelivery(client, collection).deliver_round(data.layout().reports(name, round_), round_)
        except PrivacyError as error:
            raise dg.Failure(description=str(error), metadata={"leaks": [str(x) for x in error.leaks]}) from error
        say(
            context,
            f"{name} {round_}: correction workbooks to CKAN: {len(delivery.uploaded)} sent, "
            f"{len(delivery.unchanged)} unchanged, {len(delivery.not_synced)} offices not synced",
        )
        missing = ", ".join(delivery.not_synced)
        return dg.MaterializeResult(
            metadata={"uploaded": delivery.uploaded, "unchanged": len(delivery.unchanged), "not_synced": missing},
            check_results=[
                dg.AssetCheckResult(
                    check_name="delivered_to_every_office",
                    passed=not delivery.not_synced,
                    severity=dg.AssetCheckSeverity.WARN,
                    description="ทุกอำเภอมีหน่วยงานใน CKAN / every office has its CKAN organisation"
                    if not missing
                    else f"อำเภอที่ยังไม่มีหน่วยงานใน CKAN สั่ง tambon offices sync ก่อน / offices without a CKAN "
                    f"organisation, run tambon offices sync first: {missing}",
                    metadata={"not_synced": missing},
                )
            ],
        )

    return ckan_corrections


SCORECARDS_GROUP = "scorecards"


def _producer(output: str) -> str:
    """The dataset whose pipeline publishes ``output`` (the longest dataset name it starts with)."""
    names = [n for n in load_datasets() if output == n or output.startswith(f"{n}_")]
    return max(names, key=len)


def scorecard_asset(card: Scorecard) -> dg.AssetsDefinition:
    """Score a round from the published inputs, then publish the ranking like any dataset."""
    inputs = sorted({_producer(i.output) for i in card.inputs.values()})

    @dg.asset(
        key=dg.AssetKey([card.name, "published"]),
        deps=[dg.AssetKey([name, "published"]) for name in inputs],
        partitions_def=rounds,
        group_name=SCORECARDS_GROUP,
        freshness_policy=freshness_policy(load_datasets()[inputs[0]]),
        description=f"{card.title['en']} / {card.title['th']}: scored in DuckDB from {', '.join(inputs)}",
    )
    def scorecard(
        context: AssetExecutionContext, catalog: LocalCatalogResource, locks: RunLocks
    ) -> dg.MaterializeResult:
        round_, local = parse_round(context.partition_key), catalog.catalog()
        locks.hold(card.name, round_)
        try:
            result = compute_round(card, local.root, round_)
        except MissingInputError as error:
            raise dg.Failure(description=str(error)) from error
        outputs = scorecard_outputs(card, round_, result)
        leaks = scan_files([(f"{o.name}.csv", o.csv) for o in outputs], None, None)
        if leaks:
            raise dg.Failure(description=str(PrivacyError(leaks)))
        with local.publishing(lambda message: say(context, message)):
            published = [local.publish(o, round_, card.gdc | o.gdc) for o in outputs]
            local.write_index()
            build_local(local.root)
        say(context, f"{card.name} {round_}: {len(result.picks)} picks")
        return dg.MaterializeResult(
            metadata={
                "new": [f"{p.output} r{p.revision}" for p in published if p.status == "new"],
                "picks": dg.MetadataValue.md(result.picks.to_markdown(index=False)),
                "notes": result.notes,
            }
        )

    return scorecard
