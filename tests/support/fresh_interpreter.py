"""Code run in a fresh Python interpreter: what it imports is its own, not the test session's,
whose imports every test shares."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any


def last_json_line(code: str, *args: str, timeout: float = 120) -> Any:
    """Run ``code`` (dedented) with ``args`` as ``sys.argv[1:]``; the JSON its last stdout
    line holds."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
