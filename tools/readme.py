"Write README.md from nbs/index.ipynb: markdown as is, code and its text outputs fenced, hidden cells left out."
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

def cell_md(cell):
    if cell["cell_type"] == "markdown": return "".join(cell["source"]).strip()
    if cell["cell_type"] == "code": return code_md(cell)

text = "\n\n".join(md for md in map(cell_md, nb["cells"]) if md) + "\n"
tmp = root/"README.md.tmp"
tmp.write_text(text)
os.replace(tmp, root/"README.md")
