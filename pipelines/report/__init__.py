"""Human-readable reports of a round (the quality page); the machine-readable run report is in ``stages``."""

from pipelines.report.quality_page import render_quality_page, write_quality_page

__all__ = ["render_quality_page", "write_quality_page"]
