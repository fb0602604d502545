"""The widgets as a person sees them: the quickstart tutorial opened in JupyterLab (started on 127.0.0.1 with a throwaway
configuration), all its cells run, and its inspector, training monitor and chat panel used in a headless Chromium driven by
Playwright; the Studio tutorial clicked through its tabs; the preference tutorial's pair inspector and reward curves.
Screenshots go to `_screenshots/` (or $QLORA_NB_SCREENSHOTS); the docs use copies of them."""
import json, os, re, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
from dataclasses import dataclass
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

COLAB = Path(os.environ.get("QLORA_NB_COLAB", ROOT/"_colab"))/"venv"  # made by tools/colab/profile.sh

def _jupyter_env(root: Path, bin_dir: Path | None = None) -> dict:
    "The environment of a throwaway Jupyter server: its configuration in `root`, `bin_dir`'s Python first on PATH (its kernel)."
    env = {**os.environ, **{k: str(root/".jupyter"/k.lower()) for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                                                                        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}}
    if bin_dir is not None: env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(bin_dir.parent))
    return env

def _serve(cmd: list, root: Path, env: dict, name: str):
    "Run the Jupyter server `cmd` on a free port of 127.0.0.1, no token; yield `(url, root)`; stop it at the end."
    port, log = _free_port(), open(root/f"{name}.log", "w")
    cmd = [*cmd, "--no-browser", "--ip=127.0.0.1", f"--port={port}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None or _up(url): break
            time.sleep(0.5)
        if proc.poll() is not None or not _up(url): raise RuntimeError(f"{name} did not start: {(root/f'{name}.log').read_text()[-2000:]}")
        yield url, root
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(15)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()
        log.close()

@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    "A JupyterLab 4 server (this environment's: ipywidgets 8, ipykernel 7), its configuration in a temporary folder."
    root = tmp_path_factory.mktemp("lab")
    settings = root/".jupyter"/"jupyterlab_settings_dir"/"@jupyterlab"/"apputils-extension"
    settings.mkdir(parents=True)
    (settings/"notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    notebook = settings.parent/"notebook-extension"  # every cell in the page, not only those scrolled into view
    notebook.mkdir()
    (notebook/"tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    yield from _serve([sys.executable, "-m", "jupyterlab", "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
                       "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"], root, _jupyter_env(root), "JupyterLab")

@pytest.fixture(scope="session")
def classic(tmp_path_factory):
    "Classic Notebook 6.5 of the Colab profile (ipywidgets 7, ipykernel 6, Python 3.13), the public front end closest to Colab's."
    if not (COLAB/"bin"/"python").exists(): pytest.fail(f"no Colab profile at {COLAB}: run bash tools/colab/profile.sh first")
    root = tmp_path_factory.mktemp("classic")
    yield from _serve([str(COLAB/"bin"/"python"), "-m", "notebook", "--NotebookApp.token=", "--NotebookApp.password=",
                       f"--NotebookApp.notebook_dir={root}"], root, _jupyter_env(root, COLAB/"bin"), "Notebook")

@dataclass
class Front:
    "What a test needs to know of a notebook front end: how to open and run a notebook, where outputs and prompts are."
    name: str
    output: str  # CSS of one output
    prompts: str  # CSS of the code cells' prompts
    done: str  # regular expression of a prompt whose cell has run

    def open_and_run(self, browser, server, notebook: Path):
        "Copy `notebook` into the server's folder, open it, run all its cells; the page."
        url, root = server
        shutil.copy(notebook, root/notebook.name)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        if self.name == "lab":
            page.goto(f"{url}/lab/workspaces/{notebook.stem}/tree/{notebook.name}?reset")  # a fresh workspace: this notebook alone
            expect(page.locator(".jp-Notebook")).to_have_count(1, timeout=60_000)
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)  # the kernel is up
            menu, item = page.get_by_role("menuitem", name="Run", exact=True), page.get_by_role("menuitem", name="Run All Cells", exact=True)
        else:
            page.goto(f"{url}/notebooks/{notebook.name}")
            expect(page.locator("#kernel_indicator_icon.kernel_idle_icon")).to_have_count(1, timeout=60_000)
            menu, item = page.locator("#celllink"), page.locator("#run_all_cells a")
        first = page.locator(self.prompts).first
        for _ in range(5):  # a click that lands while the page is still settling can be lost: try again
            menu.click(); item.click()
            try: expect(first).not_to_have_text(re.compile(r"\[ \]:"), timeout=10_000); break
            except AssertionError: continue
        else: raise AssertionError("Run All did not start the notebook")
        return page

    def wait_all_run(self, page, timeout: float):
        "Wait until every code cell of the notebook has run (its prompt shows a number)."
        js = f"() => [...document.querySelectorAll({json.dumps(self.prompts)})].map(e => e.innerText.trim())"
        t0 = time.time()
        while time.time() - t0 < timeout:
            prompts = page.evaluate(js)
            if prompts and all(re.fullmatch(self.done, p) for p in prompts): return
            time.sleep(1)
        raise AssertionError(f"the notebook did not finish running: prompts {prompts}")

