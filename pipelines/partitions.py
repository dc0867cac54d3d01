"""Rounds and provinces as Dagster partitions.

A round is a month, keyed ``YYYY-MM`` (Gregorian; TST began in October 2020). The row-level
assets are worked per province of a round (issue #16): keys like ``47|2020-10`` (Dagster orders a
multi-partition key by dimension name), with ``00`` for the rows and files no province can be
told for (``pipelines.ingest.provinces``). The national assets depend on every province of their
round through :data:`EVERY_PROVINCE`.
"""

import warnings

import dagster as dg

from pipelines.ingest.provinces import UNPLACED
from registry import provinces as registry_provinces

rounds = dg.MonthlyPartitionsDefinition(start_date="2020-10", fmt="%Y-%m", end_offset=1, timezone="Asia/Bangkok")
provinces = dg.StaticPartitionsDefinition([UNPLACED, *sorted(registry_provinces()["province_code"].astype(str))])
province_rounds = dg.MultiPartitionsDefinition({"round": rounds, "province": provinces})

#: province × round -> round, and back: a round's asset reads every province of the round
with warnings.catch_warnings():  # beta in Dagster 1.13, and the one mapping that says "every province"
    warnings.simplefilter("ignore", dg.BetaWarning)
    EVERY_PROVINCE = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="round")


def province_key(round_key: str, province: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"round": round_key, "province": province})


def partition_keys(key: str) -> dict[str, str]:
    """``{"round": ...}`` of a round's key, ``{"round": ..., "province": ...}`` of a province's."""
    return province_rounds.get_partition_key_from_str(key).keys_by_dimension if "|" in key else {"round": key}
