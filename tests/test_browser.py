"""The widgets as a person sees them: the quickstart tutorial opened in JupyterLab (started on 127.0.0.1 with a throwaway
configuration), all its cells run, and its inspector, training monitor and chat panel used in a headless Chromium driven by
Playwright. Screenshots go to `_screenshots/` (or $QLORA_NB_SCREENSHOTS); the docs use copies of them."""
import json, os, re, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT/"nbs"/"tutorial1_quickstart.ipynb"
SHOTS = Path(os.environ.get("QLORA_NB_SCREENSHOTS", ROOT/"_screenshots"))

def _free_port() -> int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _up(url) -> bool:
    try: urllib.request.urlopen(f"{url}/api", timeout=1); return True
    except OSError: return False

@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    "A JupyterLab server on a free port of 127.0.0.1, no token, its configuration in a temporary folder; stopped at the end."
    root = tmp_path_factory.mktemp("lab")
    env = {**os.environ, **{k: str(root/".jupyter"/k.lower()) for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                                                                        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}}
    settings = root/".jupyter"/"jupyterlab_settings_dir"/"@jupyterlab"/"apputils-extension"
    settings.mkdir(parents=True)
    (settings/"notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    notebook = settings.parent/"notebook-extension"  # every cell in the page, not only those scrolled into view
    notebook.mkdir()
    (notebook/"tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, log = _free_port(), open(root/"lab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                             "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
                             "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
                            + (["--allow-root"] if os.geteuid() == 0 else []),
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try: urllib.request.urlopen(f"{url}/api", timeout=1); break
            except OSError: time.sleep(0.5)
        if proc.poll() is not None or not _up(url): raise RuntimeError(f"JupyterLab did not start: {(root/'lab.log').read_text()[-2000:]}")
        yield url, root
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(15)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()
        log.close()

def open_and_run(browser, lab, notebook: Path):
    "Copy `notebook` into the server's folder, open it in JupyterLab, run all its cells; the page."
    url, root = lab
    name = notebook.name
    shutil.copy(notebook, root/name)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset")  # a fresh workspace: this notebook alone
    expect(page.locator(".jp-Notebook")).to_have_count(1, timeout=60_000)
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)  # the kernel is up
    first = page.locator(".jp-Notebook .jp-InputPrompt").first
    for _ in range(5):  # a click that lands while JupyterLab is still settling can be lost: try again
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try: expect(first).not_to_have_text("[ ]:", timeout=10_000); break
        except AssertionError: continue
    else: raise AssertionError("Run All Cells did not start the notebook")
    return page

@pytest.fixture
def shot_on_failure(request):
    "Pages registered here are photographed into the screenshot folder if the test fails."
    pages = []
    yield pages.append
    if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(pages): p.screenshot(path=SHOTS/f"failed-{request.node.name}-{i}.png", full_page=True)

def _step(monitor) -> int:
    "The step the monitor's progress line shows."
    m = re.search(r"step (\d+)/", monitor.inner_text())
    return int(m.group(1)) if m else 0

def _live_text(page) -> tuple | None:
    "(side, text) of the chat answer streaming now (under its cursor; side q-base or q-tuned), or None when none is."
    return page.evaluate("() => { const c = document.querySelector('.q-chat .q-cursor'); if (!c) return null;"
                         " return [c.closest('.q-msg').classList[1], c.parentElement.innerText.replace('\u258c', '')]; }")

def _streamed(page, timeout: float = 120) -> list:
    "The successive (side, text) of the answer streaming in the chat panel, sampled every 100 ms until it is complete."
    seen, t0 = [], time.time()
    while time.time() - t0 < timeout:
        text = _live_text(page)
        if text is None and seen: break
        if text and text[1] and (not seen or seen[-1] != text): seen.append(tuple(text))
        time.sleep(0.1)
    return seen

def _in_order(seen: list) -> bool:
    "Whether each side's answer was seen at least twice while streaming, every text a continuation of the one before."
    sides = {s for s, _ in seen}
    runs = [[t for s, t in seen if s == side] for side in sides]
    return bool(runs) and all(len(r) >= 2 and all(b.startswith(a.rstrip()) for a, b in zip(r, r[1:])) for r in runs)

def _wait_all_run(page, timeout: float):
    "Wait until every code cell of the notebook has run (its prompt shows a number)."
    js = "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(e => e.innerText.trim())"
    t0 = time.time()
    while time.time() - t0 < timeout:
        prompts = page.evaluate(js)
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts): return
        time.sleep(1)
    raise AssertionError(f"the notebook did not finish running: prompts {prompts}")

