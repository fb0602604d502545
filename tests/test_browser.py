"""The widgets as a person sees them: JupyterLab started on 127.0.0.1 with a throwaway configuration, driven in a
headless Chromium by Playwright. Screenshots go to `_screenshots/` (or $QLORA_NB_SCREENSHOTS)."""
import json, os, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from playwright.sync_api import sync_playwright, expect

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent/"shared"/"data"
SHOTS = Path(os.environ.get("QLORA_NB_SCREENSHOTS", ROOT/"_screenshots"))
CHROMIUM = os.environ.get("QLORA_NB_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-quic", "--disable-sync"]

def _free_port() -> int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _up(url) -> bool:
    try: urllib.request.urlopen(f"{url}/api", timeout=1); return True
    except OSError: return False

def _notebook(cells: list) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}

@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    "A JupyterLab server on a free port of 127.0.0.1, no token, its configuration in a temporary folder; stopped at the end."
    root = tmp_path_factory.mktemp("lab")
    env = {**os.environ, **{k: str(root/".jupyter"/k.lower()) for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                                                                        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}}
    settings = root/".jupyter"/"jupyterlab_settings_dir"/"@jupyterlab"/"apputils-extension"
    settings.mkdir(parents=True)
    (settings/"notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
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

@pytest.fixture(scope="session")
def browser():
    "Debian's Chromium, headless, closed at the end."
    if not Path(CHROMIUM).exists(): pytest.fail(f"no browser at {CHROMIUM}: apt-get install -y chromium, or set QLORA_NB_CHROMIUM")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try: yield b
        finally: b.close()

def open_and_run(browser, lab, name: str, cells: list):
    "Write a notebook of `cells`, open it in JupyterLab, run all its cells; the page."
    url, root = lab
    (root/name).write_text(json.dumps(_notebook(cells)))
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

def test_inspector(browser, lab, shot_on_failure):
    page = open_and_run(browser, lab, "inspector.ipynb", [
        "from qlora_nb.config import QLoRAConfig\nfrom qlora_nb.data import load_data\nfrom qlora_nb.model import load_tokenizer\n"
        "from qlora_nb.inspector import DatasetInspector",
        f"rows, report = load_data({str(DATA/'alpaca_en_demo.json')!r}, return_report=True, verbose=False)\n"
        "DatasetInspector(rows, load_tokenizer(QLoRAConfig()), QLoRAConfig(max_length=256), report)"])
    shot_on_failure(page)
    insp = page.locator(".q-inspector")
    expect(insp).to_be_visible(timeout=120_000)
    head = insp.locator(".q-row-head")
    expect(head).to_contain_text("alpaca_en_demo.json:1 ")
    trained = insp.locator(".q-trained")
    expect(trained.first).to_be_visible()
    assert trained.first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(253, 230, 138)"
    assert insp.locator(".q-masked").first.evaluate("e => getComputedStyle(e).color") == "rgb(156, 163, 175)"
    expect(insp.locator(".q-stats")).to_contain_text("duplicate: 14", timeout=60_000)  # counted in the background
    page.wait_for_function("() => document.querySelector('.q-inspector img').naturalWidth > 0")  # the histogram
    SHOTS.mkdir(parents=True, exist_ok=True)
    insp.screenshot(path=SHOTS/"inspector.png")
    insp.get_by_role("button", name="Next").click()
    expect(head).to_contain_text("alpaca_en_demo.json:2 ")
    insp.get_by_role("button", name="Next").click()
    expect(head).to_contain_text("alpaca_en_demo.json:3 ")
    insp.get_by_role("button", name="Previous").click()
    expect(head).to_contain_text("alpaca_en_demo.json:2 ")
    insp.locator("select").nth(1).select_option("duplicate")
    expect(head).to_contain_text("dropped: duplicate")
    page.close()

def _step(monitor) -> int:
    "The step the monitor's progress line shows."
    import re
    m = re.search(r"step (\d+)/", monitor.locator(".widget-html").first.inner_text() + monitor.inner_text())
    return int(m.group(1)) if m else 0

def test_monitor(browser, lab, shot_on_failure):
    page = open_and_run(browser, lab, "monitor.ipynb", [
        "import tempfile\nfrom qlora_nb.config import QLoRAConfig\nfrom qlora_nb.cli import demo_dataset\n"
        "from qlora_nb.train import finetune\nfrom qlora_nb.monitor import TrainingMonitor",
        "cfg = QLoRAConfig.preset('cpu-smoke', max_steps=200, logging_steps=1, max_length=64, save_steps=1000,\n"
        "                         preview_every=2, preview_prompts=['What is the capital of France?'], output_dir=tempfile.mkdtemp())\n"
        "run = finetune(cfg, demo_dataset(), monitor=TrainingMonitor(redraw_every=1))",
        "print('run', run.status, run.trainer.state.global_step, (run.dir/'checkpoints'/'latest').read_text())"])
    shot_on_failure(page)
    mon = page.locator(".q-monitor")
    expect(mon).to_be_visible(timeout=120_000)
    page.wait_for_function("() => /step ([3-9]|\\d\\d+)\\//.test(document.querySelector('.q-monitor').innerText)", timeout=180_000)
    plot = mon.locator("img")
    page.wait_for_function("() => document.querySelector('.q-monitor img').naturalWidth > 0", timeout=60_000)
    first_step, first_src = _step(mon), plot.get_attribute("src")
    SHOTS.mkdir(parents=True, exist_ok=True)
    mon.screenshot(path=SHOTS/"monitor-early.png")
    page.wait_for_function(f"() => (+(/step (\\d+)\\//.exec(document.querySelector('.q-monitor').innerText) || [0, 0])[1]) >= {first_step + 3}",
                           timeout=180_000)
    page.wait_for_function(f"() => document.querySelector('.q-monitor img').src != {json.dumps(first_src)}", timeout=60_000)
    expect(mon.locator(".q-previews")).to_contain_text("What is the capital of France?")
    mon.screenshot(path=SHOTS/"monitor.png")
    assert _step(mon) > first_step  # the progress advanced and the curve was redrawn
    mon.get_by_role("button", name="Stop").click()
    expect(mon.locator(".q-summary")).to_contain_text("stopped:", timeout=120_000)
    stopped_at = _step(mon)
    assert stopped_at < 200
    expect(page.locator(".jp-OutputArea-output").last).to_contain_text(f"run stopped {stopped_at} checkpoint-{stopped_at}", timeout=60_000)
    mon.screenshot(path=SHOTS/"monitor-stopped.png")
    page.close()

def _live_text(page) -> str | None:
    "The text of the answer streaming in the chat panel, or None when none is streaming."
    return page.evaluate("() => { const c = document.querySelector('.q-chat .q-cursor');"
                         " return c ? c.parentElement.innerText.replace('▌', '') : null; }")

def test_chat(browser, lab, shot_on_failure):
    page = open_and_run(browser, lab, "chat.ipynb", [
        "import tempfile\nfrom qlora_nb.config import QLoRAConfig\nfrom qlora_nb.cli import demo_dataset\nfrom qlora_nb.train import finetune\n"
        "from qlora_nb.chat import GenerationSettings\nfrom qlora_nb.chatpanel import ChatPanel",
        "run = finetune(QLoRAConfig.preset('cpu-smoke', output_dir=tempfile.mkdtemp()), demo_dataset())  # as qlora-nb demo\n"
        "chat = ChatPanel(run, settings=GenerationSettings(max_new_tokens=48, temperature=0.0))\nchat"])
    shot_on_failure(page)
    panel = page.locator(".q-chat")
    expect(panel).to_be_visible(timeout=120_000)
    ask = panel.get_by_placeholder("Ask something…")
    ask.fill("What is the capital of France?")
    panel.get_by_role("button", name="Send").click()
    seen, t0 = [], time.time()
    while time.time() - t0 < 120:  # the answer as it streams: growing text under a cursor, until the cursor goes
        text = _live_text(page)
        if text is None and seen: break
        if text and (not seen or seen[-1] != text): seen.append(text)
        time.sleep(0.1)
    assert len(seen) >= 2 and all(b.startswith(a.rstrip()) for a, b in zip(seen, seen[1:])), seen  # streamed, in order
    answer = panel.locator(".q-transcript .q-tuned .q-text").last
    expect(answer).not_to_be_empty(timeout=30_000)
    assert answer.inner_text().strip().startswith(seen[-1].strip()[:20])
    expect(panel.locator(".q-transcript .q-user")).to_contain_text("What is the capital of France?")
    panel.get_by_role("button", name="Clear").click()
    expect(panel.locator(".q-transcript .q-user")).to_have_count(0)
    panel.get_by_role("checkbox").check()
    ask.fill("What is the capital of France?")
    panel.get_by_role("button", name="Send").click()
    compare = panel.locator(".q-transcript .q-compare")
    expect(compare).to_have_count(1, timeout=120_000)  # in the transcript once both sides have answered
    expect(compare.locator(".q-base .q-text")).to_contain_text("Paris")
    expect(compare.locator(".q-tuned .q-text")).not_to_be_empty()
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=SHOTS/"chat.png")
    page.close()
