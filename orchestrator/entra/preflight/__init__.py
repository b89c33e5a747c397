"""Preflight: will every user who may sign in to Sekoia.io through SSO actually get in?

Who may sign in (`access` of the environment): the users listed, and the DIRECT members of the
groups listed. Entra ID gives nothing to members of nested groups, so users reachable only
through a nested group are reported apart, as "will be refused". When assignment is not
required anyone in the tenant may sign in: the report says so and checks the listed groups
and users anyway (nesting then refuses nobody).

Each user must have a complete profile and an enabled account: rules.py says what that is.

    check.py      one run: run_preflight (Graph from the environment), check_access (over a client)
    fetch.py      the reads of Graph: resolving `access` in one $batch, the groups' members page by page
    pagecheck.py  the pages checked as they arrive, in a child process on another core (or here)
    rules.py      what a complete profile is, and the words for each problem
    report.py     the report, its exit code (ProblemUsersError) and its forms: table, JSON, CSV

Memory stays bounded: pages are checked as they arrive and dropped; what is kept is the set of
user IDs already seen (users in two groups count once), the findings and the counts.

This package imports nothing: `python -m orchestrator.entra.preflight.pagecheck` (the child)
loads only what pagecheck.py needs.
"""
