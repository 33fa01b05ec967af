"""The intake server: landing-page forms post leads here (ASGI, Starlette on uvicorn).

The rules live in :mod:`crm_tui.services.intake`; this package parses HTTP and answers it.
"""
