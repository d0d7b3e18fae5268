import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from config.errors import SettingsError
from config.loader import load_settings, parse_settings

BASE = """\
hub:
  url: http://127.0.0.1:9/
  inbound_token: inbound
connections:
  - name: main-store
    credentials:
      store_hash: abc123
      access_token: secret-access
    webhooks:
      token: hook-token
    settings:
      order_filters:
        statuses: [awaiting_fulfillment, 9, COMPLETED]
{extra}"""


def load(extra: str = "", environ: dict[str, str] | None = None):
    text = BASE.format(extra=extra)
    return parse_settings(text, "settings.yaml", environ or {})


def filters_with(line: str):
    return load(f"        {line}\n").connections[0].settings.order_filters


def errors_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(text, "settings.yaml", environ or {})
    return caught.value.messages


def test_minimal_settings_defaults():
    settings = load()
    connection = settings.connections[0]
    filters = connection.settings.order_filters
    assert settings.hub.url == "http://127.0.0.1:9"
    assert settings.hub.timeout_seconds == 10
    assert settings.reconcile.interval_minutes == 10
    assert connection.driver == "bigcommerce"
    assert connection.webhooks.header == "X-Webhook-Token"
    assert connection.settings.variant_option_type == "dropdown"
    assert filters.statuses == frozenset({11, 9, 10})
    assert filters.min_order_id is None
    assert filters.created_from is None
    assert filters.timezone == ZoneInfo("UTC")
    assert filters.import_archived is False


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("on", True),
        ("ON", True),
        ("yes", True),
        ("Yes", True),
        ("true", True),
        ("True", True),
        ("off", False),
        ("no", False),
        ("NO", False),
        ("false", False),
        ('"on"', True),
        ("'no'", False),
    ],
)
def test_boolean_words_yaml_1_2(word, expected):
    assert filters_with(f"import_archived: {word}").import_archived is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0100", 100), ("100", 100), ('"0100"', 100), ("1", 1), ("007", 7)],
)
def test_leading_zero_is_decimal(text, expected):
    assert filters_with(f"min_order_id: {text}").min_order_id == expected


def test_unquoted_and_quoted_date_are_equal():
    unquoted = filters_with("created_from: 2025-01-01\n        timezone: Europe/Berlin")
    quoted = filters_with('created_from: "2025-01-01"\n        timezone: Europe/Berlin')
    expected = dt.datetime(2025, 1, 1, tzinfo=ZoneInfo("Europe/Berlin"))
    assert unquoted.created_from == expected
    assert quoted.created_from == expected


def test_datetime_with_offset_is_that_instant():
    filters = filters_with(
        "created_from: 2025-01-01T10:00:00+01:00\n        timezone: America/New_York"
    )
    assert filters.created_from == dt.datetime(2025, 1, 1, 9, tzinfo=dt.UTC)


def test_env_reference_and_fallback():
    text = (
        BASE.format(extra="")
        .replace("secret-access", "${TOKEN}")
        .replace("http://127.0.0.1:9/", "${HUB:-http://127.0.0.1:7}")
    )
    settings = parse_settings(text, "settings.yaml", {"TOKEN": "from-env"})
    assert settings.connections[0].credentials.access_token == "from-env"
    assert settings.hub.url == "http://127.0.0.1:7"


def test_env_reference_inside_string():
    text = BASE.format(extra="").replace("http://127.0.0.1:9/", "http://${HOST}:8/")
    settings = parse_settings(text, "settings.yaml", {"HOST": "127.0.0.2"})
    assert settings.hub.url == "http://127.0.0.2:8"


def test_unset_env_names_variable_and_line():
    text = BASE.format(extra="").replace("secret-access", "${MISSING_TOKEN}")
    messages = errors_of(text)
    assert messages == [
        "settings.yaml:8:21: connections[0].credentials.access_token: environment "
        "variable MISSING_TOKEN is not set; set it or write ${MISSING_TOKEN:-fallback}"
    ]


def test_env_value_validated_as_integer():
    filters = (
        parse_settings(
            BASE.format(extra="        min_order_id: ${MIN_ID}\n"),
            "settings.yaml",
            {"MIN_ID": "0100"},
        )
        .connections[0]
        .settings.order_filters
    )
    assert filters.min_order_id == 100


