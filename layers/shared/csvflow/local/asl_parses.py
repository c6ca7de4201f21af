"""A state machine's definition parsed once for its creation and its first execution.

moto's Step Functions (5.2) parses a definition with its ANTLR parser, in Python, when the
state machine is created (to validate it; the program made is thrown away) and again when
each execution starts (``ExecutionWorker._get_evaluation_entrypoint``). `csvflow run` creates
the state machine and executes it once: the second parse of the same text lay between the
upload's event and the first state (docs/adr/0028). Here the program made when a definition
is validated is kept, not yet evaluated, and the next parse of the same text takes it; any
later parse makes its own, as before (each execution evaluates a program of its own).

A seam into moto's Step Functions, as map_runs.py; ``tests/integration/test_asl_parses.py``
fails if an upgrade moves it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def definitions_parsed_once_for_their_first_execution() -> Iterator[None]:
    """While entered, the parse that validates a definition is the next one of its text."""
    # Imported here, as the runtime starts: moto's parser imports its Batch integration,
    # which must find moto.batch deferred first (moto_imports.py).
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_parse = AmazonStateLanguageParser.__dict__["parse"]
    original_validate = StepFunctionsParserBackend.__dict__["_validate_definition"]
    parse_definition = original_parse.__func__
    validate_definition = original_validate.__func__
    kept: dict[str, Any] = {}  # by definition: a program and its tree, not yet evaluated
    lock = threading.Lock()
    validating = threading.local()

    def parse(definition: str) -> Any:
        with lock:
            parsed = kept.pop(definition, None)
        if parsed is None:
            parsed = parse_definition(definition)
        if getattr(validating, "definition", None) == definition:
            with lock:
                kept[definition] = parsed
        return parsed

    def validate(definition: str) -> None:
        validating.definition = definition
        try:
            validate_definition(definition)
        finally:
            validating.definition = None

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    StepFunctionsParserBackend._validate_definition = staticmethod(validate)  # type: ignore[method-assign]
    try:
        yield
    finally:
        AmazonStateLanguageParser.parse = original_parse  # type: ignore[method-assign]
        StepFunctionsParserBackend._validate_definition = original_validate  # type: ignore[method-assign]
