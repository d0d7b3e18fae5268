"""Checks of the Heroku deployment files: app.json, Procfile and .python-version."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_JSON = ROOT / "app.json"
PROCFILE = ROOT / "Procfile"
EXAMPLE_SETTINGS = ROOT / "config" / "settings.example.yaml"

# ${NAME} or ${NAME:-fallback}, as the settings loader expands them.
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


@pytest.fixture(scope="module")
def app_json() -> dict[str, Any]:
    return json.loads(APP_JSON.read_text(encoding="utf-8"))


def procfile_processes() -> dict[str, str]:
    """Return the Procfile's process types mapped to their commands."""
    processes: dict[str, str] = {}
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, separator, command = line.partition(":")
        assert separator, f"Procfile line without 'name: command': {line!r}"
        processes[name.strip()] = command.strip()
    return processes


def example_settings_references() -> set[str]:
    """Return the environment variables that the example settings reference.

    Comment lines are left out because they explain the syntax with a
    placeholder name.
    """
    names: set[str] = set()
    for line in EXAMPLE_SETTINGS.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        names.update(ENV_REFERENCE.findall(line))
    return names


def test_app_json_parses(app_json: dict[str, Any]) -> None:
    assert isinstance(app_json, dict)
    assert app_json["name"]
    assert app_json["description"]


def test_app_json_adds_heroku_redis(app_json: dict[str, Any]) -> None:
    assert "heroku-redis" in app_json["addons"]


def test_app_json_uses_python_buildpack(app_json: dict[str, Any]) -> None:
    urls = [buildpack["url"] for buildpack in app_json["buildpacks"]]
    assert urls == ["heroku/python"]


def test_example_settings_reference_env_vars() -> None:
    # Guards the regex: an empty set would make the next test pass vacuously.
    assert "BIGCOMMERCE_ACCESS_TOKEN" in example_settings_references()


def test_app_json_declares_settings_env_vars(app_json: dict[str, Any]) -> None:
    missing = example_settings_references() - set(app_json["env"])
    assert not missing, f"app.json env lacks variables the settings use: {missing}"


@pytest.mark.parametrize(
    "name",
    [
        "SETTINGS_PATH",
        "REDIS_TLS_VERIFY",
        "BIGCOMMERCE_RATE_LIMIT_RESERVE",
        "LOG_LEVEL",
    ],
)
def test_app_json_declares_service_env_var(app_json: dict[str, Any], name: str) -> None:
    assert name in app_json["env"]


def test_app_json_env_vars_are_described(app_json: dict[str, Any]) -> None:
    for name, variable in app_json["env"].items():
        assert isinstance(variable, dict), f"{name} has no description"
        assert variable.get("description"), f"{name} has no description"
        if "value" in variable:
            assert isinstance(variable["value"], str), f"{name} value is no string"


def test_app_json_generates_secrets(app_json: dict[str, Any]) -> None:
    env = app_json["env"]
    assert env["BIGCOMMERCE_WEBHOOK_TOKEN"]["generator"] == "secret"
    assert env["HUB_INBOUND_TOKEN"]["generator"] == "secret"


def test_app_json_optional_env_vars(app_json: dict[str, Any]) -> None:
    env = app_json["env"]
    assert env["BIGCOMMERCE_CLIENT_SECRET"]["required"] is False
    assert env["HUB_TOKEN"]["required"] is False


def test_app_json_env_defaults(app_json: dict[str, Any]) -> None:
    env = app_json["env"]
    assert env["SETTINGS_PATH"]["value"] == "config/settings.yaml"
    assert env["REDIS_TLS_VERIFY"]["value"] == "none"
    assert env["BIGCOMMERCE_RATE_LIMIT_RESERVE"]["value"] == "15"


def test_app_json_formation(app_json: dict[str, Any]) -> None:
    formation = app_json["formation"]
    assert formation["web"]["quantity"] == 1
    assert formation["worker"]["quantity"] == 1


def test_formation_matches_procfile(app_json: dict[str, Any]) -> None:
    processes = procfile_processes()
    for name in app_json["formation"]:
        assert name in processes, f"formation names {name!r}, Procfile lacks it"


def test_procfile_web_and_worker() -> None:
    processes = procfile_processes()
    assert processes["web"].startswith("gunicorn ")
    assert "gunicorn.conf.py" in processes["web"]
    assert processes["worker"] == "python -m workers"


def test_procfile_release_checks_config() -> None:
    processes = procfile_processes()
    assert "release" in processes, "Procfile has no release process"
    assert processes["release"].startswith("flask --app webhook check-config")


def test_python_version_file() -> None:
    version = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    assert version == "3.11"
