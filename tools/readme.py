"""Write README.md from nbs/index.ipynb: markdown as is, code and its text outputs fenced, hidden cells left out, and links
to docs pages pointed at their notebooks, which are there on GitHub and in a clone (the docs site builds its own index)."""
import json, os, re
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = json.loads((root/"nbs"/"index.ipynb").read_text())

def code_md(cell):
    src = "".join(cell["source"])
    if re.search(r"^#\|\s*hide", src, re.M): return None
    src = "\n".join(l for l in src.splitlines() if not l.startswith("#|")).strip()
    parts = [f"```python\n{src}\n```"] if src else []
    for out in cell.get("outputs", []):
        text = "".join(out.get("text", "")) or "".join(out.get("data", {}).get("text/plain", ""))
        if text.strip(): parts.append(f"```\n{text.rstrip()}\n```")
    return "\n\n".join(parts) or None

PAGES = {re.sub(r"^\d+_", "", p.stem) + ".html": f"nbs/{p.name}" for p in (root/"nbs").glob("*.ipynb")}  # as nbdev names pages

def local_links(md: str) -> str:
    "`md` with its links to docs pages (`config.html#anchor`) pointing at the pages' notebooks (`nbs/00_config.ipynb`)."
    return re.sub(r"\]\(([\w.-]+\.html)(#[\w.-]+)?\)", lambda m: f"]({PAGES[m[1]]})" if m[1] in PAGES else m[0], md)

def cell_md(cell):
    if cell["cell_type"] == "markdown": return local_links("".join(cell["source"]).strip())
    if cell["cell_type"] == "code": return code_md(cell)

text = "\n\n".join(md for md in map(cell_md, nb["cells"]) if md) + "\n"
tmp = root/"README.md.tmp"
tmp.write_text(text)
os.replace(tmp, root/"README.md")
