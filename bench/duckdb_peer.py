"""DuckDB doing csvflow's work on the benchmark file: the fastest engine here, as a yardstick.

Validate: read the CSV with the contract's types, rejected rows kept aside (store_rejects),
the good rows written as Parquet with csvflow's codec (like for like). Summarize: one pass over
that Parquet for every column's count, nulls, min, max, approximate distinct count and, by
type, mean, standard deviation and quartiles or lengths and top values; then the contract's
group-by.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import yaml

from csvflow.parquet_files import PARQUET_CODEC

TYPES = {"int": "BIGINT", "float": "DOUBLE", "date": "DATE", "string": "VARCHAR"}


def same_work(path: str, contract_path: str) -> int:
    contract = yaml.safe_load(Path(contract_path).read_text(encoding="utf-8"))
    columns = {c["name"]: TYPES[c["type"]] for c in contract["columns"]}
    declared = "{" + ", ".join(f"'{n}': '{t}'" for n, t in columns.items()) + "}"
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp, "validated.parquet")
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")  # the benchmark reads this process's stdout
        con.execute(
            f"COPY (SELECT * FROM read_csv('{path}', header = true, columns = {declared},"
            f" store_rejects = true)) TO '{parquet}' (FORMAT parquet, COMPRESSION {PARQUET_CODEC})"
        )
        measures = []
        for name, kind in columns.items():
            c = f'"{name}"'
            measures += [f"count({c})", f"count(*) - count({c})", f"min({c})", f"max({c})"]
            measures.append(f"approx_count_distinct({c})")
            if kind in ("BIGINT", "DOUBLE"):
                measures += [f"avg({c})", f"stddev_samp({c})"]
                measures.append(f"approx_quantile({c}, [0.25, 0.5, 0.75])")
            if kind == "VARCHAR":
                measures += [f"min(length({c}))", f"max(length({c}))", f"approx_top_k({c}, 10)"]
        con.execute(f"SELECT {', '.join(measures)} FROM '{parquet}'").fetchall()
        for aggregate in contract.get("aggregates", []):
            keys = ", ".join(f'"{k}"' for k in aggregate["group_by"])
            metrics = ", ".join(f'{m["op"]}("{m["column"]}")' for m in aggregate["metrics"])
            con.execute(f"SELECT {keys}, {metrics} FROM '{parquet}' GROUP BY {keys}").fetchall()
        rows: int = con.execute(f"SELECT count(*) FROM '{parquet}'").fetchone()[0]  # type: ignore[index]
        return rows
