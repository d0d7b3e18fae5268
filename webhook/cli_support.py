"""Error handling shared by the commands: one line instead of a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from redis.exceptions import RedisError

from config.errors import SettingsError

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(command: F) -> F:
    """Turn invalid settings and an unreachable Redis into a one-line error, exit 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SettingsError as exc:
            raise click.ClickException(
                f"no valid settings: {exc.first}; set SETTINGS_PATH to a valid "
                "settings file"
            ) from None
        except RedisError as exc:
            raise click.ClickException(
                f"Redis unreachable: {str(exc).rstrip('.')}; set REDIS_URL to the "
                "service's Redis"
            ) from None

    return wrapper  # type: ignore[return-value]
