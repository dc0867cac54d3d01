"""Mirror the local catalog into CKAN: idempotent, versioned, never half-published.

The local catalog folder is the source of truth (every revision of every round,
with hashes and Thai GDC metadata in its ``datapackage.json``). For each output:

1. **Stage**: every revision file CKAN does not hold yet (matched by round,
   revision, format and SHA-256) is uploaded, streamed, as a resource marked
   ``publish_state = pending``, and verified by downloading it back and hashing.
   Our CKAN extension hides pending resources from everyone who cannot edit the
   dataset, so the public still sees the previous revision.
2. **Switch**: one ``package_patch`` (one database transaction) marks the staged
   resources published, points the stable "latest" resources at the latest
   round's current files (catalog/latest.py: the newest round past its reporting
   deadline or reported by every province, so a round still being reported does not
   replace a complete one; their description says the rule), and sets the version
   and the coverage: the provinces present
   in the data (Thai and English names and codes) and the rounds (B.E. and
   Gregorian), with the column titles, as searchable fields and facets.
3. **DataStore**: the current revision of every round in one table with a data
   dictionary from the Table Schema; a round loaded anew replaces that round's rows,
   loaded by the server from the verified CSV with COPY (catalog/datastore_load.py).

The quality dataset (``<dataset>_quality``) also carries each round's HTML quality
report, staged and switched with the round's files, tagged with the round's
revision, and shown inside CKAN's resource page by a web-page view (an iframe of
the report as CKAN serves it, inline and ``text/html``). The report is read by the
privacy gate (catalog/privacy.py) again right before it is uploaded: it is the one
published file the local catalog does not build itself.

Resource names say what a person choosing a download needs, in the first 25
characters CKAN shows in its sidebar (50 on the dataset page): Thai first, the
round as a B.E. month, the format and the size, the revision, then English
(``ต.ค. 2563 · CSV (1.2 MB) · ฉบับที่ 1 / Oct 2020 r1``). The dataset's title is the
page's heading and is not repeated; the size is also in CKAN's ``size`` field.

Re-running with nothing new makes no upload and no change. A run killed between
stage and switch is completed by the next run, which reuses the verified uploads.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from catalog.ckan_client import CkanClient, CkanError
from catalog.datastore_load import load_round
from catalog.files import sha256
from catalog.latest import RULE, LatestPick, pick_from_pointer
from catalog.local import LocalCatalog
from catalog.privacy import Leak, PrivacyError, scan_files
from catalog.themes import THEMES, group_fields, themes_of
from domain.rounds import BE_OFFSET, THAI_MONTHS_ABBR

FORMAT_LABEL = {"csv": "CSV", "parquet": "Parquet", "datapackage": "JSON"}
#: how a file's format reads in a resource name: (Thai half, English word added after the round, or "")
NAME_FORMAT = {
    "csv": ("CSV", ""),
    "parquet": ("Parquet", ""),
    "datapackage": ("คำอธิบายข้อมูล JSON", " metadata"),
    "html": ("HTML", ""),
}
#: the round's quality report, as ``pipelines.stages.publish`` copies it into ``catalog/<dataset>_quality/<round>/``
REPORT_PAGE = "quality_report.html"
REPORT_VIEW = "webpage_view"
REPORT_VIEW_TITLE = "รายงานคุณภาพข้อมูล / Data quality report"
#: roles of the files staged per round and revision (``latest`` and ``datastore`` are the dataset's own)
STAGED_ROLES = ("revision", "report")
DATASTORE_TYPES = {"string": "text", "integer": "int8", "number": "float8", "date": "date", "boolean": "bool"}
#: Thai GDC keys copied from the declaration onto the CKAN dataset as they are.
GDC_KEYS = (
    "data_type", "maintainer", "maintainer_email", "objective", "update_frequency_unit", "update_frequency_interval",
    "geo_coverage", "data_source", "data_format", "data_category", "license_id", "accessible_condition",
    "data_support", "data_collect", "url", "data_language", "created_date", "disaggregate", "unit_of_measure",
    "unit_of_multiplier", "calculation_method", "standard", "first_year_of_data",
)  # fmt: skip
#: the other Thai GDC keys a declaration may fill, copied as they are (kept out of ``GDC_KEYS``, which also names
#: the analysts' database columns): the ``*_other`` companion of every choice list with อื่นๆ, and the rest
GDC_MORE_KEYS = (
    "data_type_other", "objective_other", "update_frequency_unit_other", "geo_coverage_other", "data_format_other",
    "license_id_other", "data_support_other", "data_collect_other", "data_language_other", "disaggregate_other",
    "unit_of_multiplier_other", "reference_url_catalog", "data_release_calendar",
)  # fmt: skip
#: Thai GDC designations, "True"/"False" in ckanext-thai_gdc: a declared boolean, else this default
GDC_FLAGS = {"allow_harvest": True, "high_value_dataset": False, "reference_data": False, "official_statistics": False}
#: what data_format's อื่นๆ stands for when a declaration chooses it without saying: the format we publish that
#: the Thai GDC list lacks
DATA_FORMAT_OTHER = "Parquet"
#: dataset keys CKAN keeps whatever the dataset schema, read through ``_shown`` (the rest are the schema's)
CORE_KEYS = (
    "name", "title", "notes", "owner_org", "private", "tag_string", "groups", "version", "url", "license_id",
    "maintainer", "maintainer_email", "author", "author_email", "state", "type",
)  # fmt: skip


#: columns whose first two digits are a province code, most direct first (a longer code starts with its parents')
AREA_CODE_COLUMNS = ("province_code", "amphoe_code", "tambon_code", "village_code", "area_code")


class TokenInFileError(RuntimeError):
    """An outgoing file holds the publisher's own CKAN API token: refuse, and never say the token."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"ไม่เผยแพร่ {name}: ไฟล์มีโทเค็น API ของ CKAN อยู่ / refused to publish {name}: it holds the CKAN API token"
        )


