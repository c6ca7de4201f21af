"""The ``csvflow`` command: one module per command group, wired together in ``main``.

``main`` builds the parser from each group's ``register``; the groups share only the helpers
below them (``errors``, ``format``, ``database``, ``target``, ``since``), never each other.
"""

from csvflow.cli.main import main

__all__ = ["main"]
