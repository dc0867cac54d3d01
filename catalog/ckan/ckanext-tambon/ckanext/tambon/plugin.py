"""CKAN plugins of the Tambon open-data catalog.

* ``tambon_pgsearch``: dataset search on PostgreSQL instead of Solr.
* ``tambon_gdc``: validators used by the Thai GDC dataset schema
  (``thai_gdc_dataset.yaml``, loaded by ckanext-scheming).
* ``tambon_publishing``: hides staged (pending) resources from people who
  cannot edit the dataset, so a revision appears whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ckan.plugins as plugins

from . import publishing, search, validators


class PgSearchPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IConfigurer)

    def update_config(self, config: Any) -> None:
        # Runs before CKAN checks the Solr schema and before any search.
        search.install()


class GdcPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IValidators)

    def get_validators(self) -> dict[str, Callable[..., Any]]:
        return dict(validators.VALIDATORS)


class PublishingPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IPackageController, inherit=True)
    plugins.implements(plugins.IAuthFunctions)

    def after_dataset_show(self, context: dict[str, Any], pkg_dict: dict[str, Any]) -> dict[str, Any]:
        if not publishing.can_edit(context, pkg_dict["id"]):
            publishing.hide_pending(pkg_dict)
        return pkg_dict

    def after_dataset_search(self, search_results: dict[str, Any], search_params: dict[str, Any]) -> dict[str, Any]:
        for package in search_results.get("results", []):
            publishing.hide_pending(package)
        return search_results

    def get_auth_functions(self) -> dict[str, Callable[..., Any]]:
        return {"resource_show": publishing.resource_show}
