"""PostgreSQL-backed dataset search for CKAN without Solr.

``install()`` swaps the backends in ``ckan.lib.search``; CKAN's own
``package_search`` action (auth, permission labels, include_private /
include_drafts, facet titles, plugin hooks) stays as it is.

Modules: ``parser`` (Solr query syntax -> tree), ``sql`` (tree -> SQL on
CKAN's tables, permission labels, sorting), ``facets`` (facet counts),
``documents`` (result documents in Solr's shape), ``backend`` (the query
and no-op index classes).
"""

from __future__ import annotations


def install() -> None:
    import ckan.lib.search as search

    from .backend import NoopPackageIndex, PostgresPackageSearchQuery

    search._INDICES["package"] = NoopPackageIndex
    search._QUERIES["package"] = PostgresPackageSearchQuery
    # used directly by group/org dataset counts, tag_show, bulk updates
    search.PackageSearchQuery = PostgresPackageSearchQuery
    # used directly by the DataStore (datastore_active flag) on 2.11
    search.PackageSearchIndex = NoopPackageIndex
    # no Solr schema to check (it would try to connect to solr_url)
    search.check_solr_schema_version = _no_solr_schema


def _no_solr_schema(schema_file: object = None) -> bool:
    return False
