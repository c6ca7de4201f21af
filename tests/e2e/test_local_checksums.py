"""The emulated account sends S3 bodies plainly (moto decodes checksum trailers slowly)."""

from __future__ import annotations

import os

import pytest

from csvflow.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e

CHECKSUM_VARIABLES = ("AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION")


def test_the_runtime_sends_bodies_without_checksum_trailers_and_restores_the_setting(
    database_url, monkeypatch
):
    for name in CHECKSUM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_supported")

    with LocalRuntime(database_url=database_url) as running:
        seen = {name: os.environ.get(name) for name in CHECKSUM_VARIABLES}
        # A client made while the runtime runs (as the functions make theirs) reads it.
        config = running.s3.meta.config
        assert config.request_checksum_calculation == "when_required"

    assert seen == dict.fromkeys(CHECKSUM_VARIABLES, "when_required")
    assert "AWS_REQUEST_CHECKSUM_CALCULATION" not in os.environ
    assert os.environ["AWS_RESPONSE_CHECKSUM_VALIDATION"] == "when_supported"