class SwitchInterrupted(RuntimeError):
    """Raised by the test hook that stops a run between staging and switching."""


class ImmutableRevisionError(RuntimeError):
    """CKAN holds a published file for this round and revision with other bytes: refuse, never replace."""

    def __init__(self, file: RevisionFile, resource: dict[str, Any]) -> None:
        super().__init__(
            f"{file.resource_name}: ฉบับที่เผยแพร่แล้วใน CKAN ไม่ตรงกับแคตตาล็อกในเครื่อง (sha256 {resource.get('hash')} "
            f"!= {file.sha256}) ไฟล์ที่เผยแพร่แล้วจะไม่ถูกแทนที่ / the published revision in CKAN differs from the "
            "local catalog; published files are never replaced (was the local catalog rebuilt?)"
        )


@dataclass(frozen=True)
class Organization:
    name: str = "dopa"
    title: str = "กรมการปกครอง"
    title_en: str = "Department of Provincial Administration (DOPA)"

    @classmethod
    def declared(cls, gdc: dict[str, Any], default: Organization) -> Organization:
        """The organisation a declaration names (``catalog.common.organization``: the department that maintains
        the data, e.g. ``{name: cdd, title: กรมการพัฒนาชุมชน}``), else the publisher's own."""
        declared = gdc.get("organization") or {}
        if not declared.get("name"):
            return default
        return cls(declared["name"], declared.get("title", declared["name"]), declared.get("title_en", ""))


@dataclass
class Outcome:
    dataset: str
    url: str
    uploaded: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    switched: bool = False
    datastore_rows: int = 0


@dataclass(frozen=True)
class RevisionFile:
    """One immutable file of the local catalog, as CKAN should hold it."""

    output: str
    round: str
    round_be: str
    revision: int
    format: str  # csv | parquet | datapackage | html (the quality report)
    path: Path
    sha256: str
    size: int
    #: when the local catalog published this revision (its ``datapackage.json`` ``created``): the file's
    #: dct:issued in the DCAT feed, the data's date rather than CKAN's record date
    published_at: str = ""

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.round, self.revision, self.format)

    @property
    def role(self) -> str:
        return "report" if self.format == "html" else "revision"

    @property
    def resource_name(self) -> str:
        return resource_name(self.role, self.round, self.revision, self.format, self.size)


def revision_files(local: LocalCatalog, output: str) -> list[RevisionFile]:
    """Every revision of every round in the local catalog, oldest first."""
    files = []
    for package_path in sorted((local.root / output).glob("*/r*/datapackage.json")):
        package = json.loads(package_path.read_text(encoding="utf-8"))

        def file(fmt: str, path: Path, digest: str, size: int, package: dict = package) -> RevisionFile:
            return RevisionFile(output, package["round"], package["round_be"], package["revision"], fmt, path,
                                digest, size, package.get("created", ""))  # fmt: skip

        for resource in package["resources"]:
            digest = resource.get("sha256") or resource["hash"].removeprefix("sha256:")
            size = resource.get("size") or resource["bytes"]
            files.append(file(resource["format"], package_path.parent / resource["path"], digest, size))
        raw = package_path.read_bytes()
        files.append(file("datapackage", package_path, sha256(raw), len(raw)))
    return sorted(files, key=lambda f: (f.round, f.revision, f.format))


def report_files(local: LocalCatalog, output: str) -> list[RevisionFile]:
    """Each round's quality report, tagged with the round's current revision, oldest round first.

    The page sits beside the round's revisions (``catalog/<output>/<round>/quality_report.html``) and is
    replaced with them: it belongs to the current revision, and an older revision's report stays in CKAN
    as it was uploaded.
    """
    files = []
    for round_key, current in sorted(local.pointer(output).get("rounds", {}).items()):
        page = local.root / output / round_key / REPORT_PAGE
        if not page.is_file():
            continue
        data = page.read_bytes()
        package = json.loads((local.root / output / current["path"] / "datapackage.json").read_text("utf-8"))
        files.append(
            RevisionFile(output, round_key, package["round_be"], current["revision"], "html", page, sha256(data),
                         len(data), package.get("created", ""))
        )  # fmt: skip
    return files


