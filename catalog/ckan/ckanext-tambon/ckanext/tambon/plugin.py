"""CKAN plugins of the Tambon open-data catalog.

* ``tambon_pgsearch``: dataset search on PostgreSQL instead of Solr.
* ``tambon_gdc``: validators used by the Thai GDC dataset schema
  (``thai_gdc_dataset.yaml``, loaded by ckanext-scheming).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ckan.plugins as plugins

from . import search, validators


class PgSearchPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IConfigurer)

    def update_config(self, config: Any) -> None:
        # Runs before CKAN checks the Solr schema and before any search.
        search.install()


class GdcPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IValidators)

    def get_validators(self) -> dict[str, Callable[..., Any]]:
        return dict(validators.VALIDATORS)
