"""DCAT that a harvester can use: the ``tambon_dcat`` RDF profile of ckanext-dcat.

โปรไฟล์ DCAT ของแคตตาล็อกตำบล: เพิ่มสิ่งที่ผู้เก็บเกี่ยวข้อมูล (harvester) ต้องใช้ลงใน /catalog.ttl และ
/dataset/<ชื่อ>.ttl / .rdf / .jsonld ได้แก่ สัญญาอนุญาต ช่วงเวลาของข้อมูล จังหวัดที่ครอบคลุม วันที่เผยแพร่และปรับปรุง
ของข้อมูล ลิงก์ดาวน์โหลด ชนิดสื่อ (IANA) ภาษา ความถี่ และหมวดหมู่

Runs *after* ckanext-dcat's standard profile (``ckanext.dcat.rdf.profiles = euro_dcat_ap_3 tambon_dcat`` in
``catalog/ckan/ckan.sh``): the standard profile writes everything it knows from CKAN's own fields, and this one
adds, or replaces, what it cannot know from them, from the fields our publisher fills
(``catalog/ckan_publish.py``):

* ``dct:license`` on the dataset (the licence's URL from ``licenses.json``). Each distribution's licence is
  ckanext-dcat's own ``ckanext.dcat.resource.inherit.license`` option; the licence document gets its title.
* ``dct:temporal``: one ``dct:PeriodOfTime`` (``dcat:startDate``/``dcat:endDate``, ``xsd:date``) per run of
  consecutive monthly rounds in ``coverage_round_ce`` (a round is a calendar month).
* ``dct:spatial``: each province in ``coverage_province_code`` as a ``dct:Location`` with its Thai and English
  names (``skos:prefLabel`` @th/@en), its DOPA code (``skos:notation``) and ISO 3166-2 code (``dct:identifier``,
  ``TH-47``). No public gazetteer gives Thai provinces a URI we could cite and check, so they are blank nodes;
  a dataset without provinces (nation totals, the analysts' database) gets Thailand's URI from the EU country
  authority table.
* ``dct:issued``/``dct:modified`` of the data instead of CKAN's record dates: a file's date is the publication
  time of its revision (the ``issued``/``modified`` the publisher writes on the resource); the dataset's are
  the first and the last of them (or the Thai GDC ``created_date``/``last_updated_date`` when no file has one).
* ``dcat:downloadURL`` (the file's URL; the DataStore table's CSV dump) and ``dcat:mediaType`` as IANA URIs for
  every format: ``text/csv``, ``application/json``, ``application/vnd.apache.parquet`` (IANA-registered
  2024-02-14), ``text/html``, and ``application/octet-stream`` for DuckDB, which has no registered type (its
  ``dct:format`` stays ``DuckDB``).
* ``dct:language`` (EU language authority, from ``data_language``), ``dct:accrualPeriodicity`` (EU frequency
  authority, from ``update_frequency_unit``/``_interval``), ``dcat:theme`` (EU data themes, plus the CKAN
  groups a dataset is in).

Harvesting into CKAN (``parse_dataset``) is left to the standard profile: nothing here changes what it reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ckan.plugins import toolkit
from ckanext.dcat.profiles import DCAT, DCT, RDF, SKOS, CleanedURIRef, RDFProfile
from ckanext.dcat.utils import resource_uri
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

IANA = "https://www.iana.org/assignments/media-types/"
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
THAILAND = URIRef(f"{EU_AUTHORITY}country/THA")

#: a resource's format (our ``file_format``, else CKAN's ``format``, lower case) -> its IANA media type
MEDIA_TYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
    "datapackage": "application/json",
    "html": "text/html",
    "duckdb": "application/octet-stream",
    "datastore": "text/csv",  # what its dcat:downloadURL (/datastore/dump/<id>) serves
}

#: Thai GDC ``data_language`` values -> EU language authority codes
LANGUAGES = {"ไทย": "THA", "อังกฤษ": "ENG"}

#: Thai GDC (``update_frequency_unit``, ``update_frequency_interval`` = times per unit) -> EU frequency codes
FREQUENCIES = {
    ("เดือน", 1): "MONTHLY",
    ("เดือน", 2): "MONTHLY_2",
    ("เดือน", 3): "MONTHLY_3",
    ("ปี", 1): "ANNUAL",
    ("ปี", 2): "ANNUAL_2",
    ("ปี", 3): "ANNUAL_3",
    ("ปี", 4): "QUARTERLY",
    ("ปี", 12): "MONTHLY",
    ("ครึ่งปี", 1): "ANNUAL_2",
    ("ไตรมาส", 1): "QUARTERLY",
    ("สัปดาห์", 1): "WEEKLY",
    ("สัปดาห์", 2): "WEEKLY_2",
    ("สัปดาห์", 3): "WEEKLY_3",
    ("วัน", 1): "DAILY",
    ("วัน", 2): "DAILY_2",
    ("ชั่วโมง", 1): "HOURLY",
    ("ตามเวลาจริง", None): "UPDATE_CONT",
    ("ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล", None): "NEVER",
    ("ไม่ทราบ", None): "UNKNOWN",
}

#: every dataset here is village, household or district data of Thailand's areas: the EU data themes
#: "Population and society" and "Regions and cities"
THEMES = ("SOCI", "REGI")


class TambonDCATProfile(RDFProfile):
    """Adds the harvester's essentials (see the module docstring) after ckanext-dcat's standard profile."""

    def parse_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> dict[str, Any]:
        return dataset_dict

    def graph_from_catalog(self, catalog_dict: dict[str, Any] | None, catalog_ref: Node) -> None:
        # the standard profile states the site's locale as a bare "th"; a URI is what DCAT-AP asks for
        g = self.g
        g.remove((catalog_ref, DCT.language, None))
        for code in LANGUAGES.values():
            self._language(catalog_ref, code)

    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> None:
        g = self.g
        g.bind("dcat", DCAT)
        g.bind("dct", DCT)
        g.bind("skos", SKOS)
        licence = self._licence(dataset_dict, dataset_ref)
        self._temporal(dataset_dict, dataset_ref)
        self._spatial(dataset_dict, dataset_ref)
        for code in [LANGUAGES[v] for v in _list(dataset_dict.get("data_language")) if v in LANGUAGES] or ["THA"]:
            self._language(dataset_ref, code)
        self._frequency(dataset_dict, dataset_ref)
        for theme in THEMES:
            g.add((dataset_ref, DCAT.theme, URIRef(f"{EU_AUTHORITY}data-theme/{theme}")))
        site = toolkit.config.get("ckan.site_url", "").rstrip("/")
        for group in dataset_dict.get("groups") or []:
            g.add((dataset_ref, DCAT.theme, URIRef(f"{site}/group/{group['name']}")))
        issued, modified = _data_dates(dataset_dict)
        self._replace_date(dataset_ref, DCT.issued, issued)
        self._replace_date(dataset_ref, DCT.modified, modified)
        for resource in dataset_dict.get("resources", []):
            self._distribution(resource, licence, issued, modified, site)

    # -- the dataset ---------------------------------------------------------------------------------------------
    def _licence(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> URIRef | None:
        url = dataset_dict.get("license_url")
        if not url or not str(url).startswith(("http://", "https://")):
            return None
        licence = CleanedURIRef(url)
        self.g.add((dataset_ref, DCT.license, licence))
        self.g.add((licence, RDF.type, DCT.LicenseDocument))
        if dataset_dict.get("license_title"):
            self.g.add((licence, DCT.title, Literal(dataset_dict["license_title"])))
        return licence

    def _temporal(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> None:
        for start, end in month_runs(_list(dataset_dict.get("coverage_round_ce"))):
            period = BNode()
            self.g.add((dataset_ref, DCT.temporal, period))
            self.g.add((period, RDF.type, DCT.PeriodOfTime))
            self._add_date_triple(period, DCAT.startDate, start.isoformat())
            self._add_date_triple(period, DCAT.endDate, end.isoformat())

    def _spatial(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> None:
        g = self.g
        codes = _list(dataset_dict.get("coverage_province_code"))
        thai = _list(dataset_dict.get("coverage_province"))
        english = _list(dataset_dict.get("coverage_province_en"))
        if not codes:
            g.add((dataset_ref, DCT.spatial, THAILAND))
            g.add((THAILAND, RDF.type, DCT.Location))
            g.add((THAILAND, SKOS.prefLabel, Literal("ประเทศไทย", lang="th")))
            g.add((THAILAND, SKOS.prefLabel, Literal("Thailand", lang="en")))
            return
        for index, code in enumerate(codes):
            place = BNode()
            g.add((dataset_ref, DCT.spatial, place))
            g.add((place, RDF.type, DCT.Location))
            g.add((place, SKOS.notation, Literal(code)))
            g.add((place, DCT.identifier, Literal(f"TH-{code}")))
            if index < len(thai):
                g.add((place, SKOS.prefLabel, Literal(thai[index], lang="th")))
            if index < len(english):
                g.add((place, SKOS.prefLabel, Literal(english[index], lang="en")))

    def _language(self, subject: Node, code: str) -> None:
        language = URIRef(f"{EU_AUTHORITY}language/{code}")
        self.g.add((subject, DCT.language, language))
        self.g.add((language, RDF.type, DCT.LinguisticSystem))

    def _frequency(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> None:
        unit = dataset_dict.get("update_frequency_unit")
        try:
            interval = int(dataset_dict.get("update_frequency_interval") or 1)
        except (TypeError, ValueError):
            interval = 1
        code = FREQUENCIES.get((unit, interval)) or FREQUENCIES.get((unit, None))
        if unit and not code:
            code = "OTHER"
        if code:
            frequency = URIRef(f"{EU_AUTHORITY}frequency/{code}")
            self.g.remove((dataset_ref, DCT.accrualPeriodicity, None))
            self.g.add((dataset_ref, DCT.accrualPeriodicity, frequency))
            self.g.add((frequency, RDF.type, DCT.Frequency))

    def _replace_date(self, subject: Node, predicate: URIRef, value: str | None) -> None:
        """The data's date in place of CKAN's record date; CKAN's stays only when the data states none."""
        if value:
            self.g.remove((subject, predicate, None))
            self._add_date_triple(subject, predicate, value)

    # -- each distribution ---------------------------------------------------------------------------------------
    def _distribution(
        self, resource: dict[str, Any], licence: URIRef | None, issued: str | None, modified: str | None, site: str
    ) -> None:
        g = self.g
        distribution = CleanedURIRef(resource_uri(resource))
        if licence is not None and (distribution, DCT.license, None) not in g:
            g.add((distribution, DCT.license, licence))
        fmt = str(resource.get("file_format") or resource.get("format") or "").lower()
        if resource.get("url_type") == "datastore" or resource.get("role") == "datastore":
            fmt, url = "datastore", f"{site}/datastore/dump/{resource['id']}"
            g.remove((distribution, DCAT.accessURL, None))
            g.add((distribution, DCAT.accessURL, URIRef(url)))
        else:
            url = resource.get("url") or ""
        if url.startswith(("http://", "https://")):
            g.remove((distribution, DCAT.downloadURL, None))
            g.add((distribution, DCAT.downloadURL, CleanedURIRef(url)))
        if fmt in MEDIA_TYPES:
            media = URIRef(IANA + MEDIA_TYPES[fmt])
            g.remove((distribution, DCAT.mediaType, None))
            g.add((distribution, DCAT.mediaType, media))
            g.add((media, RDF.type, DCT.MediaType))
        # a file published once never changes: its modified is its issued; the DataStore table holds the
        # current revision of every round, so it has the dataset's dates
        own_issued = resource.get("issued") or resource.get("modified")
        own_modified = resource.get("modified") or resource.get("issued")
        self._replace_date(distribution, DCT.issued, own_issued or issued)
        self._replace_date(distribution, DCT.modified, own_modified or modified)


