"""What users run on one environment, each workflow as named phases or checks.

- apply.py: `apply`, as phases: plan (reads beside it), combined plan, confirm, Terraform apply, Sekoia.io.
- status.py: `status`, as named checks over one plan (STATUS_CHECKS: what status checks).
- rotate.py: `rotate`, the zero-downtime rotation of the client secret.
- destroy.py: `destroy`, SSO disabled first, then Terraform destroy.
- client_secret.py: the client secret's whole life: the slots and records (ledger), what a plan does
  to the held secret, the hand-over to Sekoia.io.
- fleet.py: `list`, the environments of a repository side by side, from the files alone.
- scaffold.py: `init`, a team's own repository from the shipped files: never overwrites, staged then renamed.
- common.py: what they share: the environment lock, polling, confirmation, the one push to Sekoia.io.

Nothing is imported here.
"""
