"""`python -m sandbox.provider`: the provider process Terraform starts (through the mirror's wrapper)."""

import sys

from sandbox.provider.provider import AzureADProvider
from sandbox.provider.server import serve

if __name__ == "__main__":
    sys.exit(serve(AzureADProvider()))
