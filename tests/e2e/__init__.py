"""The CLI as users run it, as processes, on a copy of the project, against the sandbox: whole
flows, faults, interruptions, hostile input, read-only checkouts, the secret's life."""
