"""docs/scale.md's tables are bench/scale_model.py's output: re-run the model, find each table."""

import importlib.util
import sys
from pathlib import Path

from csvflow.local.sam_template import read_template

ROOT = Path(__file__).parents[2]


def _model():
    spec = importlib.util.spec_from_file_location("scale_model", ROOT / "bench" / "scale_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_table_of_the_scale_page_is_the_models_output():
    page = (ROOT / "docs" / "scale.md").read_text()
    tables = [block for block in _model().doc().split("\n\n") if block.startswith("|")]
    assert len(tables) == 4
    for table in tables:
        assert table in page, table.splitlines()[0]


def test_the_model_prices_the_deployed_part_function_and_part_size():
    deployed = _model().DEPLOYED
    functions = read_template(ROOT / "template.yaml")["Resources"]
    part_function = functions["ValidatePartFunction"]["Properties"]
    # The starter plans the parts: its setting is the part size.
    starter = functions["StarterFunction"]["Properties"]["Environment"]["Variables"]
    assert part_function["MemorySize"] == deployed.part_memory_mb
    assert int(starter["CSVFLOW_PART_BYTES"]) == deployed.part_bytes
