"""CKAN plugins of the Tambon open-data catalog.

* ``tambon_pgsearch``: dataset search on PostgreSQL instead of Solr.
* ``tambon_gdc``: validators used by the Thai GDC dataset schema
  (``thai_gdc_dataset.yaml``, loaded by ckanext-scheming).
* ``tambon_publishing``: hides staged (pending) resources from people who
  cannot edit the dataset, so a revision appears whole or not at all; and keeps a
  district office's user to sending its corrections back (``office_guard.py``).
* ``tambon_limits``: caps on search requests and request bodies, so that no
  request can exhaust the server (see ``limits.py``, ``body_limit.py``).
* ``tambon_portal``: the programme's front page, our Thai translations of the labels
  CKAN leaves in English, and ``/dataset/village_profile`` -> ``village-profile``
  (see ``portal.py``), the Thai CSV behind every download button (``downloads.py``) and the
  data dictionary on the dataset page (``dictionary.py``). Listed first in ``ckan.plugins``:
  see ``PortalPlugin``.
* ``tambon_table_view``: the table preview of the published CSV files (first rows, Thai
  headings), which CKAN 2.11 only offers for DataStore tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ckan.plugins as plugins
import ckan.plugins.toolkit as toolkit
from ckan.lib.plugins import DefaultTranslation
from ckan.lib.search.common import SearchQueryError
from flask import Blueprint

from . import (
    body_limit,
    datastore_load,
    dictionary,
    downloads,
    limits,
    office_guard,
    portal,
    publishing,
    search,
    validators,
)


class PgSearchPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IConfigurer)
    plugins.implements(plugins.IClick)

    def update_config(self, config: Any) -> None:
        # Runs before CKAN checks the Solr schema and before any search.
        search.install()

    def get_commands(self) -> list[Any]:
        from .search import refresh

        return [refresh.command()]


class GdcPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IValidators)

    def get_validators(self) -> dict[str, Callable[..., Any]]:
        return dict(validators.VALIDATORS)


class PublishingPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IConfigurer)
    plugins.implements(plugins.IPackageController, inherit=True)
    plugins.implements(plugins.IAuthFunctions)
    plugins.implements(plugins.IActions)
    plugins.implements(plugins.IBlueprint)

    def update_config(self, config: Any) -> None:
        publishing.install_resource_filter()

    def after_dataset_show(self, context: dict[str, Any], pkg_dict: dict[str, Any]) -> dict[str, Any]:
        if not publishing.can_edit(context, pkg_dict["id"]):
            publishing.hide_pending(pkg_dict)
        return pkg_dict

    def after_dataset_search(self, search_results: dict[str, Any], search_params: dict[str, Any]) -> dict[str, Any]:
        for package in search_results.get("results", []):
            publishing.hide_pending(package)
        return search_results

    def get_auth_functions(self) -> dict[str, Callable[..., Any]]:
        return {"resource_show": publishing.resource_show, **office_guard.auth_functions()}

    def get_actions(self) -> dict[str, Callable[..., Any]]:
        if not plugins.plugin_loaded("activity"):
            return {"resource_search": publishing.resource_search}
        return publishing.chained_actions()

    def get_blueprint(self) -> Blueprint:
        blueprint = Blueprint("tambon_publishing", __name__)
        blueprint.before_app_request(publishing.guard_resource_history)
        return blueprint


class LimitsPlugin(plugins.SingletonPlugin):
    plugins.implements(plugins.IConfigDeclaration)
    plugins.implements(plugins.IActions)
    plugins.implements(plugins.IMiddleware, inherit=True)
    plugins.implements(plugins.IBlueprint)

    def declare_config_options(self, declaration: Any, key: Any) -> None:
        from ckan.config.declaration import Key

        declaration.annotate("ckanext-tambon: caps that keep any one request from exhausting the server")
        caps = [(f"search.{name}", default, meaning) for name, default, meaning in limits.SEARCH_CAPS]
        for name, default, meaning in caps + list(limits.OTHER_CAPS):
            declaration.declare_int(Key.from_string(f"ckanext.tambon.{name}"), default).set_description(meaning)

    def get_actions(self) -> dict[str, Callable[..., Any]]:
        datastore = plugins.plugin_loaded("datastore")
        actions = limits.chained_actions(datastore=datastore)
        if datastore:  # the publisher's bulk load of a round (datastore_load.py)
            actions["tambon_datastore_load"] = datastore_load.tambon_datastore_load
        return actions

    def get_blueprint(self) -> Blueprint:
        # pages that do not catch a refused search themselves (DCAT's /catalog.ttl) answer 400, not 500
        blueprint = Blueprint("tambon_limits", __name__)
        blueprint.app_errorhandler(SearchQueryError)(limits.refused_search_page)
        return blueprint

    def make_middleware(self, app: Any, config: Any) -> Any:
        # around Flask's own WSGI callable, so before any request parsing
        caps = body_limit.caps_from_config(
            config,
            default=limits.other_cap("api.max_body_bytes"),
            datastore=limits.other_cap("api.datastore_max_body_bytes"),
        )
        app.wsgi_app = body_limit.BodyLimit(app.wsgi_app, caps)
        return app


class PortalPlugin(plugins.SingletonPlugin, DefaultTranslation):
    """Front page, Thai labels and the underscore redirect, all by CKAN's own mechanisms.

    Templates extend CKAN's (``{% ckan_extends %}``); labels CKAN's Thai catalogue leaves
    English are translated in our own catalogue (``i18n/th/LC_MESSAGES/ckanext-tambon.po``),
    which CKAN merges over its own. Listed first in ``ckan.plugins`` on purpose: CKAN merges
    the catalogue of the first-listed plugin last (ITranslation follows template precedence),
    and Flask-Babel takes the plural rule of the last catalogue merged. ckanext-dcat's plugins
    have no Thai catalogue, and their empty stand-in carries the English rule, which is why
    "23 datasets found" stayed English; ours carries Thai's (``nplurals=1; plural=0``).
    First in the list, our templates also come before the other plugins': the front page, the
    page frame (title, header, footer), the About text, the facet column, the error page, the
    web-page view's frame and the resource page's extra fields (that one extends ckanext-scheming's
    own, which extends CKAN's), each overriding only the blocks it changes.
    """

    plugins.implements(plugins.IConfigurer)
    plugins.implements(plugins.ITemplateHelpers)
    plugins.implements(plugins.ITranslation)
    plugins.implements(plugins.IBlueprint)

    def update_config(self, config: Any) -> None:
        toolkit.add_template_directory(config, "templates")
        toolkit.add_public_directory(config, "public")

    def i18n_domain(self) -> str:
        # one catalogue for the extension, whatever the plugin's name (CKAN's default: ckanext-<plugin name>)
        return "ckanext-tambon"

    def get_helpers(self) -> dict[str, Callable[..., Any]]:
        return {
            **portal.HELPERS,
            "tambon_download_url": downloads.people_csv_url,
            "tambon_data_dictionary": dictionary.dataset_dictionary,
        }

    def get_blueprint(self) -> Blueprint:
        blueprint = portal.blueprint()
        blueprint.before_app_request(downloads.people_dump)
        blueprint.add_url_rule("/dataset/<id>/resource/<resource_id>/th/<filename>", "people_csv", downloads.people_csv)
        return blueprint


class TableViewPlugin(plugins.SingletonPlugin):
    """The first rows of a published CSV file, with Thai headings, on its resource page.

    Rendered on the server from the stored file (no DataStore table per file, no script), so a
    preview costs one read of the file's first rows. Offered for the CSV revisions and the
    "latest" CSV links of our datasets; a default view, so CKAN adds it to each one it creates.
    """

    plugins.implements(plugins.IResourceView, inherit=True)

    ROWS = 100

    def info(self) -> dict[str, Any]:
        return {
            "name": "tambon_table_view",
            "title": "ตาราง / Table",
            "default_title": "ตัวอย่างข้อมูล / Table preview",
            "icon": "table",
            "iframed": False,
            "always_available": False,
        }

    def can_view(self, data_dict: dict[str, Any]) -> bool:
        return downloads.is_people_csv(data_dict.get("package") or {}, data_dict["resource"])

    def setup_template_variables(self, context: Any, data_dict: dict[str, Any]) -> dict[str, Any]:
        try:
            table = downloads.preview_rows(data_dict["package"], data_dict["resource"], self.ROWS)
        except (OSError, downloads.NotOurCsv):
            table = None
        return {"table": table, "rows_shown": self.ROWS}

    def view_template(self, context: Any, data_dict: dict[str, Any]) -> str:
        return "tambon/table_view.html"
