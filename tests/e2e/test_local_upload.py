"""The local run's upload reports its progress as the emulator reads the file."""

from __future__ import annotations

import pytest

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