def test_quickstart(browser, lab, shot_on_failure):
    page = open_and_run(browser, lab, QUICKSTART)
    shot_on_failure(page)
    SHOTS.mkdir(parents=True, exist_ok=True)

    # The inspector renders: trained tokens highlighted, the rest dimmed, the numbers of the set counted.
    insp = page.locator(".q-inspector")
    expect(insp).to_be_visible(timeout=180_000)
    head = insp.locator(".q-row-head")
    expect(head).to_contain_text("<list>:1 ")
    assert insp.locator(".q-trained").first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(253, 230, 138)"
    assert insp.locator(".q-masked").first.evaluate("e => getComputedStyle(e).color") == "rgb(156, 163, 175)"
    expect(insp.locator(".q-stats")).to_contain_text("rows", timeout=60_000)
    page.wait_for_function("() => document.querySelector('.q-inspector img').naturalWidth > 0")  # the histogram
    insp.screenshot(path=SHOTS/"inspector.png")

    # The monitor, while the training cell runs: the progress advances, the curve is redrawn, previews come; Stop ends the run.
    mon = page.locator(".q-monitor")
    expect(mon).to_be_visible(timeout=180_000)
    page.wait_for_function("() => /step ([3-9]|\\d\\d+)\\//.test(document.querySelector('.q-monitor').innerText)", timeout=180_000)
    page.wait_for_function("() => document.querySelector('.q-monitor img').naturalWidth > 0", timeout=60_000)
    first_step, first_src = _step(mon), mon.locator("img").get_attribute("src")
    mon.screenshot(path=SHOTS/"monitor-early.png")
    page.wait_for_function(f"() => (+(/step (\\d+)\\//.exec(document.querySelector('.q-monitor').innerText) || [0, 0])[1]) >= {first_step + 3}",
                           timeout=180_000)
    page.wait_for_function(f"() => document.querySelector('.q-monitor img').src != {json.dumps(first_src)}", timeout=60_000)
    expect(mon.locator(".q-previews")).to_contain_text("What is the capital of France?", timeout=120_000)
    mon.screenshot(path=SHOTS/"monitor.png")
    assert _step(mon) > first_step
    mon.get_by_role("button", name="Stop").click()
    expect(mon.locator(".q-summary")).to_contain_text("stopped:", timeout=120_000)
    stopped_at = _step(mon)
    assert stopped_at < 40
    expect(mon.locator(".q-summary")).to_contain_text(f"checkpoint checkpoint-{stopped_at}")

    # The rest of the notebook runs on the stopped model: evaluation, chat panel, export.
    _wait_all_run(page, 300)
    expect(page.locator(".jp-OutputArea-output", has_text="adapter_model.safetensors")).to_have_count(1)
    expect(page.locator(".jp-OutputArea-output", has_text="Evaluation on 6 held-out rows")).to_have_count(1)

    # With the kernel idle, the inspector's buttons move through the rows.
    insp.get_by_role("button", name="Next").click()
    expect(head).to_contain_text("<list>:2 ")
    insp.get_by_role("button", name="Next").click()
    expect(head).to_contain_text("<list>:3 ")
    insp.get_by_role("button", name="Previous").click()
    expect(head).to_contain_text("<list>:2 ")

    # The chat panel: compare mode answers twice, streamed; without it, one streamed answer.
    panel = page.locator(".q-chat")
    panel.scroll_into_view_if_needed()
    panel.get_by_role("button", name="Clear").click()
    expect(panel.locator(".q-transcript .q-user")).to_have_count(0)
    ask = panel.get_by_placeholder("Ask something…")
    ask.fill("What is the capital of France?")
    panel.get_by_role("button", name="Send").click()
    seen = _streamed(page)
    assert _in_order(seen) and [s for s, _ in seen] == sorted(s for s, _ in seen), seen  # the base model's answer first
    compare = panel.locator(".q-transcript .q-compare")
    expect(compare).to_have_count(1, timeout=120_000)
    expect(compare.locator(".q-base .q-text")).to_contain_text("Paris")
    expect(compare.locator(".q-tuned .q-text")).not_to_be_empty()
    panel.screenshot(path=SHOTS/"chat.png")
    panel.get_by_role("checkbox").uncheck()
    ask.fill("What is the capital of Italy?")
    panel.get_by_role("button", name="Send").click()
    seen = _streamed(page)
    assert _in_order(seen) and {s for s, _ in seen} == {"q-tuned"}, seen
    answer = panel.locator(".q-transcript > div > .q-tuned .q-text")
    expect(answer).to_have_count(1, timeout=60_000)  # a single answer, outside a comparison
    assert answer.inner_text().strip().startswith(seen[-1][1].strip()[:20])
    page.close()
