"""Local TLS servers on 127.0.0.1 with deliberately bad configurations, for the TLS checks' tests and bench.

Python's ssl module (the machine's OpenSSL 3) really negotiates each weakness: Debian's OpenSSL 3 loads a
SHA-1 or RSA-1024 certificate, TLS 1.0/1.1 and NULL/anonymous suites only at `@SECLEVEL=0`. Each server
is "good" (TLS 1.2+, ECDHE+AEAD, an RSA-3072 certificate signed sha256WithRSAEncryption by the test CA,
naming localhost, HSTS one year) except for the one property its name says. Certificates are made with
the `cryptography` package into a temporary directory.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

SERVER_NAME = "localhost"
GOOD_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
ONE_YEAR = 31536000


@dataclass(frozen=True)
class Intermediate:
    """An intermediate CA between the test CA and the leaf."""
    key_bits: int = 3072
    signature_hash: str = "sha256"  # sha256 | sha1
    expired: bool = False
    sent: bool = True  # the server sends it after the leaf


@dataclass(frozen=True)
class ServerSpec:
    name: str
    key: str = "rsa3072"  # rsa3072 | rsa2048 | rsa4096 | rsa1024 | ecdsa
    signature_hash: str = "sha256"  # sha256 | sha1
    issuer: str = "ca"  # ca | self | other_ca (a root not in the bundle, sent by the server)
    intermediate: Intermediate | None = None
    expired: bool = False
    not_yet_valid: bool = False
    expires_in_days: int = 365
    san: str = "good"  # good | none (CN only) | wrong
    eku: str = "serverAuth"  # serverAuth | clientAuth
    leaf_is_ca: bool = False
    ciphers: str = GOOD_CIPHERS
    dh_bits: int | None = None  # finite-field DH parameters for DHE suites
    ecdh_curve: str | None = None  # the only ECDH group
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
    hsts: bool = True
    hsts_max_age: int = ONE_YEAR
    expected: frozenset[str] = field(default_factory=frozenset)  # the checks that must fail, no others
    says: str = ""  # what the failing findings' messages must name
    params: tuple[tuple[str, str, object], ...] = ()  # (control, parameter, value) overrides of the defaults


# Each bad server and the one check that must flag it.
BAD_SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec("tls10", min_version=ssl.TLSVersion.TLSv1, max_version=ssl.TLSVersion.TLSv1,
               ciphers="ECDHE+AES:@SECLEVEL=0", expected=frozenset({"tls_no_legacy_protocols"})),
    # TLS 1.0/1.1 have no AEAD suite: these servers offer only the old version, so that the CBC-SHA1 suites
    # it needs do not also reach TLS 1.2 (OpenSSL's cipher list is one for every version up to 1.2).
    ServerSpec("tls11", min_version=ssl.TLSVersion.TLSv1_1, max_version=ssl.TLSVersion.TLSv1_1,
               ciphers="ECDHE+AES:@SECLEVEL=0",
               expected=frozenset({"tls_no_legacy_protocols"})),
    ServerSpec("null_suites", ciphers=f"{GOOD_CIPHERS}:ECDHE-RSA-NULL-SHA:NULL-SHA256:@SECLEVEL=0",
               expected=frozenset({"tls_no_weak_cipher_suites"})),
    ServerSpec("anon_suites", ciphers=f"{GOOD_CIPHERS}:AECDH-AES128-SHA:ADH-AES128-GCM-SHA256:@SECLEVEL=0",
               expected=frozenset({"tls_no_weak_cipher_suites"})),
    # A strict client (cryptography's verifier, as browsers) refuses a SHA-1 signature: no path either.
    ServerSpec("sha1_signed", signature_hash="sha1", ciphers=f"{GOOD_CIPHERS}:@SECLEVEL=0",
               expected=frozenset({"tls_signature_sha256_rsa", "tls_chain_trusted"})),
    ServerSpec("rsa1024", key="rsa1024", ciphers=f"{GOOD_CIPHERS}:@SECLEVEL=0",
               expected=frozenset({"tls_leaf_key_rsa"})),
    ServerSpec("ecdsa", key="ecdsa", expected=frozenset({"tls_leaf_key_rsa"})),
    ServerSpec("expired", expired=True, expected=frozenset({"tls_certificate_not_expiring"})),
    ServerSpec("self_signed", issuer="self", expected=frozenset({"tls_chain_trusted"})),
    ServerSpec("no_hsts", hsts=False, expected=frozenset({"tls_hsts"})),
)
GOOD_SERVER = ServerSpec("good")

# Round 2 (issue 15): flaws a strict client sees along the path, in the names and in the key exchange. Each
# FAILs exactly `expected`, with `says` in the message; a strict client refusing the path is a second FAIL
# of tls_chain_trusted where it is the same defect seen by the validator.
SHA1_OK = f"{GOOD_CIPHERS}:@SECLEVEL=0"
CORPUS_FLAWS: tuple[ServerSpec, ...] = (
    ServerSpec("untrusted_root", issuer="other_ca", expected=frozenset({"tls_chain_trusted"}),
               says="candidates exhausted"),
    ServerSpec("missing_intermediate", intermediate=Intermediate(sent=False),
               expected=frozenset({"tls_chain_trusted"}), says="candidates exhausted"),
    ServerSpec("expired_intermediate", intermediate=Intermediate(expired=True),
               expected=frozenset({"tls_certificate_not_expiring"}), says="intermediate CN=Stockade test "
               "intermediate expired_intermediate expired on"),
    ServerSpec("not_yet_valid", not_yet_valid=True, expected=frozenset({"tls_certificate_not_expiring"}),
               says="is not valid before"),
    ServerSpec("expiring_soon", expires_in_days=10, expected=frozenset({"tls_certificate_not_expiring"}),
               says="within 30 days"),
    ServerSpec("cn_only", san="none", expected=frozenset({"tls_hostname_matches", "tls_chain_trusted"}),
               says="no subjectAltName"),
    ServerSpec("wrong_san", san="wrong", expected=frozenset({"tls_hostname_matches"}),
               says="no matching subjectAltName"),
    ServerSpec("client_auth_eku", eku="clientAuth", expected=frozenset({"tls_chain_trusted"}),
               says="required EKU not found"),
    ServerSpec("ca_leaf", leaf_is_ca=True, expected=frozenset({"tls_chain_trusted"}),
               says="basicConstraints.cA must not be asserted"),
    ServerSpec("rsa1024_intermediate", intermediate=Intermediate(key_bits=1024), ciphers=SHA1_OK,
               expected=frozenset({"tls_leaf_key_rsa", "tls_chain_trusted"}),
               says="intermediate CN=Stockade test intermediate rsa1024_intermediate key is RSA 1024 bits"),
    ServerSpec("rsa2048_under_3072", key="rsa2048", params=(("TLS-01", "min_rsa_bits", 3072),),
               expected=frozenset({"tls_leaf_key_rsa"}), says="key is RSA 2048 bits, below 3072"),
    ServerSpec("sha1_intermediate", intermediate=Intermediate(signature_hash="sha1"), ciphers=SHA1_OK,
               expected=frozenset({"tls_signature_sha256_rsa", "tls_chain_trusted"}),
               says="intermediate CN=Stockade test intermediate sha1_intermediate is signed with "
               "sha1WithRSAEncryption"),
    ServerSpec("rsa_kex_only", ciphers="AES128-GCM-SHA256:AES256-GCM-SHA384",
               expected=frozenset({"tls_forward_secret_key_exchange"}), says="RSA key exchange, not forward-secret"),
    ServerSpec("dhe_1024", ciphers="DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", dh_bits=1024,
               expected=frozenset({"tls_forward_secret_key_exchange"}), says="DHE group of 1024 bits, below 2048"),
    # Curves outside the default allow-list (NIST SP 800-52r2's) are not even offered by sslyze's client, so
    # a server limited to one cannot be scanned: the flaw is P-521 under Mozilla intermediate's stricter list.
    ServerSpec("disallowed_curve", ecdh_curve="secp521r1",
               params=(("TLS-04", "allowed_curves", ["X25519", "prime256v1", "secp384r1"]),),
               expected=frozenset({"tls_forward_secret_key_exchange"}), says="secp521r1 is not in allowed_curves"),
    ServerSpec("cbc_sha1_tls12", ciphers=f"{GOOD_CIPHERS}:ECDHE-RSA-AES128-SHA",
               expected=frozenset({"tls_no_weak_cipher_suites"}), says="CBC with SHA-1"),
    ServerSpec("short_hsts", hsts_max_age=86400, expected=frozenset({"tls_hsts"}), says="max-age=86400"),
)
# Correct servers: no FAIL, no ERROR.
GOOD_SERVERS: tuple[ServerSpec, ...] = (
    GOOD_SERVER,
    ServerSpec("good_rsa2048", key="rsa2048"),
    ServerSpec("good_rsa4096", key="rsa4096"),
    ServerSpec("good_with_intermediate", intermediate=Intermediate()),
    ServerSpec("good_tls13_only", min_version=ssl.TLSVersion.TLSv1_3),
    ServerSpec("good_dhe_2048", ciphers=f"{GOOD_CIPHERS}:DHE-RSA-AES128-GCM-SHA256", dh_bits=2048),
)


@dataclass(frozen=True)
class RunningServer:
    spec: ServerSpec
    port: int
    address: str = "127.0.0.1"


class TestCA:
    """A throwaway CA (RSA 3072, SHA-256) and the certificates of the specs (intermediates, leaves)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key, self.cert = self._root("Stockade test CA")
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._other: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = None
        self._keys: dict[tuple[str, int], rsa.RSAPrivateKey] = {}

    def rsa_key(self, role: str, bits: int) -> rsa.RSAPrivateKey:
        """One key per role and size, shared by the specs (a test corpus, not a PKI: saves seconds)."""
        if (role, bits) not in self._keys:
            self._keys[role, bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        return self._keys[role, bits]

    @staticmethod
    def _root(common_name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1000)).not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(_key_usage(ca=True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return key, cert

    def _sign(self, builder: x509.CertificateBuilder, key: PrivateKey, signer_key: PrivateKey,
              signer: x509.Certificate | None, signature_hash: str, name: str) -> x509.Certificate:
        if signature_hash != "sha1":
            return builder.sign(signer_key, hashes.SHA256())
        # cryptography refuses to sign with SHA-1: a request with the same subject and extensions, signed
        # with SHA-1 by the issuer's key with the openssl command (valid from now, for `days`).
        assert signer is not None, "a SHA-1 self-signed certificate is not needed"
        draft = builder.sign(signer_key, hashes.SHA256())
        request = x509.CertificateSigningRequestBuilder().subject_name(draft.subject)
        for extension in draft.extensions:
            if not isinstance(extension.value, x509.AuthorityKeyIdentifier):
                request = request.add_extension(extension.value, critical=extension.critical)
        request_path = self.directory / f"{name}.csr"
        request_path.write_bytes(request.sign(key, hashes.SHA256()).public_bytes(
            serialization.Encoding.PEM))
        signer_key_path, signer_path = self.directory / f"{name}.signer.key", self.directory / f"{name}.signer.pem"
        signer_key_path.write_bytes(signer_key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
        signer_key_path.chmod(0o600)
        signer_path.write_bytes(signer.public_bytes(serialization.Encoding.PEM))
        days = (draft.not_valid_after_utc - dt.datetime.now(dt.UTC)).days
        signed = subprocess.run(["openssl", "x509", "-req", "-in", str(request_path), "-CA", str(signer_path),
                                 "-CAkey", str(signer_key_path), "-sha1", "-copy_extensions", "copy",
                                 "-days", str(days), "-set_serial", str(draft.serial_number)],
                                capture_output=True, check=True)
        return x509.load_pem_x509_certificate(signed.stdout)

    def _intermediate(self, spec: ServerSpec, layer: Intermediate) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = self.rsa_key("intermediate", layer.key_bits)
        now = dt.datetime.now(dt.UTC)
        not_before, not_after = ((now - dt.timedelta(days=400), now - dt.timedelta(days=10)) if layer.expired
                                 else (now - dt.timedelta(days=400), now + dt.timedelta(days=1000)))
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Stockade test intermediate {spec.name}")])
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(_key_usage(ca=True), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                  critical=False))
        return key, self._sign(builder, key, self.key, self.cert, layer.signature_hash, f"{spec.name}-int")

    def leaf(self, spec: ServerSpec) -> tuple[Path, Path]:
        """The spec's certificate file (leaf, then what the server sends after it) and key file."""
        key: PrivateKey
        if spec.key == "ecdsa":
            key = ec.generate_private_key(ec.SECP256R1())
        else:
            key = self.rsa_key("leaf", int(spec.key.removeprefix("rsa")))
        now = dt.datetime.now(dt.UTC)
        if spec.expired:
            not_before, not_after = now - dt.timedelta(days=400), now - dt.timedelta(days=10)
        elif spec.not_yet_valid:
            not_before, not_after = now + dt.timedelta(days=10), now + dt.timedelta(days=365)
        else:
            not_before, not_after = now - dt.timedelta(days=200), now + dt.timedelta(days=spec.expires_in_days)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
        sent: list[x509.Certificate] = []
        signer: x509.Certificate | None
        if spec.issuer == "self":
            signer_key, signer = key, None
        elif spec.issuer == "other_ca":
            if self._other is None:
                self._other = self._root("Stockade unknown CA")
            signer_key, signer = self._other
            sent.append(signer)
        elif spec.intermediate is not None:
            signer_key, signer = self._intermediate(spec, spec.intermediate)
            if spec.intermediate.sent:
                sent.append(signer)
        else:
            signer_key, signer = self.key, self.cert
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(subject if signer is None else signer.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       signer_key.public_key()), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([
                       x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if spec.eku == "clientAuth"
                       else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        if spec.san != "none":
            names: list[x509.GeneralName] = (
                [x509.DNSName("elsewhere.example.org")] if spec.san == "wrong"
                else [x509.DNSName(SERVER_NAME), x509.IPAddress(ip_address("127.0.0.1"))])
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        if spec.leaf_is_ca:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        cert = self._sign(builder, key, signer_key, signer, spec.signature_hash, spec.name)
        cert_path, key_path = self.directory / f"{spec.name}.crt", self.directory / f"{spec.name}.key"
        cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *sent)))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return cert_path, key_path

    def dh_params(self, bits: int) -> Path:
        """Finite-field DH parameters: RFC 7919 ffdhe2048 (or larger), RFC 5114's 1024-bit group below."""
        path = self.directory / f"dh{bits}.pem"
        if not path.exists():
            option = "dh_rfc5114:1" if bits == 1024 else f"group:ffdhe{bits}"
            path.write_bytes(subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt",
                                             option], capture_output=True, check=True).stdout)
        return path


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=not ca,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _handler(hsts: bool, max_age: int = ONE_YEAR) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = b"ok\n"
            self.send_response(200)
            if hsts:
                self.send_header("Strict-Transport-Security", f"max-age={max_age}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # Python's default backlog of 5 drops a scanner's burst of connections (each drop costs a 1 s SYN
    # retry); nginx listens with 511.
    request_queue_size = 128

    def __init__(self, context: ssl.SSLContext, hsts: bool, max_age: int = ONE_YEAR) -> None:
        super().__init__(("127.0.0.1", 0), _handler(hsts, max_age))
        self.context = context

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request, client_address):  # type: ignore[no-untyped-def]
        request.do_handshake()  # in the request's own thread: a slow client never blocks the others
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        return  # scanners break handshakes on purpose


