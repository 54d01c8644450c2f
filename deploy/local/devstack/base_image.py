"""The base of every local image: a Debian root file system from debootstrap, in podman.

Why: there is no container registry here, only Debian's package archive. ``debootstrap
--variant=minbase <suite>`` makes a root file system (about a minute, 200 MB), kept as
``<cache>/base-image/<suite>-<variant>-<release>/rootfs.tar`` and imported as
``localhost/devsessions/base:<suite>-<variant>-<release>``. A missing image is imported
again from the cached tar; a missing tar is bootstrapped again. The mirror is the one
the host's apt uses (debootstrap's default when none is found).

Trust: the image trusts what the host trusts. Certificate authorities the host added
(``/usr/local/share/ca-certificates``, e.g. a TLS-inspecting proxy's) are copied in and
the bundle is regenerated; the image's environment points pip, npm, Go and Python at that
bundle. Their digest is part of the recipe, so a change of the host's CAs rebuilds it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from devstack import cache, engine, procs
from devstack.image_pins import BasePin

COMPONENT = "base-image"
TARBALL = "rootfs.tar"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
TRUST_ENV = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


def tag(pin: BasePin) -> str:
    """``localhost/devsessions/base:<version>-<digest of the host's CAs>``."""
    return f"localhost/devsessions/base:{pin.version}-{_cas_digest()[:8]}"


def host_mirror(suite: str) -> str | None:
    """The Debian mirror of the host's apt sources for ``suite`` (first found), if any."""
    files: list[Path] = []
    for source in APT_SOURCES:
        if source.is_dir():
            files += sorted(p for p in source.iterdir() if p.suffix in (".list", ".sources"))
        elif source.is_file():
            files.append(source)
    for path in files:
        text = path.read_text(errors="replace")
        one_line = re.search(rf"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+{suite}\s", text, re.M)
        if one_line and "security" not in one_line.group(1):
            return one_line.group(1)
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and suite in suites.group(1).split():
                return uris.group(1)
    return None


def local_cas() -> list[Path]:
    """The certificate authorities the host added to its trust store."""
    return sorted(LOCAL_CAS.rglob("*.crt")) if LOCAL_CAS.is_dir() else []


def _cas_digest() -> str:
    digest = hashlib.sha256()
    for path in local_cas():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _bootstrap(pin: BasePin, out: Path, log: Path) -> None:
    rootfs = out / "rootfs"
    argv = ["debootstrap", f"--variant={pin.variant}", "--include=ca-certificates"]
    argv += [pin.suite, str(rootfs)]
    mirror = host_mirror(pin.suite)
    procs.run_logged([*argv, mirror] if mirror else argv, log)
    try:
        cas = local_cas()
        if cas:
            target = rootfs / LOCAL_CAS.relative_to("/")
            target.mkdir(parents=True, exist_ok=True)
            for path in cas:
                shutil.copyfile(path, target / path.name)
            procs.run_logged(["chroot", str(rootfs), "update-ca-certificates"], log)
        procs.run_logged(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(out / TARBALL), "."], log
        )
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def ensure(pin: BasePin, log: Path) -> tuple[str, bool]:
    """Return ``(tag of the base image, built or imported now)``."""
    name = tag(pin)
    if engine.image_exists(name):
        return name, False

    def build(out: Path) -> None:
        _bootstrap(pin, out, log)

    recipe = (
        f"debootstrap --variant={pin.variant} --include=ca-certificates {pin.suite}"
        f" (release {pin.release}, host CAs {_cas_digest()})"
    )
    directory, _fresh = cache.ensure(COMPONENT, pin.version, [TARBALL], build, recipe=recipe)
    changes = ["--change", "CMD=/bin/bash"]
    for variable in TRUST_ENV:
        changes += ["--change", f"ENV={variable}={BUNDLE}"]
    engine.run(["import", *changes, str(directory / TARBALL), name], log)
    return name, True
