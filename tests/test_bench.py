"""The GPU benchmark's scripts, run on a CPU with their tiny shape: both pipelines go through to a table.

The figures mean nothing on a CPU; this checks that the speed page's one command (`python bench/speed_page.py JOB`) still
runs `bench/gpu_speed.py` (the classic Colab recipe and `finetune`, real tokens only), `bench/long_rows.py` and the
figure, and writes the job's results and tables, so a GPU job is not spent finding out.
"""
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["classic", "classic-longest", "qlora_nb-classic-lora-4x1024-offload"]  # the T4 ones compute in float16: too slow on a CPU

@pytest.fixture(scope="module")
def job(tmp_path_factory):
    "The speed page's command on the tiny shapes: its results folder."
    tmp = tmp_path_factory.mktemp("bench")
    p = subprocess.run([sys.executable, str(ROOT/"bench/speed_page.py"), "tiny", "--shape", "tiny", "--recipes", ",".join(RECIPES),
                        "--long-shape", "tiny", "--caps", "0.2", "--models", str(tmp/"models"), "--results", str(tmp/"results"),
                        "--figure", str(tmp/"speed.png")], capture_output=True, text=True, timeout=3000)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "the job's files: tiny.json, tiny.md, tiny-long-rows.json, tiny-long-rows.md" in p.stdout, p.stdout
    return tmp

def test_bench_tiny(job):
    res = json.loads((job/"results/tiny.json").read_text())
    assert [r["recipe"] for r in res] == RECIPES and all("error" not in r for r in res), res
    classic, careful, ours = res
    for r in res: assert r["timed_steps"] == 17 and r["tokens_per_s"] > 0 and r["step_s"] > 0, r
    assert classic["tokens_per_step"] < 4 * 1024  # 4 rows padded to 1,024: the padding is not counted
    assert ours["batch"].startswith("4,096 tokens") and ours["tokens_per_step"] <= 4096 and ours["estimate_gib"] > 0, ours
    assert careful["batch"] == "4 rows, padded to longest" and careful["tokens_per_step"] == classic["tokens_per_step"], careful  # the same rows
    assert (ours["dtype"], ours["cap_gib"], classic["dtype"]) == ("float32", None, "bfloat16"), (ours, classic)  # "auto" on a CPU
    table = (job/"results/tiny.md").read_text()
    assert "| tiny | classic | q,v r=64 | bfloat16 | - | 4 x 1,024 (padded) |" in table and "| tiny | classic-longest |" in table and "| tiny | qlora_nb-classic-lora-4x1024-offload |" in table, table

def test_long_rows_tiny(job):
    "bench/long_rows.py on the tiny shape: the search from the estimate, each try in its own process, the table."
    (r,) = json.loads((job/"results/tiny-long-rows.json").read_text())
    assert r["estimate"] > 0 and len(r["tries"]) == 3 and all(t["ok"] for t in r["tries"]), r  # no cap without a GPU: every try fits
    assert r["measured"] == r["tries"][-1]["n"] > r["estimate"], r
    assert "| 0.2 GB |" in (job/"results/tiny-long-rows.md").read_text()

def test_figure_and_parts(job, tmp_path):
    "The figure of the job's main table; a later part of a job replaces what it measured again and keeps the rest."
    assert (job/"speed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sys.path.insert(0, str(ROOT/"bench"))
    from speed_page import gather
    old = tmp_path/"job.json"
    old.write_text(json.dumps([dict(shape="s", recipe="a", v=1), dict(shape="s", recipe="b", v=1)]))
    assert gather(old, [dict(shape="s", recipe="b", v=2), dict(shape="s", recipe="c", v=2)], lambda r: (r["shape"], r["recipe"])) == [
        dict(shape="s", recipe="a", v=1), dict(shape="s", recipe="b", v=2), dict(shape="s", recipe="c", v=2)]
    assert gather(tmp_path/"none.json", [dict(shape="s", recipe="a")], lambda r: r["recipe"]) == [dict(shape="s", recipe="a")]
