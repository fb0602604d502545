"""Run notebooks and store their outputs in them (the tutorials keep theirs, for the docs site, GitHub and Colab readers).
Cells flagged with a test flag from settings.ini (cuda, slow) or `#| eval: false` are not run; stderr (progress bars,
warnings) and widget views (they need the live kernel) are not stored. Run from the repository root: python tools/outputs.py nbs/tutorial*.ipynb; then nbdev_clean."""
import os, sys
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbdev.config import get_config
from nbdev.process import NBProcessor

def run(path: Path):
    flags = set(get_config().tst_flags.split())
    nb = read_nb(path)
    directives = {c.idx_: c.directives_ for c in NBProcessor(path, process=True).nb.cells}
    def skip(cell):
        d = directives.get(cell.idx_, {})
        return cell.cell_type != "code" or bool(flags & d.keys()) or d.get("eval:", [""])[0].lower() == "false"
    cwd = os.getcwd()
    os.chdir(path.parent)
    try: CaptureShell(path).run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(cwd)
    for c in nb.cells:
        if c.cell_type != "code": continue
        c.outputs = [o for o in c.get("outputs", []) if o.get("name") != "stderr"]
        for o in c.outputs:  # a widget's view needs its live kernel: keep the text form
            if "data" in o: o["data"].pop("application/vnd.jupyter.widget-view+json", None)
    write_nb(nb, path)
    print(f"{path}: outputs stored")

if __name__ == "__main__":
    for p in sys.argv[1:]: run(Path(p))
