"""The cluster's certificates, made before kwokctl would make its own.

kwokctl generates a CA and one ``admin`` certificate (client and server) whose names are
the host's addresses at that moment, and it keeps an existing ``pki`` directory as it is.
Pods reach the API server through the ``kubernetes`` Service (ClusterIP
:data:`API_SERVICE_IP`, the first address of the service range), and the service deployed
in the cluster verifies the serving certificate against that address, which kwokctl's
certificate lacks. So the stack makes the same four files first (``ca.crt``, ``ca.key``,
``admin.crt``, ``admin.key``: the same subject, ``O=system:masters, CN=kwok-admin``, and
uses) with the names pods and the host use: the ClusterIP, the real node's bridge address
(where the API server is forwarded for pods, :mod:`devstack.node_access`), loopback and
the ``kubernetes.default.svc`` names. ``openssl`` makes them.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import tempfile
from pathlib import Path

from devstack import kube_config

API_SERVICE_IP = str(next(ipaddress.ip_network(kube_config.SERVICE_RANGE).hosts()))
DNS_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "localhost",
)
DAYS = "36500"
FILES = ("ca.crt", "ca.key", "admin.crt", "admin.key")


def sans(bridge_ip: str) -> list[str]:
    ips = ("127.0.0.1", "::1", API_SERVICE_IP, bridge_ip)
    return [f"DNS:{n}" for n in DNS_NAMES] + [f"IP:{ip}" for ip in ips]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def ensure(pki: Path, bridge_ip: str) -> bool:
    """Make the cluster's certificates in ``pki`` unless they exist; True when made now."""
    if all((pki / name).is_file() for name in FILES):
        return False
    pki.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(pki, ignore_errors=True)  # a part-made directory
    work = Path(tempfile.mkdtemp(prefix=".pki-", dir=pki.parent))
    try:
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.crt", "-days", DAYS, "-subj", "/CN=kwok-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            cwd=work,
        )  # fmt: skip
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "admin.key", "-out", "admin.csr",
            "-subj", "/O=system:masters/CN=kwok-admin", cwd=work,
        )  # fmt: skip
        (work / "ext.cnf").write_text(
            f"subjectAltName={','.join(sans(bridge_ip))}\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
        )
        _openssl(
            "x509", "-req", "-in", "admin.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "admin.crt", "-days", DAYS, "-extfile", "ext.cnf",
            cwd=work,
        )  # fmt: skip
        for name in ("admin.csr", "ext.cnf", "ca.srl"):
            (work / name).unlink(missing_ok=True)
        for name in FILES:
            (work / name).chmod(0o600 if name.endswith(".key") else 0o644)
        work.chmod(0o750)
        work.rename(pki)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return True


def covers(pki: Path, name: str) -> bool:
    """True when the cluster's serving certificate names ``name`` (an IP)."""
    out = subprocess.run(
        ["openssl", "x509", "-in", str(pki / "admin.crt"), "-noout", "-ext", "subjectAltName"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return f"IP Address:{name}" in out.stdout
