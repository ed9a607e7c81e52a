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
class ServerSpec:
    name: str
    key: str = "rsa3072"  # rsa3072 | rsa1024 | ecdsa
    signature_hash: str = "sha256"  # sha256 | sha1
    issuer: str = "ca"  # ca | self
    expired: bool = False
    ciphers: str = GOOD_CIPHERS
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
    hsts: bool = True
    expected: frozenset[str] = field(default_factory=frozenset)  # the checks that must fail, no others


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
    ServerSpec("sha1_signed", signature_hash="sha1", ciphers=f"{GOOD_CIPHERS}:@SECLEVEL=0",
               expected=frozenset({"tls_signature_sha256_rsa"})),
    ServerSpec("rsa1024", key="rsa1024", ciphers=f"{GOOD_CIPHERS}:@SECLEVEL=0",
               expected=frozenset({"tls_leaf_key_rsa"})),
    ServerSpec("ecdsa", key="ecdsa", expected=frozenset({"tls_leaf_key_rsa"})),
    ServerSpec("expired", expired=True, expected=frozenset({"tls_certificate_not_expiring"})),
    ServerSpec("self_signed", issuer="self", expected=frozenset({"tls_chain_trusted"})),
    ServerSpec("no_hsts", hsts=False, expected=frozenset({"tls_hsts"})),
)
GOOD_SERVER = ServerSpec("good")


@dataclass(frozen=True)
class RunningServer:
    spec: ServerSpec
    port: int
    address: str = "127.0.0.1"


class TestCA:
    """A throwaway CA (RSA 3072, SHA-256) and leaf certificates for the specs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stockade test CA")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                  key_encipherment=False, data_encipherment=False,
                                                  key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                                    critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def leaf(self, spec: ServerSpec) -> tuple[Path, Path]:
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if spec.key == "ecdsa":
            key = ec.generate_private_key(ec.SECP256R1())
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=1024 if spec.key == "rsa1024" else 3072)
        now = dt.datetime.now(dt.UTC)
        if spec.expired:
            not_before, not_after = now - dt.timedelta(days=400), now - dt.timedelta(days=10)
        else:
            not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=365)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
        signer_key, issuer = (key, subject) if spec.issuer == "self" else (self.key, self.cert.subject)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME),
                                                               x509.IPAddress(ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       signer_key.public_key()), critical=False)  # type: ignore[arg-type]
                   .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        if spec.signature_hash == "sha1":
            cert = self._sign_sha1(key, subject, 365)
        else:
            cert = builder.sign(signer_key, hashes.SHA256())  # type: ignore[arg-type]
        cert_path, key_path = self.directory / f"{spec.name}.crt", self.directory / f"{spec.name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return cert_path, key_path


    def _sign_sha1(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, subject: x509.Name,
                   days: int) -> x509.Certificate:
        """cryptography refuses to sign with SHA-1: the openssl command signs a request with the CA key."""
        request = (x509.CertificateSigningRequestBuilder().subject_name(subject)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME),
                                                               x509.IPAddress(ip_address("127.0.0.1"))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))  # type: ignore[arg-type]
        request_path, ca_key = self.directory / "sha1.csr", self.directory / "ca.key"
        request_path.write_bytes(request.public_bytes(serialization.Encoding.PEM))
        ca_key.write_bytes(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
        ca_key.chmod(0o600)
        signed = subprocess.run(["openssl", "x509", "-req", "-in", str(request_path), "-CA", str(self.ca_file),
                                 "-CAkey", str(ca_key), "-sha1", "-copy_extensions", "copy", "-days", str(days),
                                 "-set_serial", "4242"], capture_output=True, check=True)
        return x509.load_pem_x509_certificate(signed.stdout)


def _handler(hsts: bool) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = b"ok\n"
            self.send_response(200)
            if hsts:
                self.send_header("Strict-Transport-Security", f"max-age={ONE_YEAR}")
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

    def __init__(self, context: ssl.SSLContext, hsts: bool) -> None:
        super().__init__(("127.0.0.1", 0), _handler(hsts))
        self.context = context

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request, client_address):  # type: ignore[no-untyped-def]
        request.do_handshake()  # in the request's own thread: a slow client never blocks the others
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        return  # scanners break handshakes on purpose


def context_for(spec: ServerSpec, cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are deprecated: that is the point
        context.minimum_version = spec.min_version
        context.maximum_version = spec.max_version
    context.set_ciphers(spec.ciphers)
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    context.load_cert_chain(cert, key)
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
            for copy in range(copies):
                server = _Server(context_for(spec, cert, key), spec.hsts)
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