def test_unknown_status_names_index_and_choices():
    text = BASE.format(extra="").replace("9, COMPLETED", "9, shiped")
    (message,) = errors_of(text)
    assert message.startswith(
        "settings.yaml:13:45: connections[0].settings.order_filters.statuses[2]: "
        "unknown order status 'shiped'; expected one of: incomplete, pending, shipped,"
    )


def test_misspelt_key_is_rejected_with_line():
    (message,) = errors_of(BASE.format(extra="        import_archieved: true\n"))
    assert message == (
        "settings.yaml:14:9: connections[0].settings.order_filters.import_archieved: "
        "unknown key 'import_archieved'"
    )


def test_all_errors_reported_together():
    text = (
        BASE.format(extra="        timezone: Mars/Base\n        min_order_id: 0\n")
        .replace("http://127.0.0.1:9/", "ftp://hub")
        .replace("main-store", "Main Store")
        .replace("driver", "x")
    )
    messages = errors_of(text + "public_url: https://sync.example.com:8443\n")
    joined = "\n".join(messages)
    assert len(messages) == 5
    assert "settings.yaml:2:8: hub.url: invalid URL 'ftp://hub'" in joined
    assert (
        "settings.yaml:5:11: connections[0].name: invalid name 'Main Store'" in joined
    )
    assert "order_filters.timezone: unknown time zone 'Mars/Base'" in joined
    assert "order_filters.min_order_id: 0 is below the minimum 1" in joined
    assert "public_url: invalid public_url" in joined


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            "      token: hook-token\n",
            "      header: X-Token\n",
            "no authentication configured",
        ),
        (
            "    credentials:\n",
            "    driver: shopify\n    credentials:\n",
            "unknown driver 'shopify'",
        ),
        ("  inbound_token: inbound\n", "", "hub.inbound_token: missing required key"),
        (
            "  inbound_token: inbound\n",
            "  inbound_token: inbound\n  timeout_seconds: 121\n",
            "121 is above the maximum 120",
        ),
        (
            "connections:\n",
            "reconcile:\n  interval_minutes: -1\nconnections:\n",
            "reconcile.interval_minutes: -1 is below the minimum 0",
        ),
        (
            "    settings:\n",
            "    settings:\n      variant_option_type: list\n",
            "variant_option_type: Must be one of",
        ),
        (
            "    settings:\n",
            "    settings:\n      offers:\n        attribute_mapping:"
            "\n          title: nam\n",
            "unknown mapping target 'nam'",
        ),
    ],
)
def test_invalid_settings_table(replace, by, expected):
    text = BASE.format(extra="")
    assert replace in text
    messages = errors_of(text.replace(replace, by, 1))
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    "url",
    ["http://sync.example.com", "https://sync.example.com:8443", "https://"],
)
def test_public_url_must_be_https_443(url):
    messages = errors_of(BASE.format(extra="") + f"public_url: {url}\n")
    assert any(m.startswith("settings.yaml:14:13: public_url:") for m in messages)


def test_public_url_443_accepted():
    text = BASE.format(extra="") + "public_url: https://sync.example.com:443/\n"
    assert parse_settings(text, "s.yaml", {}).public_url.startswith("https://")


def test_duplicate_names_and_store_hashes():
    connection = BASE.split("connections:\n", 1)[1].format(extra="")
    messages = errors_of(BASE.format(extra="") + connection)
    joined = "\n".join(messages)
    assert "connections[1].name: duplicate connection name 'main-store'" in joined
    assert "connections[1].credentials.store_hash: duplicate store_hash" in joined
    assert "abc123" not in joined


def test_yaml_syntax_error_has_position():
    (message,) = errors_of("hub: [unclosed\n")
    assert message.startswith("settings.yaml:2:1: invalid YAML")


def test_unreadable_file(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "absent.yaml")
    assert "cannot read settings file" in caught.value.first


def test_example_file_loads_as_is():
    settings = load_settings("config/settings.example.yaml", environ={})
    assert settings.connections[0].name == "main-store"


@pytest.mark.parametrize("date", ["2025-02-30", "2025-13-01", '"2025-02-30"'])
def test_impossible_date_has_position(date):
    messages = errors_of(BASE.format(extra=f"        created_from: {date}\n"))
    assert len(messages) == 1
    assert messages[0].startswith(
        "settings.yaml:14:23: connections[0].settings.order_filters.created_from: "
        "invalid date"
    )
