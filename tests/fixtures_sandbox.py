"""Fixtures: see conftest."""
