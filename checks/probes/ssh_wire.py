"""What an SSH server offers on the wire, seen from the controller: its KEXINIT lists (key exchange, host-key
algorithms, ciphers, MACs, compression), its version banner, and the size of the RSA host key it signs with.

Two connections per host, neither authenticates: one reads the server's KEXINIT (sent in clear right after the
banners), one completes a key exchange restricted to rsa-sha2 host keys to receive the RSA host key. OpenSSH 10
penalises unauthenticated connections per source (1 s each, enforced from 15 s), so the roles exempt the
controller (PerSourcePenaltyExemptList) and this probe stays at two connections.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import paramiko

from checks.model import Params
from checks.probes import SSH_CONNECTION_RATE, ProbeTarget, probe

TIMEOUT_SECONDS = 10
CLIENT_BANNER = b"SSH-2.0-stockade_probe\r\n"
MSG_KEXINIT = 20
RSA_SHA2 = ("rsa-sha2-512", "rsa-sha2-256")
KEXINIT_FIELDS = ("kex_algorithms", "host_key_algorithms", "ciphers_client_to_server", "ciphers_server_to_client",
                  "macs_client_to_server", "macs_server_to_client", "compression_client_to_server",
                  "compression_server_to_client")


def _read_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection during the handshake")
        data += chunk
    return data


def _read_banner(sock: socket.socket) -> str:
    """RFC 4253 4.2: the server may send other lines before its SSH- identification line."""
    for _ in range(20):
        line = b""
        while not line.endswith(b"\n"):
            line += _read_exact(sock, 1)
            if len(line) > 255:
                raise ValueError("banner line longer than 255 bytes")
        if line.startswith(b"SSH-"):
            return line.decode("ascii", "replace").strip()
    raise ValueError("no SSH identification line from the server")


def parse_kexinit(payload: bytes) -> dict[str, list[str]]:
    """A KEXINIT payload (message number, 16-byte cookie, ten name-lists, ...) as its first eight lists (the last
    two, languages, are always empty in practice)."""
    if not payload or payload[0] != MSG_KEXINIT:
        raise ValueError(f"expected KEXINIT (20), got message {payload[:1].hex() or 'nothing'}")
    offset = 17
    lists: dict[str, list[str]] = {}
    for name in KEXINIT_FIELDS:
        if offset + 4 > len(payload):
            raise ValueError(f"KEXINIT ends before its {name} list")
        (length,) = struct.unpack(">I", payload[offset:offset + 4])
        if offset + 4 + length > len(payload):
            raise ValueError(f"KEXINIT {name} list runs past the packet")
        text = payload[offset + 4:offset + 4 + length].decode("ascii")
        lists[name] = [item for item in text.split(",") if item]
        offset += 4 + length
    return lists


def read_server_offer(address: str, port: int) -> dict[str, Any]:
    with socket.create_connection((address, port), timeout=TIMEOUT_SECONDS) as sock:
        banner = _read_banner(sock)
        sock.sendall(CLIENT_BANNER)
        packet_length, padding_length = struct.unpack(">IB", _read_exact(sock, 5))
        if packet_length > 35000:
            raise ValueError(f"first packet claims {packet_length} bytes")
        payload = _read_exact(sock, packet_length - 1)[:packet_length - 1 - padding_length]
    return {"banner": banner, **parse_kexinit(payload)}


def rsa_host_key(address: str, port: int, offered: list[str]) -> dict[str, Any]:
    """Complete a key exchange that only accepts rsa-sha2 host keys; report the key's size and fingerprint."""
    accepted = [name for name in RSA_SHA2 if name in offered]
    if not accepted:
        return {"offered": False}
    sock = socket.create_connection((address, port), timeout=TIMEOUT_SECONDS)
    transport = paramiko.Transport(sock)
    try:
        transport.get_security_options().key_types = accepted
        transport.start_client(timeout=TIMEOUT_SECONDS)
        key = transport.get_remote_server_key()
        return {"offered": True, "negotiated": transport.host_key_type, "bits": key.get_bits(),
                "fingerprint": key.fingerprint}
    finally:
        transport.close()
        sock.close()


@probe("ssh_wire", meets=(SSH_CONNECTION_RATE,))
def ssh_wire(target: ProbeTarget, params: Params) -> dict[str, Any]:
    offer = read_server_offer(target.address, target.ssh_port)
    return {"address": f"{target.address}:{target.ssh_port}", **offer,
            "rsa_host_key": rsa_host_key(target.address, target.ssh_port, offer["host_key_algorithms"])}
