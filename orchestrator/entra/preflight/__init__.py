"""Preflight: will every user who may sign in to Sekoia.io through SSO actually get in? (fetch.py, pagecheck.py)

This package imports nothing: `python -m orchestrator.entra.preflight.pagecheck` (the child)
loads only what pagecheck.py needs.
"""
