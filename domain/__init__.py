"""The domain model every layer shares: what a collection, a round and a place are, and where data lies.

* ``declarations``: a collection's declaration (``datasets/<name>/``) read into a :class:`DatasetSpec`;
* ``measures``: the aggregate columns a declaration implies (declared measures and indicator counts);
* ``disclosure``: which published counts add up to which, for small-cell suppression;
* ``limits``: how big a file, a workbook and a cell may be, and the mark of a cut cell;
* ``rounds``: reporting rounds (Gregorian and Buddhist Era) and Thai dates; ``clock``: the day deadlines are judged on;
* ``geography``: the registry's levels and codes as DuckDB views;
* ``layout`` and ``work``: where a round's files and work tables lie on disk;
* ``python_text``: how Python reads text the way the SQL engine does.

The layers read, from the ground up: ``registry/``, ``domain/``, ``validation/``, ``catalog/``,
``pipelines/``. This package imports nothing above it (``registry`` only), so the layers above
can all import it; ``tests/unit/test_layers.py`` checks that.
"""
