"""Addresses the package spells in one place only."""

from __future__ import annotations

import ast
from pathlib import Path

import csvflow
from csvflow.domain.model import ObjectRef, parse_s3_uri, s3_uri

PACKAGE = Path(csvflow.__file__).parent


def _spells_an_s3_uri(path: Path) -> bool:
    """A string in the code (comments aside) that holds the scheme."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Constant) and isinstance(node.value, str) and "s3://" in node.value
        for node in ast.walk(tree)
    )


def test_s3_uris_are_built_by_one_function():
    spelled = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if _spells_an_s3_uri(path)
    )
    assert spelled == ["domain/model.py"]


def test_an_s3_uri_reads_back_as_its_bucket_and_key():
    uri = s3_uri("bucket", "reports/x/rejects.csv")
    assert (
        uri
        == ObjectRef("bucket", "reports/x/rejects.csv").uri
        == "s3://bucket/reports/x/rejects.csv"
    )
    assert parse_s3_uri(uri) == ("bucket", "reports/x/rejects.csv")
