"""An embedded PostgreSQL for the local runtime, when no DATABASE_URL is given.

The `pgserver` package brings its own PostgreSQL; where it has no wheel (Python 3.13), the
PostgreSQL binaries installed on the machine (initdb and pg_ctl on PATH, or a distribution's
/usr/lib/postgresql/<version>/bin) run a private server in the same per-user folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import re
import shutil
import socket

# (bandit B404: initdb and pg_ctl are run with argument lists, never a shell)
import subprocess  # nosec B404
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from csvflow.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

# pgserver's platformdirs warns on every use when XDG_RUNTIME_DIR is unset (containers, CI,
# sudo): the runtime folder it falls back to is fine for a private server.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

ROOT_SERVERS = Path("/var/lib/csvflow")
# The OS user pgserver runs PostgreSQL as when started by root (pgserver/postgres_server.py).
PGSERVER_OS_USER = "pgserver"
_BINARY_FOLDERS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql*/bin",
)


def default_data_dir() -> Path:
    """Per-user, so a later `summary` reads what an earlier `run` wrote."""
    import platformdirs

    return Path(platformdirs.user_data_dir("csvflow")) / "postgres"


@contextmanager
def embedded_database(data_dir: Path | None = None) -> Iterator[str]:
    """Start (or join) the embedded server; stop it when the last user leaves."""
    data_dir = data_dir or default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        import pgserver
    except ImportError:
        binaries = system_binaries()
        if binaries is None:
            raise ConfigurationError(
                f"no embedded PostgreSQL here ({_why_no_pgserver()}, "
                "and no initdb/pg_ctl is installed): pass --database-url or set DATABASE_URL"
            ) from None
        with system_server(data_dir / "system", binaries) as url:
            yield url
        return
    if os.geteuid() == 0 and not _os_user_exists(PGSERVER_OS_USER):
        logger.warning(
            "running as root: PostgreSQL refuses root, so pgserver creates the OS user %r "
            "to run the embedded server (once; `userdel %s` removes it)",
            PGSERVER_OS_USER,
            PGSERVER_OS_USER,
        )
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def _why_no_pgserver() -> str:
    if sys.version_info >= (3, 13):
        return "the pgserver package has no wheel for this Python"
    return 'no pgserver package: pip install "csvflow[local]" brings it'


def _os_user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def system_binaries() -> Path | None:
    """The folder of the machine's initdb and pg_ctl, newest version first."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    for pattern in _BINARY_FOLDERS:
        for folder in sorted(Path("/").glob(pattern.lstrip("/")), key=_version, reverse=True):
            if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
                return folder
    return None


@contextmanager
def system_server(pgdata: Path, binaries: Path, *, password: str | None = None) -> Iterator[str]:
    """A private PostgreSQL on a Unix socket (no TCP port taken), stopped on exit.

    With ``password``, a new cluster asks for it (SCRAM-SHA-256) instead of trusting
    every local user, as a deployed database does.
    """
    # PostgreSQL refuses to run as root: there, the distribution's postgres user runs it.
    as_user = (
        [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"]
        if os.geteuid() == 0
        else []
    )
    pgdata = server_folder(pgdata)
    socket_dir = Path(tempfile.mkdtemp(prefix="csvflow-pg-"))
    if as_user:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        for path in (pgdata.parent, socket_dir):
            shutil.chown(path, "postgres", "postgres")
    if not (pgdata / "PG_VERSION").exists():
        authentication = ["-A", "trust"]
        if password is not None:
            password_file = socket_dir / "password"
            password_file.write_text(password, encoding="utf-8")
            if as_user:
                shutil.chown(password_file, "postgres", "postgres")
            authentication = ["-A", "scram-sha-256", f"--pwfile={password_file}"]
        _run(
            [
                *as_user,
                str(binaries / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                *authentication,
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        (socket_dir / "password").unlink(missing_ok=True)
    port = _free_port()
    options = f"-k {socket_dir} -p {port} -c listen_addresses=''"
    _run(
        [
            *as_user,
            str(binaries / "pg_ctl"),
            "-D",
            str(pgdata),
            "-o",
            options,
            "-w",
            "-l",
            str(pgdata / "server.log"),
            "start",
        ]
    )
    try:
        login = "postgres" if password is None else f"postgres:{quote(password, safe='')}"
        yield f"postgresql://{login}@/postgres?host={socket_dir}&port={port}"
    finally:
        _run([*as_user, str(binaries / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"])
        shutil.rmtree(socket_dir, ignore_errors=True)


def server_folder(pgdata: Path) -> Path:
    """Where the cluster lives: ``pgdata``, or for root (whose home the postgres user
    cannot enter) a folder under /var/lib/csvflow named after it, so it is found again."""
    if os.geteuid() != 0:
        return pgdata
    return ROOT_SERVERS / hashlib.sha256(str(pgdata.resolve()).encode()).hexdigest()[:16]


def _version(folder: Path) -> list[int]:
    return [int(part) for part in re.findall(r"\d+", str(folder))]


def _free_port() -> int:
    with socket.socket() as probe:  # the number only names the socket file; nothing listens on TCP
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run(command: list[str]) -> None:
    # (bandit B603: the command is built here from the PostgreSQL binaries' absolute paths and
    # csvflow's own folders; nothing in it comes from a file or an event)
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # nosec B603
    if result.returncode:
        raise ConfigurationError(
            f"the embedded PostgreSQL did not start: {' '.join(command[-3:])}: "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )
