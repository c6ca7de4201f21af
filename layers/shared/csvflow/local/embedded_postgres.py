"""An embedded PostgreSQL for the local runtime, when no DATABASE_URL is given."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csvflow.exceptions import ConfigurationError


def default_data_dir() -> Path:
    """Per-user, so a later `summary` reads what an earlier `run` wrote."""
    import platformdirs

    return Path(platformdirs.user_data_dir("csvflow")) / "postgres"


@contextmanager
def embedded_database(data_dir: Path | None = None) -> Iterator[str]:
    """Start (or join) the embedded server; stop it when the last user leaves."""
    try:
        import pgserver
    except ImportError as e:
        raise ConfigurationError(
            "no embedded PostgreSQL for this Python (the pgserver package has no wheel for "
            "it): pass --database-url or set DATABASE_URL"
        ) from e
    data_dir = data_dir or default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI).
        warnings.simplefilter("ignore")
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
