"""moto's Batch backend loaded when it is used, not whenever Step Functions is imported.

moto's Step Functions interpreter (5.2) imports its Batch task integration, which imports
``moto.batch.utils`` for one enum; importing that runs ``moto.batch``'s ``__init__``, which
imports Batch's backend, and that EC2's (instance types, AMIs, regions): 0.75 s of CPU and
96 MB that the local stack (S3, SNS, SQS, Lambda, Step Functions, IAM, Secrets Manager, Logs)
never uses (docs/adr/0020). Here ``moto.batch`` is a package whose ``__init__`` runs on the
first use of a name it defines (``batch_backends``, as moto's backend registry asks for it);
its submodules (``moto.batch.utils``) import as usual.

A seam into how moto lays out its packages; ``tests/integration/test_moto_imports.py`` fails
if an upgrade moves it.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

DEFERRED_PACKAGE = "moto.batch"


def defer_batch_backend() -> bool:
    """Make ``moto.batch``'s ``__init__`` run on first use; whether it was deferred (not when
    moto is absent or the package is already imported)."""
    if DEFERRED_PACKAGE in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(DEFERRED_PACKAGE)
    except ModuleNotFoundError:  # no moto: the local extra is not installed
        return False
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return False
    package = importlib.util.module_from_spec(spec)  # __path__ and __spec__, not yet run
    loader = spec.loader

    def run_init_on_first_use(name: str) -> Any:
        # Python calls a module's __getattr__ only for names it does not define: once the
        # __init__ has run, a name missing still raises as usual.
        del package.__getattr__
        loader.exec_module(package)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {DEFERRED_PACKAGE!r} has no attribute {name!r}") from None

    package.__getattr__ = run_init_on_first_use  # type: ignore[method-assign]
    sys.modules[DEFERRED_PACKAGE] = package
    parent: ModuleType = importlib.import_module("moto")
    setattr(parent, "batch", package)  # noqa: B010 - as the import system sets a submodule
    return True
