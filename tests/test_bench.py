"""The GPU benchmark's script, run on a CPU with its tiny shape: both pipelines go through to a table.

The figures mean nothing on a CPU; this checks that `python bench/gpu_speed.py` still runs the classic Colab recipe and
`finetune`, counts real tokens only, and writes results.json and table.md, so a GPU job is not spent finding out.
"""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["classic", "classic-longest", "qlora_nb-classic-lora-4x1024-offload"]  # the T4 ones compute in float16: too slow on a CPU

def test_bench_tiny(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT/"bench/gpu_speed.py"), "--shapes", "tiny", "--recipes", ",".join(RECIPES),
                        "--models", str(tmp_path/"models"), "--out", str(tmp_path)], capture_output=True, text=True, timeout=1500)
    assert p.returncode == 0, p.stderr[-3000:]
    res = json.loads((tmp_path/"results.json").read_text())
    assert [r["recipe"] for r in res] == RECIPES and all("error" not in r for r in res), p.stderr[-3000:]
    classic, careful, ours = res
    for r in res: assert r["timed_steps"] == 17 and r["tokens_per_s"] > 0 and r["step_s"] > 0, r
    assert classic["tokens_per_step"] < 4 * 1024  # 4 rows padded to 1,024: the padding is not counted
    assert ours["batch"].startswith("4,096 tokens") and ours["tokens_per_step"] <= 4096 and ours["estimate_gib"] > 0, ours
    assert careful["batch"] == "4 rows, padded to longest" and careful["tokens_per_step"] == classic["tokens_per_step"], careful  # the same rows
    assert (ours["dtype"], ours["cap_gib"], classic["dtype"]) == ("float32", None, "bfloat16"), (ours, classic)  # "auto" on a CPU
    table = (tmp_path/"table.md").read_text()
    assert "| tiny | classic | q,v r=64 | bfloat16 | - | 4 x 1,024 (padded) |" in table and "| tiny | classic-longest |" in table and "| tiny | qlora_nb-classic-lora-4x1024-offload |" in table, table

def test_long_rows_tiny(tmp_path):
    "bench/long_rows.py on the tiny shape: the search from the estimate, each try in its own process, the table."
    p = subprocess.run([sys.executable, str(ROOT/"bench/long_rows.py"), "--shape", "tiny", "--caps", "0.2",
                        "--models", str(tmp_path/"models"), "--out", str(tmp_path)], capture_output=True, text=True, timeout=1500)
    assert p.returncode == 0, p.stderr[-3000:]
    (r,) = json.loads((tmp_path/"long_rows.json").read_text())
    assert r["estimate"] > 0 and len(r["tries"]) == 3 and all(t["ok"] for t in r["tries"]), r  # no cap without a GPU: every try fits
    assert r["measured"] == r["tries"][-1]["n"] > r["estimate"], r
    assert "| 0.2 GB |" in (tmp_path/"long_rows.md").read_text()
