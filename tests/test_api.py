"""The package's shape as a user meets it: `from qlora_nb.<module> import *` binds no method names, and the book order
holds (no chapter, in its code or in its notebook's examples, imports a later chapter)."""
import importlib, inspect, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {p.stem.split("_", 1)[1]: p for p in sorted((ROOT/"nbs").glob("[0-9][0-9]_*.ipynb"))}  # module: its notebook

@pytest.mark.parametrize("module", sorted(CHAPTERS))
def test_all_holds_no_methods(module):
    mod = importlib.import_module(f"qlora_nb.{module}")
    methods = [n for n in mod.__all__ if inspect.isfunction(obj := getattr(mod, n))
               and next(iter(inspect.signature(obj).parameters), None) in ("self", "cls")]
    assert not methods, f"qlora_nb.{module}.__all__ holds methods (write them with @patch or in the class): {methods}"

def _imports(source: str) -> set:
    "The qlora_nb modules that `source` imports, anywhere in it (lazy imports inside functions too)."
    found = re.findall(r"(?:from|import)\s+(?:qlora_nb\.|\.)(\w+)", source)
    return {m for m in found if m in CHAPTERS}

@pytest.mark.parametrize("module", sorted(CHAPTERS))
def test_book_order(module):
    "A chapter, in its code and in its examples, uses only the chapters before it: the docs read in order."
    nb = CHAPTERS[module]
    cells = json.loads(nb.read_text())["cells"]
    used = _imports("\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))
    later = sorted(m for m in used if CHAPTERS[m].name > nb.name)
    assert not later, f"{nb.name} imports later chapters: {later}"
