"""The lab's own CA and server certificate, made with the ``openssl`` command line.

The CA signs one server certificate valid for ``localhost``, ``*.wsbench.test``,
``127.0.0.1`` and every address the lab listens on; clients trust ``ca.pem``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wsbench.errors import LabError

__all__ = ["Certificates", "make_certificates", "server_names"]

#: Names and addresses the server certificate is valid for.
DEFAULT_NAMES = ("localhost", "wsbench.test", "*.wsbench.test")
DEFAULT_ADDRESSES = ("127.0.0.1", "127.0.0.2")


@dataclass(frozen=True)
class Certificates:
    ca_file: str
    cert_file: str
    key_file: str
    #: server certificate + key in one file
    pem_file: str


def server_names(names: tuple[str, ...], addresses: tuple[str, ...]) -> str:
    """The subjectAltName value (pure)."""
    return ",".join([f"DNS:{n}" for n in names] + [f"IP:{a}" for a in addresses])


def make_certificates(
    directory: str,
    *,
    names: tuple[str, ...] = DEFAULT_NAMES,
    addresses: tuple[str, ...] = DEFAULT_ADDRESSES,
    days: int = 30,
) -> Certificates:
    """Create a CA and a server certificate signed by it under ``directory``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise LabError("the lab needs the openssl command for wss:// (apt-get install openssl)")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = d / "ca.key", d / "ca.pem"
    key, csr, cert, pem = d / "server.key", d / "server.csr", d / "server.crt", d / "server.pem"
    ext = d / "server.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName={server_names(names, addresses)}\n"
    )
    steps = [
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(ca_key), "-out", str(ca_pem), "-days", str(days),
         "-subj", "/CN=wsbench lab CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(csr), "-subj", "/CN=wsbench.test"],
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(cert), "-days", str(days), "-extfile", str(ext)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LabError(f"openssl failed ({' '.join(step[:3])}): {done.stderr.strip()}")
    pem.write_text(cert.read_text() + key.read_text())
    for secret in (ca_key, key, pem):
        secret.chmod(0o600)
    return Certificates(str(ca_pem), str(cert), str(key), str(pem))
