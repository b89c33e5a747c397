"""Emulators of Microsoft Graph, of the azuread Terraform provider and of the Sekoia.io API, on 127.0.0.1."""
