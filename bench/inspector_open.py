"""How long DatasetInspector takes to open on 10,000 rows, and to finish counting their tokens, beside tokenize_data on
the same rows (the work training does before its first step), in one process. Run: python bench/inspector_open.py"""
import time, sys
from pathlib import Path
from datasets import concatenate_datasets
from qlora_nb.config import QLoRAConfig
from qlora_nb.data import load_data
from qlora_nb.model import load_tokenizer
from qlora_nb.template import tokenize_data
from qlora_nb.inspector import DatasetInspector

data = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]/"shared"/"data"/"alpaca_en_demo.json")
tok, cfg = load_tokenizer(QLoRAConfig()), QLoRAConfig(max_length=256)
rows = load_data(str(data), verbose=False)
big = concatenate_datasets([rows] * (10_000 // len(rows) + 1)).select(range(10_000))
DatasetInspector(rows.select(range(50)), tok, cfg)  # imports and first-call costs out of the way

def timed():
    t = time.perf_counter(); insp = DatasetInspector(big, tok, cfg)
    opened = time.perf_counter() - t
    insp.stats  # waits for the background count
    return opened, time.perf_counter() - t

runs = [timed() for _ in range(3)]
t = time.perf_counter(); tokenize_data(big, tok, cfg, verbose=False); tokenize_s = time.perf_counter() - t
open_s, counted_s = min(r[0] for r in runs), min(r[1] for r in runs)
print(f"rows: {len(big):,}")
print(f"DatasetInspector open, first row on screen: {open_s:.2f} s (best of 3)")
print(f"histogram and numbers ready: {counted_s:.2f} s (best of 3)")
print(f"tokenize_data on the same rows (baseline): {tokenize_s:.2f} s")
print(f"ratios to the baseline: open {open_s / tokenize_s:.3f}, numbers ready {counted_s / tokenize_s:.3f}")
