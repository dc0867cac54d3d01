"""Monthly rounds as Dagster partitions, keyed ``YYYY-MM`` (Gregorian); TST began in October 2020."""

import dagster as dg

rounds = dg.MonthlyPartitionsDefinition(start_date="2020-10", fmt="%Y-%m", end_offset=1, timezone="Asia/Bangkok")
