"""The figures of the code's shape that issue 19 asks for, measured on the notebooks and the package:
public functions with three or more parameters that document all of them (docments), exported cells with a
test right below them, and the median exported cell's length."""
import importlib, inspect, json, statistics, sys
from pathlib import Path
from fastcore.docments import docments

ROOT = Path(__file__).resolve().parents[1]

def documented():
    "(documented, total, undocumented names) over public functions and methods with 3+ parameters (self and **kw not counted)."
    done, todo = 0, []
    for nb in sorted((ROOT/"nbs").glob("[0-9][0-9]_*.ipynb")):
        mod = importlib.import_module(f"qlora_nb.{nb.stem.split('_', 1)[1]}")
        objs = [(n, getattr(mod, n)) for n in mod.__all__]
        objs += [(f"{n}.{m}", f) for n, c in objs if inspect.isclass(c) and c.__module__ == mod.__name__
                 for m, f in vars(c).items() if inspect.isfunction(f) and (not m.startswith("_") or m == "__init__")
                 and not any(m in vars(b) for b in c.__mro__[1:] if b is not object)]  # an upstream hook (on_log ...) is documented upstream
        for name, f in objs:
            if not inspect.isfunction(f) or f.__module__ != mod.__name__: continue
            ps = [p for p in inspect.signature(f).parameters.values() if p.name not in ("self", "cls") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
            if len(ps) < 3: continue
            try: d = docments(f)
            except OSError: continue  # made by @dataclass: its fields carry their comments
            if all(d.get(p.name) for p in ps): done += 1
            else: todo.append(f"{mod.__name__.split('.')[-1]}.{name}")
    return done, done + len(todo), todo

def cells():
    "(exported cells, those with a test cell right below, median lines, longest lines and where)."
    n = tested = 0; sizes, longest = [], (0, "")
    for nb in sorted((ROOT/"nbs").glob("[0-9][0-9]_*.ipynb")):
        cs = json.loads(nb.read_text())["cells"]
        for i, c in enumerate(cs):
            src = "".join(c["source"])
            if c["cell_type"] != "code" or not src.startswith("#| export"): continue
            lines = [l for l in src.splitlines()[1:] if l.strip()]
            if not lines or all(l.startswith(("from ", "import ")) for l in lines): continue  # the imports cell
            n += 1; sizes.append(len(lines)); longest = max(longest, (len(lines), nb.name))
            nxt = next((d for d in cs[i + 1:] if d["cell_type"] == "code"), None)
            between = cs[i + 1:cs.index(nxt)] if nxt else []
            if nxt and not "".join(nxt["source"]).startswith("#| export") and all(b["cell_type"] == "markdown" for b in between): tested += 1
    return n, tested, statistics.median(sizes), longest

if __name__ == "__main__":
    d, t, todo = documented()
    n, tested, med, longest = cells()
    print(f"public functions with 3+ parameters documented: {d} of {t}")
    if "-v" in sys.argv: print("  not yet:", ", ".join(todo))
    print(f"exported cells with a test right below: {tested} of {n} ({100 * tested / n:.0f}%)")
    print(f"median exported cell: {med} lines; longest: {longest[0]} lines ({longest[1]})")
