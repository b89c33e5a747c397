"""Terraform, driven from Python: everything that runs it or reads what it says.

- binary.py: finding Terraform or OpenTofu and checking its version (the probe is cached).
- argv.py: command lines and TF_VAR_* environments, pure functions (python-terraform's flag syntax).
- process.py: one supervised process: pipes drained, lines streamed, SIGINT then SIGKILL on time.
- diagnostics.py: Terraform's `Error:` blocks as paragraphs, the state lock's holder.
- transient.py: the failures known to be Entra ID's replication lag, and apply's retry policy (pure).
- runner.py: `TerraformRunner`, the one way a command runs (init, plan, apply, outputs, ...).
- planview.py: a plan's JSON read into a summary: what changes, what drifted, what is sensitive.
- markdown.py: the plan's JSON document (`plan --json`) as Markdown, for a CI job summary.
- workspace.py: an environment's root, data dir, lock, init and the early plan.

Nothing is imported here: `sekoia-sso --help` must not load python-terraform.
"""
