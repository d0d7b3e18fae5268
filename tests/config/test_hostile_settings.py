"""Hostile settings files: odd YAML, unicode, live edits, secret leaks."""

from __future__ import annotations

import logging
import os
import re

import pytest

from config.errors import SettingsError
from config.loader import load_settings, parse_settings
from tests.conftest import ACCESS_TOKEN, SECRETS, settings_yaml
from webhook import create_app

POSITIONED = re.compile(r"^[^:]+:\d+:\d+: \S+: .+")


def problems_of(text: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(text, "settings.yaml", {})
    return caught.value.messages


def bump_mtime(path) -> None:
    """Make the store see a new signature even within one mtime tick."""
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


def test_duplicate_key_error_does_not_show_the_secret():
    """A key written twice is reported by line and key, without the values:
    the values of access_token (and the other secrets) never appear in a
    settings error."""
    text = settings_yaml().replace(
        "      access_token:", "      access_token: old-value\n      access_token:"
    )
    joined = "\n".join(problems_of(text))
    assert ACCESS_TOKEN not in joined, joined


def test_duplicate_secret_key_not_shown_on_healthz(
    write_settings, make_context, caplog
):
    """A live edit that repeats the access_token key is reported on /healthz and
    in the log without either token value."""
    path = write_settings()
    context = make_context(path)
    context.settings_store.check_interval = 0
    client = create_app(context=context).test_client()
    assert client.get("/healthz").status_code == 200
    path.write_text(
        path.read_text().replace(
            "      access_token:", "      access_token: old-value\n      access_token:"
        )
    )
    bump_mtime(path)
    with caplog.at_level(logging.INFO):
        health = client.get("/healthz").get_json()
    assert health["settings"].startswith("invalid"), health
    shown = health["settings"] + "\n" + caplog.text
    assert not [s for s in SECRETS if s in shown], shown


def test_secret_that_starts_with_asterisk_not_shown():
    """An unquoted secret that YAML reads as an alias is an error that names the
    key, not the secret itself."""
    secret = "*" + ACCESS_TOKEN
    text = settings_yaml().replace(
        f"access_token: {ACCESS_TOKEN}", f"access_token: {secret}"
    )
    joined = "\n".join(problems_of(text))
    assert ACCESS_TOKEN not in joined, joined


@pytest.mark.parametrize(
    ("filters", "statuses"),
    [
        ('min_order_id: "²"', "[completed]"),
        ("min_order_id: 100", '["¹"]'),
        ('min_order_id: "' + "9" * 5000 + '"', "[completed]"),
    ],
    ids=["superscript-min-id", "superscript-status", "5000-digit-min-id"],
)
def test_odd_digit_strings_are_settings_errors(filters, statuses):
    """Strings that str.isdigit() accepts but int() rejects (superscripts) and
    numbers too long to parse are reported as SettingsError with
    file:line:col: key.path: message, not as a bare ValueError."""
    text = settings_yaml(filters=filters, statuses=statuses)
    problems = problems_of(text)
    assert all(POSITIONED.match(p) for p in problems), problems


def test_yaml_merge_key_is_supported_or_reported():
    """A YAML merge key (<<: *anchor) loads; merged keys carry no position of
    their own, and that must not raise KeyError out of the loader."""
    anchored = "      offers:\n        attribute_mapping: &am {title: name}\n"
    text = settings_yaml().replace(
        "      order_filters:", anchored + "      order_filters:"
    ) + (
        "  - name: second\n"
        "    credentials: {store_hash: zzz, access_token: other-access}\n"
        "    webhooks: {token: other-token}\n"
        "    settings:\n"
        "      order_filters: {statuses: []}\n"
        "      offers:\n"
        "        attribute_mapping:\n"
        "          <<: *am\n"
        "          price: price\n"
    )
    settings = parse_settings(text, "settings.yaml", {})
    second = settings.connection("second")
    assert second.settings.offers.attribute_mapping == {
        "title": "name",
        "price": "price",
    }


def test_non_utf8_settings_file_is_settings_error(tmp_path):
    """A settings file that is not UTF-8 is reported as SettingsError naming the
    file and position, not as UnicodeDecodeError."""
    path = tmp_path / "settings.yaml"
    path.write_bytes(settings_yaml().encode().replace(b"main-store", b"main-st\xf6re"))
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert str(path) in caught.value.first


def test_missing_top_level_key_has_position():
    """Every problem has file:line:col, even a missing top-level key."""
    text = settings_yaml().replace("hub:\n", "hubb:\n", 1)
    problems = problems_of(text)
    missing = [p for p in problems if "missing required key" in p]
    assert missing, problems
    assert all(POSITIONED.match(p) for p in missing), missing


@pytest.mark.parametrize(
    "edit",
    [
        lambda b: b.replace(b"main-store", b"main-st\xf6re"),
        lambda b: b.replace(b"min_order_id: 100", 'min_order_id: "²"'.encode()),
    ],
    ids=["non-utf8", "superscript"],
)
def test_live_edit_with_odd_bytes_is_reported_on_healthz(
    write_settings, make_context, edit
):
    """An invalid live edit keeps the last valid settings and is reported on
    /healthz as invalid every time it is asked, and /healthz never answers 500."""
    path = write_settings(filters="min_order_id: 100")
    context = make_context(path)
    context.settings_store.check_interval = 0
    client = create_app(context=context).test_client()
    assert client.get("/healthz").status_code == 200
    path.write_bytes(edit(path.read_bytes()))
    bump_mtime(path)
    first = client.get("/healthz")
    second = client.get("/healthz")
    seen = [
        (first.status_code, first.get_json()),
        (second.status_code, second.get_json()),
    ]
    assert first.status_code != 500, seen
    assert second.get_json()["settings"].startswith("invalid"), seen