def context_for(spec: ServerSpec, cert: Path, key: Path, dh_params: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are deprecated: that is the point
        context.minimum_version = spec.min_version
        context.maximum_version = spec.max_version
    context.set_ciphers(spec.ciphers)
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    context.load_cert_chain(cert, key)
    if dh_params is not None:
        context.load_dh_params(str(dh_params))
    if spec.ecdh_curve is not None:
        context.set_ecdh_curve(spec.ecdh_curve)
    return context


@contextmanager
def serve(specs: tuple[ServerSpec, ...], directory: Path,
          copies: int = 1) -> Iterator[tuple[TestCA, list[RunningServer]]]:
    """Start every spec (`copies` times each) on 127.0.0.1; stop them all on exit."""
    ca = TestCA(directory)
    servers: list[_Server] = []
    running: list[RunningServer] = []
    try:
        for spec in specs:
            cert, key = ca.leaf(spec)
            dh_params = ca.dh_params(spec.dh_bits) if spec.dh_bits else None
            for copy in range(copies):
                server = _Server(context_for(spec, cert, key, dh_params), spec.hsts, spec.hsts_max_age)
                threading.Thread(target=server.serve_forever, name=f"tls-{spec.name}", daemon=True).start()
                servers.append(server)
                running.append(RunningServer(replace(spec, name=spec.name if copies == 1 else f"{spec.name}-{copy}"),
                                             server.server_address[1]))
        yield ca, running
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def main(argv: list[str]) -> None:
    """`python tests/tls_servers.py COPIES [DIR]`: COPIES good servers in this process (so a scanner in
    another process does not share its interpreter); prints {"ca_file", "ports"} as one JSON line and
    serves until stdin closes."""
    import json
    import sys
    import tempfile

    copies = int(argv[0]) if argv else 1
    with tempfile.TemporaryDirectory(prefix="stockade-tls-") as directory, \
            serve((GOOD_SERVER,), Path(argv[1] if len(argv) > 1 else directory), copies) as (ca, servers):
        print(json.dumps({"ca_file": str(ca.ca_file), "ports": [server.port for server in servers]}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
