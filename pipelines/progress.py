"""One-line progress for people at a terminal (the CLI turns it on); Dagster's log gets it too."""

from __future__ import annotations

import os
import sys

import dagster as dg


def say(
    context: dg.AssetExecutionContext | dg.OpExecutionContext | dg.InitResourceContext,
    message: str,
    level: str = "info",
) -> None:
    getattr(context.log, level)(message)
    if os.environ.get("TAMBON_PROGRESS") == "1":
        print(f"  • {message}", file=sys.stderr, flush=True)