FRONTS = {"lab": Front("lab", ".jp-OutputArea-output", ".jp-Notebook .jp-CodeCell .jp-InputPrompt", r"\[\d+\]:"),
          "classic": Front("classic", ".output_subarea", "#notebook-container .code_cell .input_prompt", r"In\s*\[\d+\]:")}

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

@pytest.mark.parametrize("front", ["lab", "classic"])
def test_quickstart(browser, front, request, shot_on_failure):
    "The quickstart in JupyterLab 4 (ipywidgets 8, ipykernel 7) and in the Colab profile's classic Notebook 6.5 (ipywidgets 7, ipykernel 6)."
    fe = FRONTS[front]
    page = fe.open_and_run(browser, request.getfixturevalue(front), QUICKSTART)
    shot = lambda name: SHOTS/(name if front == "lab" else f"classic-{name}")
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
    insp.screenshot(path=shot("inspector.png"))

    # The monitor, while the training cell runs: the progress advances, the curve is redrawn, previews come; Stop ends the run.
    mon = page.locator(".q-monitor")
    expect(mon).to_be_visible(timeout=180_000)
    page.wait_for_function("() => /step ([3-9]|\\d\\d+)\\//.test(document.querySelector('.q-monitor').innerText)", timeout=180_000)
    page.wait_for_function("() => document.querySelector('.q-monitor img').naturalWidth > 0", timeout=60_000)
    first_step, first_src = _step(mon), mon.locator("img").get_attribute("src")
    mon.screenshot(path=shot("monitor-early.png"))
    page.wait_for_function(f"() => (+(/step (\\d+)\\//.exec(document.querySelector('.q-monitor').innerText) || [0, 0])[1]) >= {first_step + 3}",
                           timeout=180_000)
    page.wait_for_function(f"() => document.querySelector('.q-monitor img').src != {json.dumps(first_src)}", timeout=60_000)
    expect(mon.locator(".q-previews")).to_contain_text("What is the capital of France?", timeout=120_000)
    mon.screenshot(path=shot("monitor.png"))
    assert _step(mon) > first_step
    clicked_at = _step(mon)
    mon.get_by_role("button", name="Stop").click()
    expect(mon.locator(".q-summary")).to_contain_text("stopped:", timeout=120_000)
    stopped_at = _step(mon)
    assert clicked_at < stopped_at <= clicked_at + 2 < 40, (clicked_at, stopped_at)  # the step under way ends, then the run stops
    expect(mon.locator(".q-summary")).to_contain_text(f"latest checkpoint: checkpoint-{stopped_at}")

    # The rest of the notebook runs on the stopped model: evaluation, chat panel, export.
    fe.wait_all_run(page, 300)
    expect(page.locator(fe.output, has_text="adapter_model.safetensors")).to_have_count(1)
    expect(page.locator(fe.output, has_text="Evaluation on 6 held-out rows")).to_have_count(1)

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
    expect(compare.locator(".q-base .q-text")).not_to_be_empty()
    expect(compare.locator(".q-tuned .q-text")).not_to_be_empty()
    panel.screenshot(path=shot("chat.png"))
    # Each sampled answer has a fresh seed, shown under it; typed into the seed box, it gives the same answers again.
    answers = [compare.locator(f".q-{side} .q-text").inner_text() for side in ("base", "tuned")]
    seed = re.search(r"seed (\d+)", compare.inner_text())[1]
    panel.get_by_text("system prompt and generation settings").click()
    panel.get_by_placeholder("random each answer").fill(seed)
    panel.get_by_role("button", name="Regenerate").click()
    assert _in_order(_streamed(page))
    expect(compare).to_have_count(1, timeout=120_000)
    expect(compare).to_contain_text(f"seed {seed}")
    assert [compare.locator(f".q-{side} .q-text").inner_text() for side in ("base", "tuned")] == answers
    panel.get_by_placeholder("random each answer").fill("")
    panel.get_by_text("system prompt and generation settings").click()
    panel.get_by_role("checkbox").uncheck()
    ask.fill("What is the capital of Italy?")
    panel.get_by_role("button", name="Send").click()
    seen = _streamed(page)
    assert _in_order(seen) and {s for s, _ in seen} == {"q-tuned"}, seen
    answer = panel.locator(".q-transcript > div > .q-tuned .q-text")
    expect(answer).to_have_count(1, timeout=60_000)  # a single answer, outside a comparison
    assert answer.inner_text().strip().startswith(seen[-1][1].strip()[:20])
    page.close()

