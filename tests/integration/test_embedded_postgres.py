"""The embedded PostgreSQL's fallback to the machine's own binaries (Python 3.13 has no pgserver)."""

import shutil

import psycopg2
import pytest

from csvflow.local.embedded_postgres import server_folder, system_binaries, system_server


def test_the_machines_postgresql_binaries_run_a_private_server(tmp_path):
    binaries = system_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL binaries on this machine")
    data = tmp_path / "pg"
    for _ in range(2):  # created once, started again from the same folder
        with system_server(data / "system", binaries) as url:
            conn = psycopg2.connect(url)
            try:
                with conn, conn.cursor() as cur:
                    cur.execute("CREATE TABLE IF NOT EXISTS kept (n int)")
                    cur.execute("INSERT INTO kept VALUES (1)")
                    cur.execute("SELECT count(*) FROM kept")
                    seen = cur.fetchone()[0]
            finally:
                conn.close()
    assert seen == 2  # the second start found the first one's data
    shutil.rmtree(server_folder(data / "system"), ignore_errors=True)
