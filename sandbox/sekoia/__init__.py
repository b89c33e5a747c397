"""The emulated Sekoia.io API (nothing is imported here; import the module you need).

emulator.py  SekoiaEmulator: knobs, lifecycle, admin calls, fault knobs, request log, request pipeline
waf.py       the rate limiter in front of everything
faults.py    queued one-shot faults, then random and periodic 5xx, 429 and connection resets
routes.py    route matching over orchestrator.sekoia.routes.ROUTES (the client's table too)
access.py    the API key, its community's reach and the route's permission
handlers.py  one handler per route
state.py     communities, roles, API keys, domains and SSO configurations; the demo data's constants
replies.py   Reply and the API's error shapes
oidc.py      Sekoia.io's side of an SSO login: the authorization-code flow and the ID token's checks
"""
