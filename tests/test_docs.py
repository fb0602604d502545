"""The docs site as a reader sees it: built by tools/docs.py from the notebooks, served on 127.0.0.1, every page opened in
the headless Chromium: not empty, no script errors, every image loaded, every internal link (and its #anchor) found."""
import functools, http.server, re, sys, threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tools"))
from docs import build  # noqa: E402

# The widgets' screenshots, and the pages that must show them.
# JupyterLab's (ipywidgets 8) and classic Notebook's with Colab's versions (ipywidgets 7), both from tests/test_browser.py.
SCREENSHOTS = {"inspector.html": ["images/inspector.png", "images/classic-inspector.png"],
               "monitor.html": ["images/monitor.png", "images/classic-monitor.png"],
               "chatpanel.html": ["images/chat.png", "images/classic-chat.png"],
               "tutorial1_quickstart.html": ["images/inspector.png", "images/monitor.png", "images/chat.png"],
               "tutorial8_preference.html": ["images/inspector-pairs.png", "images/monitor-rewards.png"],
}

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The site, built afresh into a temporary folder and served over HTTP on a free port; the server stopped at the end."
    out = tmp_path_factory.mktemp("docs")/"site"
    pages = build(out)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    handler = functools.partial(Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try: yield f"http://127.0.0.1:{server.server_address[1]}/", pages
    finally: server.shutdown(); server.server_close()

def test_site(browser, site):
    url, pages = site
    assert "index.html" in pages and len(pages) >= 15, pages
    assert set(SCREENSHOTS) <= set(pages), set(SCREENSHOTS) - set(pages)
    page, errors, ids, problems = browser.new_page(viewport={"width": 1300, "height": 900}), [], {}, []
    page.on("pageerror", lambda e: errors.append(str(e)))
    links = set()
    for name in pages:
        errors.clear()
        resp = page.goto(url + name)
        assert resp.status == 200, name
        main = page.locator("main").inner_text()
        if len(main) < 300: problems.append(f"{name}: nearly empty ({len(main)} characters)")
        code = page.evaluate("() => [...document.querySelectorAll('pre')].map(p => p.innerText).join('\\n')")
        if "{target=" in main or any(l.startswith("#|") for l in code.splitlines()):
            problems.append(f"{name}: unprocessed Quarto markup on the page")
        if errors: problems.append(f"{name}: script errors {errors}")
        broken = [src for src in page.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
                  if src.startswith(url)]  # the site's own images (the Colab badge comes from outside, when there is a network)
        if broken: problems.append(f"{name}: images not loaded {broken}")
        shots = page.evaluate("() => [...document.images].map(i => i.getAttribute('src'))")
        for shot in SCREENSHOTS.get(name, []):
            if shot not in shots: problems.append(f"{name}: no {shot} ({shots})")
        ids[name] = set(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
        hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        links |= {(name, h) for h in hrefs if h.startswith(url)}
    for src, link in sorted(links):  # every internal link: the page exists, and so does the anchor on it
        target, anchor = urldefrag(link)
        tname = target[len(url):] or "index.html"
        if tname not in ids:
            resp = page.request.get(target)
            if resp.status != 200: problems.append(f"{src}: broken link {link}"); continue
            if not tname.endswith(".html"): continue
            page.goto(target); ids[tname] = set(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
        if anchor and anchor not in ids[tname]: problems.append(f"{src}: link to a missing anchor {link}")
    page.close()
    assert not problems, "\n".join(problems)
    assert len(links) > 50, len(links)  # the check saw the cross-links, not just the sidebar

def test_readme_links():
    "Every link of README.md works on GitHub and in a clone: a relative one names a file of the repository, none a docs page."
    text = (ROOT/"README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert len(links) > 20, links
    local = [urldefrag(l)[0] for l in links if not re.match(r"[a-z]+:", l)]
    missing = [l for l in local if not (ROOT/l).exists()]
    assert not missing, f"README.md links to files that are not in the repository: {missing}"
    assert all(re.match(r"https://", l) for l in links if re.match(r"[a-z]+:", l)), links
