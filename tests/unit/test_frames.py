"""DuckDB's answers through Arrow come typed as DuckDB's own ``.df()`` types them."""

import duckdb
import pandas as pd

from domain.frames import as_frame

EVERY_KIND = """
SELECT * FROM (VALUES
    ('ก', 1::BIGINT, 1.5::DOUBLE, DATE '2020-01-02', true, 1.25::DECIMAL(10, 2), 5::HUGEINT,
     TIMESTAMP '2020-01-01 10:00:00', 3::INTEGER, 7::UBIGINT, 2::BIGINT, false, 'x'),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 3, true, NULL)
) t(text, whole, number, day, flag, amount, huge, moment, small, unsigned, whole_full, flag_full, text2)
"""


def test_every_kind_of_column_as_df_gives_it():
    con = duckdb.connect()
    pd.testing.assert_frame_equal(as_frame(con.execute(EVERY_KIND)), con.execute(EVERY_KIND).df())


def test_no_rows():
    con = duckdb.connect()
    query = "SELECT 1 AS n, 'a' AS s, DATE '2020-01-01' AS d WHERE false"
    pd.testing.assert_frame_equal(as_frame(con.execute(query)), con.execute(query).df())
