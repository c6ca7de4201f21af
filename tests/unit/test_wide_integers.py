"""Integers above 2**53 (18-digit ids) stay exact: inferred as int64, profiled, aggregated."""

import json

import pyarrow.parquet as pq

from csvflow.local.profile import profile_file
from tests.unit.test_handlers import BUCKET, run_steps, upload, world  # noqa: F401

IDS = (123456789012345678, 123456789012345679, 923456789012345678)
ROWS = "".join(f"{i},{n}\n" for n, i in enumerate(IDS, start=1))


def test_profile_keeps_18_digit_ids_exact(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,amount\n" + ROWS)

    result = profile_file(path)

    assert result["status"] == "SUCCEEDED", result
    (ids, _) = result["columns"]
    assert ids["type"] == "int"
    assert (ids["min"], ids["max"]) == (min(IDS), max(IDS))
    assert ids["distinct"] == 3


def test_the_steps_keep_18_digit_ids_exact_in_parquet_and_aggregates(world, tmp_path):  # noqa: F811
    handle, store, repository, _ = world
    store.put(
        BUCKET,
        "contracts/ids.yaml",
        b"aggregates:\n"
        b"  - {name: by_id, group_by: [id], metrics: [{column: id, op: sum}, {column: id, op: mean}]}\n",
    )
    source = upload(store, "incoming/ids/ids.csv", ("id,amount\n" + ROWS).encode())

    validation, summary, _ = run_steps(handle, source, "ids")

    validated = store.objects[(BUCKET, validation["validated"]["key"])]
    path = tmp_path / "validated.parquet"
    path.write_bytes(validated)
    assert pq.read_table(path)["id"].to_pylist() == list(IDS)
    (saved,) = repository.ingestions.values()
    profile = saved["summary"].columns[0]
    assert json.loads(json.dumps(profile["max"])) == max(IDS)
    groups = saved["summary"].aggregates["by_id"]
    assert groups["id"].to_pylist() == sorted(IDS)
    assert groups["sum_id"].to_pylist() == sorted(IDS)