STUDIO = ROOT/"nbs"/"tutorial7_studio.ipynb"
TABS = ".p-TabBar-tab, .lm-TabBar-tab"  # ipywidgets 7 (phosphor) and 8 (lumino)

@pytest.mark.parametrize("front", ["lab", "classic"])
def test_studio(browser, front, request, shot_on_failure):
    "The Studio tutorial, clicked through every tab as a person would, in JupyterLab 4 and in the Colab profile's classic Notebook."
    fe = FRONTS[front]
    page = fe.open_and_run(browser, request.getfixturevalue(front), STUDIO)
    shot = lambda name: SHOTS/(f"studio-{name}" if front == "lab" else f"classic-studio-{name}")
    shot_on_failure(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    studio = page.locator(".q-studio")
    expect(studio).to_be_visible(timeout=180_000)
    tab = lambda name: studio.locator(TABS, has_text=name).first.click()

    # Setup: a value the config refuses shows its one-line error beside the field; the fit line is worked out.
    rank = studio.locator(".widget-inline-hbox", has=page.locator("label", has_text=re.compile(r"^lora_r$"))).locator("input")
    rank.fill("0"); rank.press("Enter")
    expect(studio).to_contain_text("QLoRAConfig.lora_r=0 is out of range", timeout=30_000)
    expect(studio).to_contain_text("GiB, fits", timeout=60_000)
    studio.screenshot(path=shot("setup.png"))
    rank.fill("16"); rank.press("Enter")
    expect(studio).not_to_contain_text("is out of range", timeout=30_000)

    # Data: loaded and shown in the inspector.
    tab("Data"); studio.get_by_role("button", name="Load and inspect").click()
    expect(studio.locator(".q-inspector")).to_be_visible(timeout=180_000)
    expect(studio.locator(".q-inspector .q-stats")).to_contain_text("rows", timeout=60_000)
    studio.screenshot(path=shot("data.png"))

    # Train: Start, the monitor's Stop after a few steps, then Resume to the end, in the same run.
    tab("Train"); studio.get_by_role("button", name="Start").click()
    mon = studio.locator(".q-monitor")
    page.wait_for_function("() => /step ([2-9]|\\d\\d+)\\//.test((document.querySelector('.q-studio .q-monitor') || {innerText: ''}).innerText)",
                           timeout=240_000)  # the monitor appears once the model is loaded
    mon.get_by_role("button", name="Stop").click()
    expect(mon.locator(".q-summary")).to_contain_text("stopped:", timeout=120_000)
    studio.get_by_role("button", name="Resume").click()
    expect(studio.locator(".q-monitor .q-summary")).to_contain_text("finished: 24 of 24 steps", timeout=300_000)
    studio.screenshot(path=shot("train.png"))

    # Evaluate, with a check.
    tab("Evaluate")
    studio.get_by_placeholder(re.compile("^behaviour checks")).fill('{"prompt": "Who are you?", "max_words": 80}')
    studio.get_by_role("button", name="Evaluate").click()
    expect(studio).to_contain_text("evaluating: done", timeout=300_000)
    expect(studio.locator("table", has_text="ROUGE-L").first).to_be_visible()
    studio.screenshot(path=shot("evaluate.png"))

    # Chat, in compare mode: both answers come.
    tab("Chat")
    panel = studio.locator(".q-chat")
    panel.get_by_placeholder("Ask something…").fill("What is the capital of France?")
    panel.get_by_role("button", name="Send").click()
    compare = panel.locator(".q-transcript .q-compare")
    expect(compare).to_have_count(1, timeout=120_000)
    expect(compare.locator(".q-tuned .q-text")).not_to_be_empty()
    studio.screenshot(path=shot("chat.png"))

    # Export: the adapter's files listed by name.
    tab("Export"); studio.get_by_role("button", name="Adapter").click()
    expect(studio).to_contain_text("adapter_model.safetensors", timeout=120_000)
    studio.screenshot(path=shot("export.png"))
    page.close()

PREFERENCE = ROOT/"nbs"/"tutorial8_preference.ipynb"

def test_preference(browser, lab, shot_on_failure):
    "The preference tutorial in JupyterLab: the pair inspector's two replies side by side, and the monitor's reward curves while DPO trains."
    fe = FRONTS["lab"]
    page = fe.open_and_run(browser, lab, PREFERENCE)
    shot_on_failure(page)
    SHOTS.mkdir(parents=True, exist_ok=True)

    # The pair inspector: the prompt once, the chosen reply's tokens in yellow beside the rejected one's in red.
    insp = page.locator(".q-inspector")
    expect(insp).to_be_visible(timeout=300_000)
    pair = insp.locator(".q-pair")
    expect(pair).to_contain_text("chosen")
    expect(pair).to_contain_text("rejected")
    expect(pair.locator("td").first).to_contain_text("Fair winds!")
    expect(pair.locator("td").nth(1)).not_to_contain_text("Fair winds!")
    background = "e => getComputedStyle(e).backgroundColor"
    assert pair.locator("td").first.locator(".q-trained").first.evaluate(background) == "rgb(253, 230, 138)"
    assert pair.locator("td").nth(1).locator(".q-trained").first.evaluate(background) == "rgb(254, 202, 202)"
    expect(insp.locator(".q-stats")).to_contain_text("rows", timeout=60_000)
    insp.screenshot(path=SHOTS/"inspector-pairs.png")

    # The monitor while DPO trains: the rewards in its numbers line and a third panel of curves; the run ends.
    mon = page.locator(".q-monitor")
    expect(mon).to_be_visible(timeout=300_000)
    expect(mon).to_contain_text("reward margin", timeout=300_000)
    page.wait_for_function("() => (document.querySelector('.q-monitor img') || {naturalWidth: 0}).naturalWidth > 900", timeout=120_000)
    expect(mon.locator(".q-summary")).to_contain_text("finished: 12 of 12 steps", timeout=300_000)
    mon.screenshot(path=SHOTS/"monitor-rewards.png")

    # The evaluation after it: the preference accuracy of the base, the SFT adapter and the DPO one.
    fe.wait_all_run(page, 300)
    expect(page.locator(fe.output, has_text="preference acc.")).to_have_count(1)
    page.close()
