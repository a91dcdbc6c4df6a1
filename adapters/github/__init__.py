"""Checks GitHub evidence links through GitHub's REST API."""
