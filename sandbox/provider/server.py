"""The provider process: the `tf` framework's gRPC servicer with SDKv2 semantics, and its handshake.

Terraform starts the provider (through the mirror's wrapper script) with go-plugin's magic cookie
and a client certificate in the environment, and reads ONE line from its stdout:
`1|6|unix|<socket>|grpc|<server certificate, base64 DER>`. Nothing else may reach stdout first.

The `tf` framework (PyPI `tf` 1.2.0) provides the servicer this module extends; what is overridden
and why:
- PlanResourceChange / ApplyResourceChange: SDKv2 plan semantics (defaults, zero values, force-new,
  computed attributes, diff-suppressed blocks: see planning.py) and the `legacy_type_system` flag
  the real provider answers with;
- ReadResource / ImportResourceState / ReadDataSource: state shaped to the full schema;
- every RPC: a Python exception becomes an error diagnostic naming the operation, not
  "Plugin error" with a traceback.
Its run_provider() is not used: it imports `cryptography` on every start to check its cached
certificate, and each Terraform command starts the provider 3-5 times. This module caches the
certificate with its expiry so a start needs no `cryptography`.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import signal
import sys
import tempfile
import time
import traceback
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from tf.gen import grpc_controller_pb2 as controller_pb
from tf.gen import grpc_controller_pb2_grpc as controller_rpc
from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc
from tf.gen import tfplugin_pb2 as pb
from tf.gen import tfplugin_pb2_grpc as rpc
from tf.iface import CreateContext, DeleteContext, ImportContext, ReadContext, ReadDataContext, UpdateContext
from tf.provider import ProviderServicer
from tf.utils import Diagnostics, _to_attribute_path, read_dynamic_value, to_dynamic_value

from sandbox.provider.errors import ProviderError
from sandbox.provider.planning import finalize_state, plan

log = logging.getLogger("sandbox.provider")

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
CERT_CACHE_FILE = "sekoia-sso-azuread-provider-cert.json"
CERT_LIFETIME_DAYS = 7


def _guarded(response_type: Any):
    """Turn any exception of an RPC into an error diagnostic of its response."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, request, context):
            try:
                return method(self, request, context)
            except ProviderError as exc:
                diags = Diagnostics()
                exc.add_to(diags)
                return response_type(diagnostics=diags.to_pb())
            except Exception as exc:  # noqa: BLE001 - every failure must reach Terraform as a diagnostic
                log.error("%s failed:\n%s", method.__name__, traceback.format_exc())
                diags = Diagnostics().add_error(
                    f"Emulated azuread provider: {method.__name__} failed",
                    f"{type(exc).__name__}: {exc}",
                )
                return response_type(diagnostics=diags.to_pb())

        return wrapper

    return decorate


def _call(diags: Diagnostics, func, *args: Any) -> Any:
    """Run one resource operation, reporting its failure on `diags`."""
    try:
        return func(*args)
    except ProviderError as exc:
        exc.add_to(diags)
    except Exception as exc:  # noqa: BLE001
        log.error("%s failed:\n%s", getattr(func, "__qualname__", func), traceback.format_exc())
        diags.add_error("Emulated azuread provider: unexpected error", f"{type(exc).__name__}: {exc}")
    return None