def scan_report(local: LocalCatalog, file: RevisionFile) -> list[Leak]:
    """The privacy gate on a quality report about to leave for CKAN, as ``stages.publish`` ran it.

    With the collection's declaration (its non-public fields: names, titles, aliases) and, while the round's
    work area is still there, this round's personal values; the patterns (phones, citizen IDs) always.
    """
    from domain.declarations import load_datasets

    dataset = file.output.removesuffix("_quality")
    spec = load_datasets().get(dataset)
    received = local.root.parent / "work" / dataset / file.round / "received.parquet"
    return scan_files([(file.path.name, file.path.read_bytes())], spec, received if received.exists() else None)


class CkanPublisher:
    def __init__(
        self,
        client: CkanClient,
        local: LocalCatalog,
        organization: Organization | None = None,
        before_switch: Callable[[str], None] | None = None,
        scan: Callable[[LocalCatalog, RevisionFile], list[Leak]] = scan_report,
    ) -> None:
        self.client = client
        self.local = local
        self.organization = organization or Organization()
        self.before_switch = before_switch or (lambda dataset: None)
        self.scan = scan
        self._groups_ready = False
        self._organizations_ready: set[str] = set()
        self._server_schema: set[str] | None = None  # the dataset keys the server's schema declares, once asked

    # -- organisation and dataset -------------------------------------------------------------------------------
    def ensure_organization(self, org: Organization | None = None) -> None:
        """The publisher's organisation (or ``org``), made when missing; once per publisher."""
        org = org or self.organization
        if org.name in self._organizations_ready:
            return
        try:
            self.client.call("organization_show", id=org.name)
        except Exception:
            self.client.call("organization_create", name=org.name, title=org.title, description=org.title_en)
        self._organizations_ready.add(org.name)

    def _dataset_fields(
        self, output: str, package: dict[str, Any], rounds: list[dict[str, Any]], pick: LatestPick
    ) -> dict[str, Any]:
        """The dataset's fields: ``version`` is the newest revision published (what changed last),
        ``latest_revision`` the version the latest links serve (the latest rule's round)."""
        gdc = package.get("thai_gdc", {})
        fields = {key: gdc[key] for key in GDC_KEYS + GDC_MORE_KEYS if key in gdc and gdc[key] not in (None, "")}
        # ckanext-thai_gdc's designations ("True"/"False"): allow_harvest (may the national catalog, GD-Catalog,
        # harvest the dataset; on unless the declaration says ``allow_harvest: false``), high_value_dataset,
        # reference_data and official_statistics (off unless the declaration says true)
        fields.update({key: _flag(gdc.get(key), default) for key, default in GDC_FLAGS.items()})
        if "อื่นๆ" in (gdc.get("data_format") or []) and not fields.get("data_format_other"):
            fields["data_format_other"] = DATA_FORMAT_OTHER
        organization = Organization.declared(gdc, self.organization)
        newest = rounds[-1]
        shown = next(r for r in rounds if r["round"] == pick.round)
        fields.update(
            name=output.replace("_", "-"),
            title=package["title_th"],
            title_en=package["title"],
            notes=f"{package['description_th']}\n\n{package['description']}",
            notes_en=package["description"],
            owner_org=organization.name,
            tag_string=",".join(gdc.get("tags", [])),
            version=newest["version"],
            latest_revision=shown["version"],
            round_coverage=", ".join(f"{r['round_be']} ({r['round']})" for r in rounds),
            last_year_of_data=str(max(int(r["round_be"][:4]) for r in rounds)),
            last_updated_date=newest["published_at"][:10],
            coverage_round=[r["round_be"] for r in rounds],
            coverage_round_ce=[r["round"] for r in rounds],
            column_titles=column_titles(package),
            groups=[{"name": group} for group in themes_of(output)],
        )
        fields.update(self._province_coverage(output, rounds))
        return fields

    def _province_coverage(self, output: str, rounds: list[dict[str, Any]]) -> dict[str, list[str]]:
        """The provinces present in every round's current table, with their registry names, so that
        ``สกลนคร``, ``Sakon Nakhon`` and ``47`` find the dataset. A table without area codes (the
        nation totals) states none."""
        codes: set[str] = set()
        for current in rounds:
            codes |= province_codes(self.local.root / output / current["path"] / current["files"]["csv"]["path"])
        names = province_names()
        known = sorted(code for code in codes if code in names)
        return {
            "coverage_province": [names[code][0] for code in known],
            "coverage_province_en": [names[code][1] for code in known],
            "coverage_province_code": known,
        }

    def _ensure_groups(self) -> None:
        """Every theme group (catalog/themes.py), made when missing, before a dataset joins one: all at once,
        so the front page lists every theme, one with no dataset yet too.

        Called only before a create or a switch that changes the dataset's groups (once per publisher), so a
        re-run with nothing new, or a switch of a dataset already in its groups, makes no call for them.
        """
        import ckanapi

        if self._groups_ready:
            return
        for order, theme in enumerate(THEMES):
            try:
                self.client.call("group_show", id=theme.name)
            except ckanapi.NotFound:
                self.client.call("group_create", **group_fields(theme, order))
        self._groups_ready = True

    def _package(self, name: str) -> dict[str, Any] | None:
        import ckanapi

        try:
            return self.client.call("package_show", id=name)
        except ckanapi.NotFound:
            return None

    # -- the three steps ----------------------------------------------------------------------------------------
    def publish(self, output: str, schema: dict[str, Any] | None = None, today: dt.date | None = None) -> Outcome:
        """Stage, switch and load ``output``; the latest links follow the latest rule as of ``today``."""
        files = revision_files(self.local, output)
        if not files:
            raise ValueError(f"ยังไม่มี {output} ในแคตตาล็อก / {output} is not in the local catalog yet")
        pointer = self.local.pointer(output)
        rounds = []
        for key in sorted(pointer["rounds"]):
            current = pointer["rounds"][key]
            package = json.loads((self.local.root / output / current["path"] / "datapackage.json").read_text("utf-8"))
            rounds.append({"round": key, "round_be": package["round_be"], **current})
        newest = json.loads((self.local.root / output / rounds[-1]["path"] / "datapackage.json").read_text("utf-8"))
        pick = pick_from_pointer(pointer, today)
        fields = self._dataset_fields(output, newest, rounds, pick)
        name = fields["name"]
        outcome = Outcome(dataset=name, url=f"{self.client.url}/dataset/{name}")

        reports = report_files(self.local, output)
        package = self._package(name)
        gdc = newest.get("thai_gdc", {})
        organization = Organization.declared(gdc, self.organization)
        if package is None:
            self._ensure_groups()
            self.ensure_organization(organization)  # a department's own organisation, made like ours
            package = self.client.call("package_create", **fields, private=True)
        for file in files + reports:  # 1. stage
            held = [r for r in package["resources"] if r.get("role") in STAGED_ROLES and _resource_key(r) == file.key]
            same = next((r for r in held if r.get("hash") == file.sha256), None)
            if same is not None:
                if file.role == "report" and same.get("publish_state") == "pending":
                    self._ensure_report_view(same["id"])  # a run killed between upload and view
                outcome.reused.append(file.resource_name)
                continue
            if file.role == "revision" and (shown := [r for r in held if r.get("publish_state") != "pending"]):
                raise ImmutableRevisionError(file, shown[0])
            if file.role == "report":  # refused here, before anything of it reaches CKAN
                self._refuse_leaks(file)
            for stale in (r for r in held if r.get("publish_state") == "pending"):
                # a staged upload that no longer matches: never shown, so replace it
                self.client.call("resource_delete", id=stale["id"])
            package = self._stage(package, file)
            outcome.uploaded.append(file.resource_name)

        by_key = {_resource_key(r): r for r in package["resources"] if r.get("role") == "revision"}
        current_reports = {f.key: f.sha256 for f in reports}
        desired = self._desired(package, fields, rounds, by_key, pick, current_reports, gdc=gdc)
        if desired is not None:  # 2. switch
            self.before_switch(name)
            if not _same(_shown(package, "groups"), desired["groups"]):  # joins a theme group: make sure it exists
                self._ensure_groups()
            if _shown(package, "owner_org") != desired["owner_org"]:  # moves to its department's organisation
                self.ensure_organization(organization)
            added = any("id" not in r for r in desired["resources"])  # a "latest" link made by this switch
            package = self.client.call("package_patch", id=package["id"], **desired)
            if added:  # its preview: CKAN makes default views on resource_create, not on a package update
                self.client.call("package_create_default_resource_views", package=package, create_datastore_views=False)
            outcome.switched = True
        if schema is not None:  # 3. DataStore
            outcome.datastore_rows = self._datastore(package, schema, rounds, output)
        return outcome

    def _stage(self, package: dict[str, Any], file: RevisionFile) -> dict[str, Any]:
        resource = {
            "package_id": package["id"],
            "name": file.resource_name,
            "format": FORMAT_LABEL.get(file.format, "HTML"),
            "hash": file.sha256,
            "size": str(file.size),
            "role": file.role,
            "publish_state": "pending",
            "round": file.round,
            "round_be": file.round_be,
            "revision": str(file.revision),
            "file_format": file.format,
            "issued": file.published_at,
            "description": f"รอบ {file.round_be} ฉบับปรับปรุงที่ {file.revision} (ไม่เปลี่ยนแปลงหลังเผยแพร่) / "
            f"round {file.round}, revision {file.revision} (immutable once published)",
        }
        filename = None
        if file.role == "report":
            resource["description"] = (
                f"รายงานคุณภาพข้อมูลของรอบ {file.round_be} ฉบับปรับปรุงที่ {file.revision}: ความครบถ้วน ความถูกต้อง "
                "ตำบลที่ยังไม่รายงาน และสาเหตุที่แถวไม่ผ่านการตรวจ เปิดดูได้ในหน้านี้ / Data quality report of round "
                f"{file.round}, revision {file.revision}: completeness, accuracy, tambons not reported and why rows "
                "were held back; shown on this page"
            )
            filename = f"{file.output}_report_{file.round_be}_{file.round}_r{file.revision}.html"
            # CKAN serves an upload with this Content-Type, inline: the browser shows the page (Thai included)
            resource["mimetype"] = "text/html; charset=utf-8"
        created = self.client.upload("resource_create", resource, "upload", file.path, filename=filename)
        got = self.client.sha256_of(created["url"])
        if got != file.sha256:
            self.client.call("resource_delete", id=created["id"])
            raise RuntimeError(
                f"ไฟล์ที่อัปโหลดไม่ตรงกับต้นฉบับ {file.path.name} / upload of {file.path.name} arrived corrupted "
                f"(sha256 {got} != {file.sha256})"
            )
        if file.role == "report":
            self._ensure_report_view(created["id"])
        return self.client.call("package_show", id=package["id"])

    def _refuse_leaks(self, file: RevisionFile) -> None:
        """The privacy gate and the token check on a file about to be uploaded; raises instead of returning."""
        leaks = self.scan(self.local, file)
        if leaks:
            raise PrivacyError(leaks)
        if self.client.holds_token(file.path):
            raise TokenInFileError(file.path.name)

    def _ensure_report_view(self, resource_id: str) -> None:
        """The web-page view that shows the report inside the resource page (CKAN's ``webpage_view`` plugin).

        Made here rather than by ``ckan.views.default_views``: one view with a Thai and English title, on a
        CKAN whatever its default views; checked only when a report is staged, so a run with nothing new
        makes no call.
        """
        views = self.client.call("resource_view_list", id=resource_id)
        if any(v.get("view_type") == REPORT_VIEW for v in views):
            return
        try:
            self.client.call("resource_view_create", resource_id=resource_id, view_type=REPORT_VIEW,
                             title=REPORT_VIEW_TITLE)  # fmt: skip
        except CkanError as error:
            raise CkanError(
                "resource_view_create",
                f"เปิดปลั๊กอิน {REPORT_VIEW} ใน ckan.plugins (catalog/ckan/ckan.sh) / enable the {REPORT_VIEW} "
                f"plugin in ckan.plugins: {error.detail}",
            ) from None

    def _desired(
        self,
        package: dict[str, Any],
        fields: dict[str, Any],
        rounds: list[dict[str, Any]],
        by_key: dict[tuple[str, int, str], dict[str, Any]],
        pick: LatestPick,
        current_reports: dict[tuple[str, int, str], str] | None = None,
        gdc: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """The dataset after the switch, or None when CKAN already shows exactly that.

        A report re-rendered for the same revision (``current_reports``: the local page's hash per round and
        revision) replaces the one shown: the switch drops the older upload. Each file of a round and each latest
        link carries the Thai GDC resource fields (``resource_gdc``: from the declaration ``gdc`` and the round).

        A dataset key the server does not keep (an agency catalog whose schema is the Thai GDC one alone drops
        ours: ``title_en``, ``round_coverage``, ``latest_revision``...) is not compared: it would differ on every
        run (``_server_keeps``).
        """
        current_reports = current_reports or {}
        gdc = gdc or {}
        shown = next(r for r in rounds if r["round"] == pick.round)
        targets = {fmt: by_key[(shown["round"], shown["revision"], fmt)] for fmt in FORMAT_LABEL}
        resources = []
        for resource in package["resources"]:
            resource = dict(resource)
            role = resource.get("role")
            key = _resource_key(resource)
            if role == "report" and key in current_reports and resource.get("hash") != current_reports[key]:
                continue
            if role in STAGED_ROLES:
                resource["publish_state"] = "published"
                resource["name"] = resource_name(role, key[0], key[1], key[2], resource.get("size"))
                resource.update(resource_gdc(gdc, role, resource.get("round_be"), resource.get("issued")))
            elif role == "latest":
                target = targets[resource["file_format"]]
                resource.update(_latest_fields(target, pick))
                resource.update(resource_gdc(gdc, role, target.get("round_be"), target.get("issued")))
            elif role == "datastore":
                resource["name"] = DATASTORE_NAME
            resources.append(resource)
        present = {r.get("file_format") for r in resources if r.get("role") == "latest"}
        for fmt, target in targets.items():
            if fmt not in present:
                resources.append(
                    {
                        "format": FORMAT_LABEL[fmt],
                        "role": "latest",
                        "file_format": fmt,
                        **_latest_fields(target, pick),
                        **resource_gdc(gdc, "latest", target.get("round_be"), target.get("issued")),
                    }
                )
        resources.sort(key=_display_order)
        desired = {**fields, "private": False, "resources": resources}
        current = {k: _shown(package, k) for k in desired if k != "resources"}
        same_resources = [_comparable(r) for r in package["resources"]] == [_comparable(r) for r in resources]
        if not same_resources:
            return desired
        differing = [k for k, v in desired.items() if k != "resources" and not _same(current[k], v)]
        if all(not self._server_keeps(package, k) for k in differing):
            return None
        return desired

    def _server_keeps(self, package: dict[str, Any], key: str) -> bool:
        """Does the server keep dataset key ``key``? Yes when ``package_show`` holds it or CKAN itself keeps it;
        otherwise the server's scheming schema says (``scheming_dataset_schema_show``, a read asked once per
        publisher and only then): a key our schema declares that a dataset lacks yet (a field added to the
        declarations) is written, one the server's schema lacks is not compared. A server without scheming keeps
        no key of its own beyond CKAN's."""
        if key in package or key in CORE_KEYS:
            return True
        if self._server_schema is None:
            try:
                schema = self.client.call("scheming_dataset_schema_show", type=package.get("type") or "dataset")
                self._server_schema = {f["field_name"] for f in schema.get("dataset_fields", [])}
            except Exception:  # no scheming (or no such type): CKAN's keys only
                self._server_schema = set()
        return key in self._server_schema

    def _datastore(
        self, package: dict[str, Any], schema: dict[str, Any], rounds: list[dict[str, Any]], output: str
    ) -> int:
        """Each round's current revision into one DataStore table (the Data API and previews).

        A round not loaded yet (or re-published) replaces that round's rows: loaded by the server with COPY from
        the round's CSV resource, or through the Action API (catalog/datastore_load.py).
        The table's data dictionary (CKAN's own, shown on the resource page and read by the portal's
        downloads) is rewritten only when what we declare changed, recognised by its digest on the resource.
        """
        table = next((r for r in package["resources"] if r.get("role") == "datastore"), None)
        fields = datastore_fields(schema)
        hiding = schema.get("tambon:suppression") or {}
        about = {
            "name": DATASTORE_NAME,
            "role": "datastore",
            "format": "DataStore",
            "description": "ข้อมูลฉบับปัจจุบันของทุกรอบ ค้นด้วย Data API ได้ / current revision of "
            "every round, queryable through the Data API",
            "dictionary_digest": _digest([fields, hiding.get("th"), hiding.get("en")]),
            **({"suppression_th": hiding["th"], "suppression_en": hiding["en"]} if hiding else {}),
        }
        key = schema.get("primaryKey", [])
        if table is None:
            result = self.client.call(
                "datastore_create",
                resource={"package_id": package["id"], **about},
                fields=fields,
                primary_key=key,
                force=True,
            )
            table_id = result["resource_id"]
            loaded: dict[str, str] = {}
            # the table preview on the resource page (DataStore does not add it by itself)
            self.client.call(
                "resource_create_default_resource_views",
                resource=self.client.call("resource_show", id=table_id),
                package=self.client.call("package_show", id=package["id"]),
                create_datastore_views=True,
            )
        else:
            table_id = table["id"]
            loaded = json.loads(table.get("loaded_versions") or "{}")
            if table.get("dictionary_digest") != about["dictionary_digest"]:  # a table published before
                self.client.call("datastore_create", resource_id=table_id, fields=fields, force=True)
                self.client.call("resource_patch", id=table_id, **about)
        rows = 0
        # each round's current CSV as CKAN holds it (the server loads that file itself when it can)
        sources = {
            (r.get("round"), str(r.get("revision")), r.get("file_format")): r
            for r in package["resources"]
            if r.get("role") == "revision"
        }
        for current in rounds:
            if loaded.get(current["round"]) == current["version"]:
                continue
            csv_file = current["files"]["csv"]
            rows += load_round(
                self.client,
                table_id,
                schema,
                self.local.root / output / current["path"] / csv_file["path"],
                current["round"],
                source=sources.get((current["round"], str(current["revision"]), "csv")),
                sha256=csv_file["sha256"],
            )
            loaded[current["round"]] = current["version"]
        if rows:
            self.client.call("resource_patch", id=table_id, loaded_versions=json.dumps(loaded, sort_keys=True))
        return rows


def datastore_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The DataStore columns with CKAN's data dictionary, and what the portal's downloads need to read a value.

    ``label_translated`` (Thai and English) heads the columns of the CSV people download and, with
    ``notes_translated``, is what CKAN's own dictionary view shows in each language; ``true_text``/``false_text`` are
    the words the CSV file writes for a boolean (มี/ไม่มี); ``suppressed_text`` marks a column whose NULL
    is a count hidden on purpose, written as the CSV file writes it (``x``), never as a blank.
    """
    marker = (schema.get("tambon:suppression") or {}).get("marker", "x")
    fields = []
    for f in schema["fields"]:
        info = {
            "label": f"{f.get('title_th', f['name'])} / {f.get('title', f['name'])}",
            "notes": f"{f.get('description_th', '')}\n\n{f.get('description', '')}".strip(),
            # what CKAN's own dictionary view shows in each language (h.get_translated reads ``<key>_translated``)
            "label_translated": {"th": f.get("title_th", f["name"]), "en": f.get("title", f["name"])},
            "notes_translated": {"th": f.get("description_th", ""), "en": f.get("description", "")},
        }
        if f.get("type") == "boolean":
            info["true_text"], info["false_text"] = f.get("trueValues", ["true"])[0], f.get("falseValues", ["false"])[0]
        if f.get("tambon:suppressible"):
            info["suppressed_text"] = marker
        fields.append({"id": f["name"], "type": DATASTORE_TYPES[f.get("type", "string")], "info": info})
    return fields


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def province_codes(csv: Path) -> set[str]:
    """The two-digit province codes of a published CSV, from its most direct area-code column."""
    header = pd.read_csv(csv, dtype=str, nrows=0, encoding="utf-8-sig").columns
    column = next((c for c in AREA_CODE_COLUMNS if c in header), None)
    if column is None:
        return set()
    values = pd.read_csv(csv, dtype=str, usecols=[column], keep_default_na=False, encoding="utf-8-sig")[column]
    return {v[:2] for v in values.str.strip().unique() if len(v) >= 2 and v[:2].isdigit()}


def province_names() -> dict[str, tuple[str, str]]:
    """Province code -> (Thai name, English name), from the registry."""
    import registry

    frame = registry.provinces()
    return {code: (th, en) for code, th, en in frame[["province_code", "name_th", "name_en"]].itertuples(index=False)}


def column_titles(package: dict[str, Any]) -> list[str]:
    """Each column's ``Thai title / English title``, from the newest revision's Table Schema: the
    catalog's search finds a dataset by what it measures (``ประปา`` finds the tables with a tap-water
    column). A dataset field rather than a read of the DataStore at index time: it works the same on a
    CKAN with Solr, and the dataset page shows it."""
    schema = next((r.get("schema") for r in package.get("resources", []) if r.get("schema")), None) or {}
    titles = []
    for field_ in schema.get("fields", []):
        thai, english = field_.get("title_th"), field_.get("title")
        titles.append(" / ".join(dict.fromkeys(t for t in (thai, english) if t)) or field_["name"])
    return titles


DATASTORE_NAME = "ทุกรอบ ฉบับปัจจุบัน · Data API / All rounds, current revisions (Data API)"


def round_labels(round_key: str) -> tuple[str, str]:
    """``2020-10`` -> (``ต.ค. 2563``, ``Oct 2020``): the month as people write it, the year in B.E. in Thai."""
    year, month = (int(part) for part in round_key.split("-"))
    return f"{THAI_MONTHS_ABBR[month - 1]} {year + BE_OFFSET}", f"{calendar.month_abbr[month]} {year}"


def size_label(size: int | str | None) -> str:
    """Bytes as Windows Explorer and CKAN's resource page count them (1 KB = 1,024 bytes), one decimal."""
    if size in (None, ""):
        return ""
    number = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if number < 1024 or unit == "GB":
            return f"{int(number):,} B" if unit == "B" else f"{number:,.1f} {unit}"
        number /= 1024
    raise AssertionError("unreachable")


