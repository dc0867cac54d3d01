"""Sample raw files for the pipeline, generated as field offices really send them."""

from samples.village_profile import FAULT_KINDS, SampleTruth, generate, truth_path

__all__ = ["FAULT_KINDS", "SampleTruth", "generate", "truth_path"]
