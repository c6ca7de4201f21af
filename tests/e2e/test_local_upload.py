"""The local run's upload reports its progress as the emulator reads the file."""

from __future__ import annotations

import pytest

from tests.support.function_settings import told_after_every_block

pytestmark = pytest.mark.e2e


def test_an_upload_reports_its_bytes_up_to_the_whole_file(runtime, tmp_path):
    path = tmp_path / "progress.csv"
    path.write_text("id,amount\n" + "".join(f"{i},{i * 0.5}\n" for i in range(200_000)))
    reports: list[tuple[int, int]] = []

    upload = runtime.upload(path, on_progress=lambda sent, total: reports.append((sent, total)))
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=120)

    size = path.stat().st_size
    sent = [s for s, _ in reports]
    assert {total for _, total in reports} == {size}
    assert sent == sorted(sent) and sent[-1] == size
    assert len(set(sent)) > 1  # progress along the way, not only at the end
    assert result.status == "SUCCEEDED"


def test_validation_tells_its_rows_while_it_runs(runtime, tmp_path):
    told_after_every_block(runtime)
    path = tmp_path / "told.csv"
    path.write_text("id,amount\n" + "".join(f"{i},{i * 0.5}\n" for i in range(50_000)))
    heard: list[tuple[str, dict]] = []

    (result,) = runtime.run(
        [path], on_validation_progress=lambda upload, figures: heard.append((upload.file, figures))
    )

    assert result.status == "SUCCEEDED"
    assert {file for file, _ in heard} == {str(path)}
    rows = [figures["rows"] for _, figures in heard]
    assert len(rows) > 3 and rows == sorted(rows) and 0 < rows[-1] <= 50_000
    assert all(f["bytes_total"] == path.stat().st_size for _, f in heard)
    assert all(0 < f["bytes_read"] <= f["bytes_total"] for _, f in heard)
