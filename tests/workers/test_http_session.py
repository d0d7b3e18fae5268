"""The process-wide HTTP session of the clients."""

from __future__ import annotations

from flask import Flask

from sandbox.server import serve_in_thread
from workers.http import new_session, shared_session


def test_shared_session_is_one_per_process():
    assert shared_session() is shared_session()


def test_session_keeps_no_cookies():
    app = Flask(__name__)

    @app.get("/set")
    def set_cookie():
        response = app.response_class("ok")
        response.set_cookie("tracking", "1")
        return response

    @app.get("/echo")
    def echo():
        from flask import request

        return request.headers.get("Cookie", "")

    session = new_session()
    with serve_in_thread(app) as server:
        session.get(f"{server.url}/set", timeout=5)
        echoed = session.get(f"{server.url}/echo", timeout=5).text
    assert echoed == ""
    assert len(session.cookies) == 0
