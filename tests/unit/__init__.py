"""Pure code: no server, no Terraform run, no process; `make test-fast` runs these in seconds."""
