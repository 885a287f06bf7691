"""Runnable examples: ``python -m arrayforge.examples.<name>``."""
