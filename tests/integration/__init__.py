"""One part against the real thing it talks to: a client against its emulator over HTTP, the runner
and the provider with real Terraform, the preflight against the Graph emulator."""
