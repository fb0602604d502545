"""The GPU benchmark's script, run on a CPU with its tiny shape: both pipelines go through to a table.

The figures mean nothing on a CPU; this checks that `python bench/gpu_speed.py` still runs the classic Colab recipe and
`finetune`, counts real tokens only, and writes results.json and table.md, so a GPU job is not spent finding out.
"""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["seeds", "qlora_nb-seeds-lora-4x1024-offload"]

def test_bench_tiny(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT/"bench/gpu_speed.py"), "--shapes", "tiny", "--recipes", ",".join(RECIPES),
                        "--models", str(tmp_path/"models"), "--out", str(tmp_path)], capture_output=True, text=True, timeout=1500)
    assert p.returncode == 0, p.stderr[-3000:]
    res = json.loads((tmp_path/"results.json").read_text())
    assert [r["recipe"] for r in res] == RECIPES and all("error" not in r for r in res), p.stderr[-3000:]
    seeds, ours = res
    for r in res: assert r["timed_steps"] == 17 and r["tokens_per_s"] > 0 and r["step_s"] > 0, r
    assert seeds["tokens_per_step"] < 4 * 1024  # 4 rows padded to 1,024: the padding is not counted
    assert ours["batch"].startswith("4,096 tokens") and ours["tokens_per_step"] <= 4096 and ours["estimate_gib"] > 0, ours
    table = (tmp_path/"table.md").read_text()
    assert "| tiny | seeds | q,v r=64 | 4 x 1,024 (padded) |" in table and "| tiny | qlora_nb-seeds-lora-4x1024-offload |" in table, table