def resource_name(role: str, round_key: str, revision: int, file_format: str, size: int | str | None) -> str:
    """A resource's name: Thai first (kind, B.E. month, format, size, revision), then English.

    ``ต.ค. 2563 · CSV (1.2 MB) · ฉบับที่ 1 / Oct 2020 r1``; the quality report starts with
    ``รายงานคุณภาพ`` and a stable link with ``ล่าสุด``, so the first words tell them apart. The size
    comes before the revision because CKAN cuts names at 50 characters on the dataset page (Thai
    vowel and tone marks count as characters): what is cut is the revision, which the resource
    page and the English half still say.
    """
    thai_round, english_round = round_labels(round_key)
    thai_format, english_word = NAME_FORMAT[file_format]
    size_text = size_label(size)
    thai = f"{thai_round} · {thai_format}" + (f" ({size_text})" if size_text else "") + f" · ฉบับที่ {revision}"
    if role == "report":
        return f"รายงานคุณภาพ {thai} / Quality report {english_round} r{revision}"
    if role == "latest":
        return f"ล่าสุด {thai} / Latest: {english_round} r{revision}{english_word}"
    return f"{thai} / {english_round} r{revision}{english_word}"


def _resource_key(resource: dict[str, Any]) -> tuple[str, int, str]:
    return (resource.get("round", ""), int(resource.get("revision") or 0), resource.get("file_format", ""))


