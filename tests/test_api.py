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

# Modules the package imports that no requirement brings, each with why that is safe.
NOT_REQUIRED = {"ipykernel": "imported only inside a running Jupyter kernel, which is ipykernel",
                "jupyter_client": "likewise, a dependency of ipykernel",
                "liger_kernel": "optional: used only when installed (find_spec first)",
                "llama_cpp": "built and installed by qlora_nb.runtimes.install_llama_cpp, which export_gguf asks for first"}

def _needed_distributions() -> set:
    "The distributions that installing settings.ini's `requirements` installs: the requirements and all they need."
    import configparser
    from importlib.metadata import PackageNotFoundError, requires
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    cfg = configparser.ConfigParser(delimiters=["="]); cfg.read(ROOT/"settings.ini")
    todo, seen = [Requirement(r) for r in cfg["DEFAULT"]["requirements"].split()], set()
    while todo:
        req = todo.pop()
        if canonicalize_name(req.name) in seen or (req.marker and not req.marker.evaluate({"extra": ""})): continue
        seen.add(canonicalize_name(req.name))
        try: todo += [Requirement(r) for r in requires(req.name) or []]
        except PackageNotFoundError: pass  # not installed here: it brings nothing this check can see
    return seen

def test_imports_are_required():
    "Every module the package imports comes with its declared requirements: `bash tools/setup.sh && qlora-nb demo` runs."
    import ast, sys
    from importlib.metadata import packages_distributions
    from packaging.utils import canonicalize_name
    provided, needed, missing = packages_distributions(), _needed_distributions(), set()
    for path in sorted((ROOT/"qlora_nb").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import): names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0: names = [node.module]
            else: continue
            for top in {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - {"qlora_nb"} - set(NOT_REQUIRED):
                if not {canonicalize_name(d) for d in provided.get(top, [])} & needed: missing.add(f"{top} ({path.name})")
    assert not missing, f"imported but not brought by settings.ini's requirements: {sorted(missing)}"
