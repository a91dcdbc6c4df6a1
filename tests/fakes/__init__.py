"""Fakes at the platform boundary."""