def _display_order(resource: dict[str, Any]) -> tuple:
    """Stable links first, then the quality reports and the revisions newest first, then the rest (Data API)."""
    role = resource.get("role")
    if role == "latest":
        return (0, list(FORMAT_LABEL).index(resource["file_format"]))
    if role in STAGED_ROLES:
        round_, revision, fmt = _resource_key(resource)
        return (1 if role == "report" else 2, -int(round_.replace("-", "")), -revision, list(NAME_FORMAT).index(fmt))
    return (3,)


def _latest_fields(target: dict[str, Any], pick: LatestPick) -> dict[str, Any]:
    """A stable link's URL, name, size and dates: those of the revision file it serves now."""
    round_, revision, fmt = _resource_key(target)
    return {
        "name": resource_name("latest", round_, revision, fmt, target.get("size")),
        "url": target["url"],
        "size": target.get("size"),
        "issued": target.get("issued"),
        "modified": target.get("issued"),
        "description": _latest_description(target, pick),
        # the same reason and rule in fields of their own, for the front page (ckanext/tambon/portal.py)
        "latest_reason_th": f"{pick.note()['th']} หลักการ: {RULE['th']}",
        "latest_reason_en": f"{pick.note()['en']}. Rule: {RULE['en']}",
    }


def _flag(value: Any, default: bool) -> str:
    """A declared yes/no as ckanext-thai_gdc stores it: "True" or "False"."""
    if value is None or value == "":
        return str(default)
    return "False" if str(value).strip().lower() in ("false", "no", "0") else "True"