def month_runs(rounds: list[str]) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive months (``YYYY-MM`` Gregorian rounds) as (first day, last day) pairs.

    One period per run rather than one from the first to the last round, so a missing month is not claimed.
    """
    months = sorted({(int(r[:4]), int(r[5:7])) for r in rounds if len(r) >= 7 and r[4] == "-"})
    runs: list[list[tuple[int, int]]] = []
    for year, month in months:
        if runs and _next_month(*runs[-1][-1]) == (year, month):
            runs[-1].append((year, month))
        else:
            runs.append([(year, month)])
    return [(dt.date(*run[0], 1), _last_day(*run[-1])) for run in runs]


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _last_day(year: int, month: int) -> dt.date:
    following = _next_month(year, month)
    return dt.date(*following, 1) - dt.timedelta(days=1)


def _data_dates(dataset_dict: dict[str, Any]) -> tuple[str | None, str | None]:
    """The dataset's issued and modified from its files' publication times, else its Thai GDC dates."""
    stamps = sorted(
        (_instant(value), value)
        for resource in dataset_dict.get("resources", [])
        for value in (resource.get("issued"), resource.get("modified"))
        if value and _instant(value) is not None
    )
    if stamps:
        return stamps[0][1], stamps[-1][1]
    return dataset_dict.get("created_date") or None, dataset_dict.get("last_updated_date") or None


def _instant(value: str) -> dt.datetime | None:
    """A date or timestamp as an aware instant, to order them (a bare date is midnight UTC)."""
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _list(value: Any) -> list[str]:
    """A scheming multiple_text or multiple_checkbox value as a list (CKAN may hand either a list or a string)."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]
