"""Emulators of Microsoft Graph, of the azuread Terraform provider and of the Sekoia.io API, on 127.0.0.1.

Nothing is imported here; import the module you need:
server.py     the HTTP server both emulators run on (threads, keep-alive, connection resets, start/stop)
graph/        the Microsoft Graph v1.0 and Entra login emulator (see graph/__init__.py)
sekoia/       the Sekoia.io API emulator (see sekoia/__init__.py)
provider/     the emulated hashicorp/azuread 3.7.0 Terraform provider (see provider/__init__.py)
mirror.py     the filesystem mirror and launcher through which Terraform finds the emulated provider
up.py         the whole sandbox at once: start_sandbox(), endpoints.json, `python -m sandbox up`
__main__.py   `python -m sandbox up [--dir DIR]`
fixtures/     tenant.json, the default tenant of the Graph emulator
"""