def resource_gdc(gdc: dict[str, Any], role: str, round_be: str | None, issued: str | None) -> dict[str, Any]:
    """The Thai GDC resource fields of one file of a round (or of a latest link, as the file it serves).

    A published file never changes: created and last updated are the day its revision was published. The years
    of data are the round's, in B.E. (``2563-10`` -> ``2563``). The rest comes from the declaration (``gdc``): the
    smallest unit collected for records; breakdowns, unit of measure, multiplier and official statistics for
    statistics. A quality report carries its dates and years only.
    """
    day = (issued or "")[:10]
    year = (round_be or "")[:4]
    fields: dict[str, Any] = {
        "resource_created_date": day,
        "resource_last_updated_date": day,
        "resource_first_year_of_data": year,
        "resource_last_year_of_data": year,
    }
    if role != "report":
        fields["resource_accessible_condition"] = gdc.get("accessible_condition")
        if gdc.get("data_type") == "ข้อมูลสถิติ":
            fields.update(
                resource_disaggregate=gdc.get("disaggregate"),
                resource_disaggregate_other=gdc.get("disaggregate_other"),
                resource_unit_of_measure=gdc.get("unit_of_measure"),
                resource_unit_of_multiplier=gdc.get("unit_of_multiplier"),
                resource_unit_of_multiplier_other=gdc.get("unit_of_multiplier_other"),
                resource_official_statistics=_flag(gdc.get("official_statistics"), False),
            )
        else:
            fields.update(
                resource_data_collect=gdc.get("data_collect"),
                resource_data_collect_other=gdc.get("data_collect_other"),
            )
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def _latest_description(target: dict[str, Any], pick: LatestPick) -> str:
    """What the stable link serves now and why, then the rule itself: Thai first, English beside.

    Said on the resource because that is where a person downloading "latest" looks; the note
    names a newer round still being reported, so nobody mistakes its absence for a missing upload.
    """
    note = pick.note()
    round_, revision, fmt = _resource_key(target)
    thai_round, english_round = round_labels(round_)
    return (
        f"ลิงก์ถาวรไปยังรอบล่าสุด (ขณะนี้: {thai_round} ฉบับที่ {revision} · {NAME_FORMAT[fmt][0]}) {note['th']} "
        f"หลักการ: {RULE['th']}\n\n"
        f"Stable link to the latest round (now: {english_round} r{revision}, {FORMAT_LABEL[fmt]}): {note['en']}. "
        f"Rule: {RULE['en']}"
    )


