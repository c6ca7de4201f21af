"""bench/dialect_corpus.py, loaded once for the tests that judge csvflow on a dialect corpus
(bench/ is scripts, not a package), how those tests judge csvflow on a set of files, and how they
list the files not read right."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Collection, Iterable, Mapping
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


def judged_by_csvflow(files: Iterable[Any], title: str) -> dict[str, Any]:
    """Each file's verdict on `csvflow profile --json`, by name; the figures and the files not read
    right are printed (shown with -s or on failure) so a run tells where a held-out set stands."""
    verdicts = {e.name: corpus.classify(e, corpus.read_with_csvflow(e.path)) for e in files}
    shares = corpus.shares(verdicts.values())
    print(
        f"\n{title}: {shares.files} files, {shares.right_share:.1%} right, "
        f"{shares.misread_share:.1%} misread, {shares.refused_share:.1%} refused, "
        f"{shares.crashed} crashed"
    )
    print(listing(verdicts, {corpus.Outcome.MISREAD, corpus.Outcome.REFUSED}))
    return verdicts


def assert_none_crashed(verdicts: Mapping[str, Any]) -> None:
    crashed = {name: v for name, v in verdicts.items() if v.crashed}
    assert not crashed, "csvflow crashed on:\n" + listing(crashed, set(corpus.Outcome))


def assert_right_at_least(verdicts: Mapping[str, Any], measured: int) -> None:
    """No fewer files read right than the figure measured when the floor was set."""
    shares = corpus.shares(verdicts.values())
    assert shares.right >= measured, (
        f"{shares.right} of {shares.files} read right, {measured} were; not right:\n"
        + listing(verdicts, {corpus.Outcome.MISREAD, corpus.Outcome.REFUSED})
    )


def assert_misread_at_most(verdicts: Mapping[str, Any], measured: int) -> None:
    """No more files misread than the figure measured when the ceiling was set."""
    shares = corpus.shares(verdicts.values())
    assert shares.misread <= measured, (
        f"{shares.misread} of {shares.files} misread, {measured} were:\n"
        + listing(verdicts, {corpus.Outcome.MISREAD})
    )
