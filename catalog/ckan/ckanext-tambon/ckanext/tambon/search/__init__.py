"""PostgreSQL-backed dataset search for CKAN without Solr.

``install()`` swaps the backends in ``ckan.lib.search``; CKAN's own ``package_search`` action (auth,
permission labels, include_private / include_drafts, facet titles, plugin hooks) and CKAN's own
indexer (``index_package``: what Solr would store) stay as they are.

Modules: ``table`` (the index tables), ``index`` (CKAN's indexer writing rows), ``rows`` (a dataset's
row: weighted words, typed field values, labels, JSON), ``words`` (Thai word segmentation, tsvector
and tsquery text), ``parser`` (Solr query syntax -> tree), ``conditions`` (tree -> SQL on the index,
relevance, sort), ``facets`` (facet counts), ``documents`` (result documents), ``backend`` (the query
class).
"""

from __future__ import annotations


def install() -> None:
    import ckan.lib.search as search

    from . import index
    from .backend import PostgresPackageSearchQuery, install_package_show_without_cache

    index.install()
    search._INDICES["package"] = index.PostgresPackageIndex
    search._QUERIES["package"] = PostgresPackageSearchQuery
    # used directly by group/org dataset counts, tag_show, bulk updates
    search.PackageSearchQuery = PostgresPackageSearchQuery
    # used directly by the DataStore (datastore_active flag) on 2.11
    search.PackageSearchIndex = index.PostgresPackageIndex
    # no Solr schema to check (it would try to connect to solr_url)
    search.check_solr_schema_version = _no_solr_schema
    install_package_show_without_cache()


def _no_solr_schema(schema_file: object = None) -> bool:
    return False
