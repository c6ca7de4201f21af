"""bench/dialect_corpus.py, loaded once for the tests that judge csvflow on a dialect corpus
(bench/ is scripts, not a package), and how those tests list the files not read right."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "dialect_corpus", ROOT / "bench" / "dialect_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


corpus = sys.modules.get("dialect_corpus") or _load()


def listing(verdicts: Mapping[str, Any], outcomes: Collection[Any]) -> str:
    """A line per file whose verdict is one of ``outcomes``: outcome, name, reason."""
    return "\n".join(
        f"  {v.outcome.value} {name}: {v.reason}"
        for name, v in verdicts.items()
        if v.outcome in outcomes
    )