_VOLATILE = {
    "metadata_modified",
    "last_modified",
    "position",
    "created",
    "cache_last_updated",
    "datastore_active",
    "mimetype",
    "mimetype_inner",
    "cache_url",
    "url_type",
    "package_id",
    "state",
    "tracking_summary",
}


def _comparable(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: _choices(v) for k, v in resource.items() if k not in _VOLATILE and v not in (None, "", [])}


def _choices(value: Any) -> Any:
    """A list of choices in any order (scheming keeps a multiple choice in its schema's order, not in ours)."""
    value = _as_list(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(value)
    return value


def _as_list(value: Any) -> Any:
    """A list CKAN hands back as JSON text (a multiple-choice field without an output validator, as
    ckanext-thai_gdc declares them) read as the list; any other value as it is."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, list) else value
    return value


def _shown(package: dict[str, Any], key: str) -> Any:
    """A dataset field as we send it, read from what ``package_show`` returns."""
    if key == "owner_org":
        return (package.get("organization") or {}).get("name")
    if key == "groups":
        return [{"name": group["name"]} for group in package.get("groups", [])]
    if key == "tag_string":
        return [t["name"] for t in package.get("tags", [])]
    return package.get(key)


def _same(a: Any, b: Any) -> bool:
    a = _as_list(a)
    if isinstance(a, list) and isinstance(b, str):
        b = b.split(",")
    if isinstance(b, list):
        return sorted(map(str, a or [])) == sorted(map(str, b))
    return str(a if a is not None else "") == str(b)
