"""WSGI entry point for the catalog's CKAN server (run by gunicorn from ckan.sh).

The CKAN wheel ships no wsgi module: build the application from the ini file
named by the ``CKAN_INI`` environment variable.
"""

import logging.config
import os

from ckan.cli import CKANConfigLoader
from ckan.config.middleware import make_app

_ini = os.path.abspath(os.environ["CKAN_INI"])
logging.config.fileConfig(_ini, disable_existing_loggers=False)
application = make_app(CKANConfigLoader(_ini).get_config())