class Servicer(ProviderServicer):
    """`tf`'s ProviderServicer with the behaviour of a terraform-plugin-sdk v2 provider."""

    # ---------------------------------------------------------------- guarded framework RPCs

    GetProviderSchema = _guarded(pb.GetProviderSchema.Response)(ProviderServicer.GetProviderSchema)
    ValidateProviderConfig = _guarded(pb.ValidateProviderConfig.Response)(ProviderServicer.ValidateProviderConfig)
    ValidateResourceConfig = _guarded(pb.ValidateResourceConfig.Response)(ProviderServicer.ValidateResourceConfig)
    ValidateDataResourceConfig = _guarded(pb.ValidateDataResourceConfig.Response)(
        ProviderServicer.ValidateDataResourceConfig
    )
    ConfigureProvider = _guarded(pb.ConfigureProvider.Response)(ProviderServicer.ConfigureProvider)

    @_guarded(pb.GetMetadata.Response)
    def GetMetadata(self, request, context):
        return pb.GetMetadata.Response(
            server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True),
            resources=[pb.GetMetadata.ResourceMetadata(type_name=name) for name in self._load_res_cls_map()],
            data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=name) for name in self._load_ds_cls_map()],
        )

    @_guarded(pb.UpgradeResourceState.Response)
    def UpgradeResourceState(self, request, context):
        # State is written at the schema versions of the real provider: nothing to migrate, but the
        # stored JSON is shaped to the schema (a state written by another version may lack keys).
        klass = self._get_res_cls(request.type_name)
        state = json.loads(request.raw_state.json) if request.raw_state.json else None
        if state is None:
            return pb.UpgradeResourceState.Response(upgraded_state=to_dynamic_value(None))
        return pb.UpgradeResourceState.Response(upgraded_state=to_dynamic_value(klass.spec().conform(state)))

    # ---------------------------------------------------------------- resources

    @_guarded(pb.ReadResource.Response)
    def ReadResource(self, request, context):
        klass = self._get_res_cls(request.type_name)
        diags = Diagnostics()
        new_state = _call(diags, self.app.new_resource(klass).read, ReadContext(diags, request.type_name),
                          read_dynamic_value(request.current_state))
        if diags.has_errors():
            # An error keeps the prior state: nothing is dropped because Graph hiccuped.
            return pb.ReadResource.Response(new_state=request.current_state, diagnostics=diags.to_pb(),
                                            private=request.private)
        encoded = finalize_state(klass.spec(), new_state) if new_state is not None else None
        return pb.ReadResource.Response(new_state=to_dynamic_value(encoded), diagnostics=diags.to_pb(),
                                        private=request.private)

    def _change(self, request, new_state) -> tuple[Any, Any, Any, Any, Diagnostics]:
        """What PlanResourceChange and ApplyResourceChange start from: the resource class, its spec, the
        prior state, the new one (proposed or planned) and the diagnostics to answer with."""
        klass = self._get_res_cls(request.type_name)
        return (klass, klass.spec(), read_dynamic_value(request.prior_state), read_dynamic_value(new_state),
                Diagnostics())

    @_guarded(pb.PlanResourceChange.Response)
    def PlanResourceChange(self, request, context):
        klass, spec, prior, proposed, diags = self._change(request, request.proposed_new_state)
        if proposed is None:  # destroy
            return pb.PlanResourceChange.Response(planned_state=to_dynamic_value(None), legacy_type_system=True)
        planned, replace = plan(spec, prior, proposed)
        instance = self.app.new_resource(klass)
        planned = _call(diags, instance.customize_plan, diags, prior, planned) or planned
        return pb.PlanResourceChange.Response(
            planned_state=to_dynamic_value(spec.conform(planned)),
            requires_replace=[_to_attribute_path([name]) for name in replace],
            planned_private=request.prior_private,
            diagnostics=diags.to_pb(),
            legacy_type_system=True,
        )

    @_guarded(pb.ApplyResourceChange.Response)
    def ApplyResourceChange(self, request, context):
        klass, spec, prior, planned, diags = self._change(request, request.planned_state)
        new_state = _apply(diags, self.app.new_resource(klass), request.type_name, prior, planned)
        encoded = finalize_state(spec, new_state) if new_state is not None else None
        return pb.ApplyResourceChange.Response(
            new_state=to_dynamic_value(encoded),
            private=request.planned_private,
            diagnostics=diags.to_pb(),
            legacy_type_system=True,
        )

    @_guarded(pb.ImportResourceState.Response)
    def ImportResourceState(self, request, context):
        type_name = request.type_name
        klass = self._get_res_cls(type_name)
        diags = Diagnostics()
        if not klass.importable:
            diags.add_error(f"resource {type_name} doesn't support import", "")
            return pb.ImportResourceState.Response(diagnostics=diags.to_pb())
        instance = self.app.new_resource(klass)
        state = _call(diags, instance.import_, ImportContext(diags, type_name), request.id)
        imported = []
        if state is not None and not diags.has_errors():
            imported.append(pb.ImportResourceState.ImportedResource(
                type_name=type_name, state=to_dynamic_value(finalize_state(klass.spec(), state))))
        return pb.ImportResourceState.Response(imported_resources=imported, diagnostics=diags.to_pb())

    @_guarded(pb.ReadDataSource.Response)
    def ReadDataSource(self, request, context):
        klass = self._get_ds_cls(request.type_name)
        config = read_dynamic_value(request.config)
        diags = Diagnostics()
        state = _call(diags, self.app.new_data_source(klass).read, ReadDataContext(diags, request.type_name), config)
        if state is None or diags.has_errors():
            return pb.ReadDataSource.Response(diagnostics=diags.to_pb())
        return pb.ReadDataSource.Response(
            state=to_dynamic_value(finalize_state(klass.spec(), {**config, **state})), diagnostics=diags.to_pb()
        )

    @_guarded(pb.MoveResourceState.Response)
    def MoveResourceState(self, request, context):
        diags = Diagnostics().add_error("Move Resource State Not Supported",
                                        "The resource type does not support moving state from another type.")
        return pb.MoveResourceState.Response(diagnostics=diags.to_pb())


