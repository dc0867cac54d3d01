"""Validation: Frictionless Table Schema checks plus the declared rules."""
