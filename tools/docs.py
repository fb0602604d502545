"""Build the docs site into _docs/ without Quarto: the notebooks go through nbdev's own processors (`proc_nbs`: show_doc
rendered, hidden cells and export directives gone, front matter read), then nbconvert turns each into HTML inside one
page layout with a sidebar. `nbdev_docs` (Quarto) still works from the same notebooks where Quarto is installed.
Run: python tools/docs.py [--out DIR]"""
import argparse, html, re, shutil
import yaml
from pathlib import Path
import nbformat
from nbconvert import HTMLExporter
from nbdev.config import get_config
from nbdev.serve import proc_nbs

ROOT = Path(__file__).resolve().parent.parent
# The order of the sidebar: sections of (title, notebook stems); notebooks not named here go under "Reference" in file order.
SECTIONS = [("Get started", ["index"]), ("Tutorials", None), ("Reference", None)]

def front_matter(nb) -> dict:
    "The YAML-ish front matter nbdev's processors leave in the first raw cell (title, description, output-file, ...)."
    if nb.cells and nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---"):
        return {k: str(v) for k, v in (yaml.safe_load(nb.cells.pop(0).source.strip().strip("-")) or {}).items()}
    return {}

def directives(src: str) -> tuple:
    "Quarto directives (`#| echo: false`) of a code cell, and its source without them."
    lines = src.splitlines()
    d = {m.group(1): m.group(2).strip() for l in lines if (m := re.match(r"#\|\s*([\w-]+):\s*(.*)", l))}
    return d, "\n".join(l for l in lines if not l.startswith("#|")).strip()

def prepare(nb):
    "Drop what a reader should not see: directive lines, inputs with echo: false, outputs with output: false, widget state."
    for c in nb.cells:
        if c.cell_type != "code": continue
        d, c.source = directives(c.source)
        if d.get("echo") == "false": c.metadata["transient"] = {"remove_source": True}; c.source = ""
        if d.get("output") == "false": c.outputs = []
        for o in c.get("outputs", []):  # a widget cannot render on a static page: keep its text form
            if "data" in o: o["data"].pop("application/vnd.jupyter.widget-view+json", None)
    nb.cells = [c for c in nb.cells if c.source.strip() or c.get("outputs")]
    nb.metadata.pop("widgets", None)
    return nb

def page_name(nb_path: Path, fm: dict) -> str:
    "The page's file name: the front matter's output-file, else the notebook's name without its number prefix."
    return fm.get("output-file") or re.sub(r"^\d+[a-z]?_", "", nb_path.stem) + ".html"

def slug(text: str) -> str:
    "A heading's anchor as Quarto makes it (nbdev's doc links use these): lower case, spaces to dashes."
    return re.sub(r"[^\w.-]", "", html.unescape(text).strip().lower().replace(" ", "-"))

def fix_html(body: str, names: dict) -> str:
    "Links to notebooks point to their pages; headings get Quarto's anchors; Pandoc link attributes become HTML ones."
    def link(m):
        target, anchor = m.group(2), m.group(3) or ""
        return f'{m.group(1)}"{names.get(target, target)}{anchor}"'
    body = re.sub(r'(href=)"([\w./-]+\.ipynb)(#[^"]*)?"', link, body)
    ids = {m: slug(m) for m in re.findall(r'<h\d id="([^"]+)"', body)}
    body = re.sub(r'(<h\d id=")([^"]+)(")', lambda m: m.group(1) + ids[m.group(2)] + m.group(3), body)
    body = re.sub(r'(class="anchor-link" href="#)([^"]+)(")', lambda m: m.group(1) + ids.get(m.group(2), m.group(2)) + m.group(3), body)
    return re.sub(r'(<a [^>]*)>([^<]*)</a>\{([^}]*)\}', lambda m: f'{m.group(1)} {html.unescape(m.group(3))}>{m.group(2)}</a>', body)

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title><meta name="description" content="{description}">
<link rel="stylesheet" href="site.css"><link rel="stylesheet" href="styles.css"></head>
<body><nav class="sidebar"><a class="site" href="index.html">{site}</a>{nav}</nav>
<main><header><h1 class="title">{title}</h1><p class="description">{description}</p></header>
{body}</main></body></html>"""

CSS = """body{margin:0;display:flex;font-family:system-ui,sans-serif;line-height:1.55;color:#1f2937}
.sidebar{width:250px;min-height:100vh;padding:16px;background:#f8fafc;border-right:1px solid #e5e7eb;flex-shrink:0}
.sidebar a{display:block;padding:2px 0;color:#1d4ed8;text-decoration:none}.sidebar a.current{font-weight:bold}
.sidebar .site{font-size:1.3em;font-weight:bold;margin-bottom:8px}.sidebar h4{margin:14px 0 4px;color:#6b7280;font-size:.85em;text-transform:uppercase}
main{padding:24px 40px;max-width:960px;min-width:0}main img{max-width:100%}
pre{background:#f3f4f6;padding:8px;overflow:auto}.jp-OutputArea-output pre{background:#fff;border-left:3px solid #e5e7eb}
.jp-InputPrompt,.jp-OutputPrompt{display:none}table{border-collapse:collapse}td,th{border:1px solid #e5e7eb;padding:2px 6px}"""

def build(out: Path) -> list:
    "Build the site into `out`; the pages written."
    cfg = get_config()
    proc = proc_nbs(cfg.nbs_path, n_workers=0, skip_folder_re=r"^(?:[_.]|runs$)")  # not the run folders the notebooks' tests write
    nbs = sorted(proc.glob("*.ipynb"))
    pages = []
    for p in nbs:
        nb = nbformat.read(p, as_version=4)
        fm = front_matter(nb)
        pages.append(dict(path=p, nb=nb, fm=fm, name=page_name(p, fm), title=fm.get("title", p.stem),
                          description=fm.get("description", ""), tutorial=p.stem.startswith("tutorial")))
    names = {p["path"].name: p["name"] for p in pages}
    names.update({re.sub(r"^\d+[a-z]?_", "", k): v for k, v in names.items()})
    def nav(current):
        groups = [("Get started", [p for p in pages if p["name"] == "index.html"]), ("Tutorials", [p for p in pages if p["tutorial"]]),
                  ("Reference", [p for p in pages if not p["tutorial"] and p["name"] != "index.html"])]
        return "".join(f"<h4>{t}</h4>" + "".join(
            f'<a href="{p["name"]}"{" class=current" if p["name"] == current else ""}>{html.escape(p["title"])}</a>' for p in ps)
            for t, ps in groups if ps)
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    exporter = HTMLExporter(template_name="basic", exclude_input_prompt=True, exclude_output_prompt=True)
    for p in pages:
        body, _ = exporter.from_notebook_node(prepare(p["nb"]))
        (out/p["name"]).write_text(LAYOUT.format(title=html.escape(p["title"]), site=html.escape(cfg.title),
                                                 description=html.escape(p["description"]), nav=nav(p["name"]),
                                                 body=fix_html(body, names)), encoding="utf-8")
    for f in [*(proc/"images").rglob("*"), proc/"styles.css"]:
        if f.is_file():
            dest = out/f.relative_to(proc); dest.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, dest)
    (out/"site.css").write_text(CSS)
    return [p["name"] for p in pages]

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT/"_docs"))
    pages = build(Path(ap.parse_args().out))
    print(f"docs: {len(pages)} pages in {ap.parse_args().out}")