def _apply(diags: Diagnostics, instance: Any, type_name: str, prior: Any, planned: Any) -> Any:
    """SDKv2's apply: create, delete or update as the states say; the state to answer with (None: gone)."""
    if prior is None:
        new_state = _call(diags, instance.create, CreateContext(diags, type_name), planned)
        if new_state is None and diags.has_errors() and instance.created_state is not None:
            # Created in Graph, then a later step failed: keep it in state (Terraform taints it),
            # as SDKv2 does when a create fails after d.SetId(). A create whose final read found nothing
            # (no error) answers null, as SDKv2 does after d.SetId(""): Terraform reports it.
            new_state = {**planned, **instance.created_state}
        return new_state
    if planned is None:
        _call(diags, instance.delete, DeleteContext(diags, type_name), prior)
        return prior if diags.has_errors() else None
    new_state = _call(diags, instance.update, UpdateContext(diags, type_name), prior, planned)
    return prior if new_state is None else new_state


# ------------------------------------------------------------------------------------------------
# Process
# ------------------------------------------------------------------------------------------------


def _certificate() -> tuple[bytes, bytes, bytes]:
    """(key PEM, certificate PEM, certificate DER), cached under $HOME/.cache for a week."""
    cache_dir = Path.home() / ".cache"
    cache = cache_dir / CERT_CACHE_FILE
    try:
        cached = json.loads(cache.read_text())
        if cached["expires"] > time.time() + 3600:
            return cached["key"].encode(), cached["cert"].encode(), base64.b64decode(cached["der"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    key_pem, cert_pem, der, expires = _new_certificate()
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".cert-")
    with os.fdopen(fd, "w") as handle:
        json.dump({"key": key_pem.decode(), "cert": cert_pem.decode(), "der": base64.b64encode(der).decode(),
                   "expires": expires}, handle)
    os.replace(tmp, cache)  # atomic: several provider processes may start at once
    return key_pem, cert_pem, der


def _new_certificate() -> tuple[bytes, bytes, bytes, float]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    expires = now + timedelta(days=CERT_LIFETIME_DAYS)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(expires)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=True, key_cert_sign=True, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return (key_pem, certificate.public_bytes(serialization.Encoding.PEM),
            certificate.public_bytes(serialization.Encoding.DER), expires.timestamp())


class _Controller(controller_rpc.GRPCControllerServicer):
    def __init__(self) -> None:
        self.stopped = False

    def Shutdown(self, request, context):
        self.stopped = True
        return controller_pb.Empty()


class _Stdio(stdio_rpc.GRPCStdioServicer):
    def StreamStdio(self, request, context):
        return iter(())


class _StopInterceptor(grpc.ServerInterceptor):
    """Mark the server for shutdown once StopProvider or go-plugin's Shutdown was answered."""

    def __init__(self, controller: _Controller) -> None:
        self.controller = controller

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method in ("/tfplugin6.Provider/StopProvider", "/plugin.GRPCController/Shutdown"):
            self.controller.stopped = True
        return continuation(handler_call_details)


def serve(provider: Any) -> int:
    """Serve `provider` to the Terraform process that started us; return the exit status."""
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        print(
            "This binary is a plugin. These are not meant to be executed directly.\n"
            "Please execute the program that consumes these plugins, which will load any plugins automatically",
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("AZUREAD_SANDBOX_LOG_LEVEL", "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")
    controller = _Controller()
    # go-plugin servers ignore interrupts: Terraform stops its providers over gRPC. A SIGTERM ends the
    # serve loop, so the socket's temporary directory is still removed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: setattr(controller, "stopped", True))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10), interceptors=[_StopInterceptor(controller)])
    rpc.add_ProviderServicer_to_server(Servicer(provider), server)
    controller_rpc.add_GRPCControllerServicer_to_server(controller, server)
    stdio_rpc.add_GRPCStdioServicer_to_server(_Stdio(), server)

    key_pem, cert_pem, der = _certificate()
    credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)], require_client_auth=False)
    with tempfile.TemporaryDirectory(prefix="tf-azuread-") as tmp:
        socket_path = os.path.join(tmp, "plugin.sock")
        server.add_secure_port(f"unix://{socket_path}", credentials)
        server.start()
        handshake = "|".join(["1", "6", "unix", socket_path, "grpc", base64.b64encode(der).decode().rstrip("=")])
        sys.stdout.write(handshake + "\n")
        sys.stdout.flush()
        # A Terraform killed outright (SIGKILL) never stops its providers: once it is gone (this process
        # handed to another parent), nobody will, so the plugin ends itself rather than linger.
        terraform = os.getppid()
        while not controller.stopped and os.getppid() == terraform:
            server.wait_for_termination(0.05)
        server.stop(grace=0.2)
    return 0

