"""The commands of `sekoia-sso`, grouped by what they touch; orchestrator/cli.py puts them in one group.

- options: what commands share (project, environments, --json/--yes/--wait/-q, the console)
- files: render, check, list (the committed files only)
- terraform: plan, output
- entra: preflight
- lifecycle: connect, apply, status, rotate, destroy
- init: init (a team's own repository, from the shipped files)
"""
