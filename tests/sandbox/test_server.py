import re

import pytest
import requests
from flask import Flask

from sandbox.server import serve_in_thread


def make_app():
    app = Flask(__name__)
    app.add_url_rule("/ping", view_func=lambda: "pong")
    return app


def test_serve_in_thread_url_and_response():
    server = serve_in_thread(make_app())
    try:
        response = requests.get(f"{server.url}/ping", timeout=5)
    finally:
        server.stop()

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    assert server.port > 0
    assert response.text == "pong"


def test_stop_closes_port():
    with serve_in_thread(make_app()) as server:
        url = f"{server.url}/ping"

    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_stop_twice_is_harmless():
    server = serve_in_thread(make_app())

    server.stop()
    server.stop()


def test_two_servers_get_distinct_ports():
    with serve_in_thread(make_app()) as first, serve_in_thread(make_app()) as second:
        assert first.port != second.port
