"""``rediss://`` connections against a local TLS redis-server with a test CA.

Heroku Redis presents a self-signed certificate, so ``connect()`` accepts any
certificate unless ``REDIS_TLS_VERIFY=required`` is set. These tests run the three
cases against a real TLS server on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from sandbox.redis_server import RedisServerUnavailable, find_redis_server, free_port
from workers.redis_conn import connect

START_TIMEOUT_SECONDS = 10.0


@dataclass
class TlsRedis:
    url: str
    ca_file: Path


def run_openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """Create a test CA and a server certificate for 127.0.0.1 signed by it.

    Returns the CA certificate, server certificate and server key files.
    """
    run_openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=redis test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", "ca.key", "-out", "ca.crt",
        cwd=folder,
    )  # fmt: skip
    run_openssl(
        "req", "-newkey", "rsa:2048", "-nodes",
        "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr",
        cwd=folder,
    )  # fmt: skip
    # The client checks the host name, so the certificate names the IP address.
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\n"
        "basicConstraints=CA:FALSE\n"
        "extendedKeyUsage=serverAuth\n",
        encoding="utf-8",
    )
    run_openssl(
        "x509", "-req", "-in", "server.csr", "-days", "2",
        "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-extfile", "server.ext", "-out", "server.crt",
        cwd=folder,
    )  # fmt: skip
    return folder / "ca.crt", folder / "server.crt", folder / "server.key"


def tls_ping(port: int) -> bool:
    """Return True when PING over TLS, with no certificate check, gets +PONG."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw:
            with context.wrap_socket(raw) as tls:
                tls.sendall(b"PING\r\n")
                return tls.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    """Start redis-server with TLS only (no plain port) on 127.0.0.1.

    One server serves all tests here because connect() reads the TLS settings from
    the environment on each call.
    """
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed; it creates the test CA")
    try:
        binary, _kind = find_redis_server()
    except RedisServerUnavailable as exc:
        pytest.skip(f"no redis-server to test TLS against: {exc}")
    tmp_path = tmp_path_factory.mktemp("tls-redis")
    ca_file, cert_file, key_file = make_certificates(tmp_path)
    port = free_port()
    args = [
        binary,
        "--port", "0",
        "--tls-port", str(port),
        "--tls-cert-file", str(cert_file),
        "--tls-key-file", str(key_file),
        "--tls-ca-cert-file", str(ca_file),
        "--tls-auth-clients", "no",
        "--bind", "127.0.0.1",
        "--dir", str(tmp_path),
        "--save", "",
        "--appendonly", "no",
        "--loglevel", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not tls_ping(port):
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                # A redis-server built without TLS rejects the tls-* directives.
                pytest.skip(f"{binary} did not start with TLS: {error.strip()}")
            if time.monotonic() > deadline:
                pytest.fail(f"TLS redis-server did not answer on port {port}")
            time.sleep(0.05)
        yield TlsRedis(url=f"rediss://127.0.0.1:{port}/0", ca_file=ca_file)
    finally:
        stop(process)


@pytest.fixture
def clean_tls_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("REDIS_TLS_VERIFY", raising=False)
    monkeypatch.delenv("REDIS_TLS_CA_CERTS", raising=False)
    return monkeypatch


def test_rediss_default_accepts_unknown_ca(
    tls_redis: TlsRedis, clean_tls_env: pytest.MonkeyPatch
) -> None:
    client = connect(tls_redis.url)
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_rediss_required_rejects_unknown_ca(
    tls_redis: TlsRedis, clean_tls_env: pytest.MonkeyPatch
) -> None:
    clean_tls_env.setenv("REDIS_TLS_VERIFY", "required")
    client = connect(tls_redis.url)
    try:
        with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            client.ping()
    finally:
        client.close()


def test_rediss_required_accepts_given_ca(
    tls_redis: TlsRedis, clean_tls_env: pytest.MonkeyPatch
) -> None:
    clean_tls_env.setenv("REDIS_TLS_VERIFY", "required")
    clean_tls_env.setenv("REDIS_TLS_CA_CERTS", str(tls_redis.ca_file))
    client = connect(tls_redis.url)
    try:
        assert client.ping() is True
    finally:
        client.close()
