"""What users run on one environment, each workflow as named phases or checks.

- apply.py: `apply`, as phases: plan (reads beside it), combined plan, confirm, Terraform apply, Sekoia.io.
- status.py: `status`, as named checks over one plan (STATUS_CHECKS: what status checks).
- rotate.py: `rotate`, the zero-downtime rotation of the client secret.
- destroy.py: `destroy`, SSO disabled first, then Terraform destroy.
- client_secret.py: the client secret's whole life: the slots and records (ledger), what a plan does
  to the held secret, the hand-over to Sekoia.io.
- plan.py: `plan`, one environment's plan and what apply does to its secret, as one document.
- fleet.py: `list`, the environments side by side from the files alone; `status --all` and `plan --all`,
  every environment a few at a time in one process, one row each, the worst exit code.
- scaffold.py: `init`, a team's own repository from the shipped files: never overwrites, staged then renamed.
- common.py: what they share: the environment lock, polling, confirmation, the one push to Sekoia.io.

Nothing is imported here.
"""
