"""Parity with the AWS SDK for pandas layer the functions run on (layers/managed-pandas-layer.toml).

The tests run on PyPI's wheels; the functions on the layer's own build. These hold the two
together: the versions pinned for tests and local runs, the layer version samconfig.toml
deploys, and the codecs the code asks pyarrow for.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from packaging.requirements import Requirement

from csvflow.parquet_files import PARQUET_CODEC, parquet_writer, write_parquet_table
from tests.support.managed_layer import ROOT, load_managed_layer

LAYER = load_managed_layer()
LAYER_ARN = re.compile(r"PandasLayerArn=(\S+)")


def _pins() -> dict[str, set[str]]:
    """The versions pyproject.toml pins each layer package to, wherever it lists it.

    pyarrow and numpy are runtime dependencies; pandas, which csvflow never imports, is pinned
    where the tests and the benchmark need it (their extras).
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = [project["dependencies"], *project.get("optional-dependencies", {}).values()]
    pins: dict[str, set[str]] = {}
    for line in (line for group in groups for line in group):
        requirement = Requirement(line)
        if requirement.name in LAYER.packages:
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{line}: pin the layer's version exactly"
            pins.setdefault(requirement.name, set()).add(specifier.version)
    return pins


def _samconfig_layer_arns() -> dict[str, str]:
    """The PandasLayerArn of every samconfig.toml section that sets one, by section."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    found = {}
    for environment, commands in config.items():
        if not isinstance(commands, dict):
            continue  # the file's `version`
        for command, table in commands.items():
            overrides = table.get("parameters", {}).get("parameter_overrides", "")
            for arn in LAYER_ARN.findall(overrides):
                found[f"{environment}.{command}"] = arn
    return found


def test_pyproject_pins_the_layers_pandas_pyarrow_and_numpy():
    assert _pins() == {name: {version} for name, version in LAYER.packages.items()}


def test_the_tests_run_on_the_layers_versions():
    installed = {name: version(name) for name in LAYER.packages}
    assert installed == LAYER.packages, "reinstall: pip install -e '.[dev]'"


def test_every_samconfig_section_deploys_the_recorded_layer_version():
    arns = _samconfig_layer_arns()
    assert {
        "default.deploy",
        "default.local_invoke",
        "default.local_start_lambda",
        "prod.deploy",
    } <= set(arns)
    assert arns == dict.fromkeys(arns, LAYER.arn)


def test_the_parquet_codec_is_one_the_layers_pyarrow_has():
    assert PARQUET_CODEC in LAYER.codecs


def test_the_layers_codecs_are_codecs_pyarrow_knows():
    assert all(pa.Codec.is_available(codec) for codec in LAYER.codecs)


@pytest.mark.parametrize("codec", ["zstd", "lz4", "brotli", "ZSTD"])
def test_every_test_runs_on_a_pyarrow_that_refuses_what_the_layer_lacks(tmp_path: Path, codec):
    # tests/conftest.py keeps the refusal on for the whole run: asking for zstd here fails
    # as it does on the layer's pyarrow, with its message.
    table = pa.table({"n": [1, 2, 3]})
    with pytest.raises(pa.ArrowNotImplementedError, match="Support for codec '.*' not built"):
        pq.write_table(table, tmp_path / "t.parquet", compression=codec)
    with pytest.raises(pa.ArrowNotImplementedError):
        pq.ParquetWriter(tmp_path / "w.parquet", table.schema, compression=codec)
    with pytest.raises(pa.ArrowNotImplementedError):
        pq.write_table(table, tmp_path / "c.parquet", compression={"n": codec})
    with pytest.raises(pa.ArrowNotImplementedError):
        table.to_pandas().to_parquet(tmp_path / "p.parquet", compression=codec)
    with pytest.raises(pa.ArrowNotImplementedError):
        pa.compress(b"abc", codec=codec)
    with pytest.raises(pa.ArrowNotImplementedError):
        pa.Codec(codec)
    assert not pa.Codec.is_available(codec)
    with pytest.raises(pa.ArrowNotImplementedError):
        pa.CompressedOutputStream(pa.BufferOutputStream(), codec)
    with pytest.raises(pa.ArrowNotImplementedError):
        pa.ipc.IpcWriteOptions(compression=codec.lower())


def test_files_the_layer_could_not_read_are_refused_too(tmp_path: Path):
    # Written by a process without the refusal, as another tool would write it.
    path = tmp_path / "zstd.parquet"
    write = f"import pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({{'n': [1]}}), {str(path)!r}, compression='zstd')"
    subprocess.run([sys.executable, "-c", write], check=True, timeout=60)
    with pytest.raises(pa.ArrowNotImplementedError):
        pq.read_table(path)
    with pytest.raises(pa.ArrowNotImplementedError):
        pq.ParquetFile(path)


def test_what_the_layer_has_still_works(tmp_path: Path):
    table = pa.table({"n": [1, 2, 3], "s": ["a", "b", None]})
    for codec in sorted(LAYER.codecs | {"none"}):
        path = tmp_path / f"{codec}.parquet"
        pq.write_table(table, path, compression=codec)
        assert pq.read_table(path).equals(table)
    assert pa.decompress(pa.compress(b"abc", codec="gzip"), 3, codec="gzip").to_pybytes() == b"abc"


def test_csvflows_parquet_files_use_the_one_codec(tmp_path: Path):
    table = pa.table({"n": [1, 2, 3]})
    write_parquet_table(table, tmp_path / "table.parquet")
    with parquet_writer(tmp_path / "batches.parquet", table.schema) as writer:
        writer.write_table(table)
    for name in ("table.parquet", "batches.parquet"):
        column = pq.read_metadata(tmp_path / name).row_group(0).column(0)
        assert column.compression == PARQUET_CODEC.upper()
