"""Sekoia.io: the API, the OIDC settings a community should hold, and connecting an environment to it.

    routes.py     the route table: every path, method and permission (served as it is by sandbox/sekoia/)
    client.py     the httpx client: pacing, retries, errors, secrets masked out of messages
    settings.py   the OIDC settings: their fields, the body sent, the wanted values (SekoiaTarget), the diff
    plan.py       what connect would change, from reads only: preconditions, domains, OIDC, which secret
    connect.py    connecting an environment: register domains, wait for their verification, write OIDC
    manual.py     the steps to do in Sekoia.io's UI when the API offers no route
    ownership.py  one environment owns one community: who holds a community's SSO

Nothing is imported here: `sekoia-sso --help` must not load httpx (import the modules themselves).
"""
