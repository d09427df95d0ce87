"""Throwaway certificates for the HTTPS tests, made with the ``openssl`` command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def _openssl(*args: str) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make test certificates")
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def self_signed(directory: Path, name: str = "tls", key: str = "rsa:2048") -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 (also usable as its own CA): ``(cert, key)``."""
    cert, private = directory / f"{name}.crt", directory / f"{name}.key"
    kind = ("ec", "-pkeyopt", "ec_paramgen_curve:prime256v1") if key == "ec" else (key,)
    _openssl(
        "req", "-x509", "-newkey", *kind, "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(private), "-out", str(cert),
    )  # fmt: skip
    return cert, private


def signed_by(directory: Path, ca: tuple[Path, Path], name: str) -> tuple[Path, Path]:
    """A client certificate with CN ``name`` signed by ``ca``: ``(cert, key)``."""
    cert, private, csr = (directory / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", f"/CN={name}", "-keyout", str(private), "-out", str(csr),
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-CAcreateserial", "-days", "1", "-out", str(cert),
    )  # fmt: skip
    return cert, private
