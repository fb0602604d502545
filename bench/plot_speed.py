"""Draw bench/results/*.json (from gpu_speed.py) as nbs/images/speed.png: real tokens/s and peak memory per recipe.

    python bench/plot_speed.py                    # the speed page's job (JOBS)
    python bench/plot_speed.py bench/results/h200-2.json   # any jobs
"""
import json, sys
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"classic": "classic Colab recipe", "classic-longest": "careful hand-written", "qlora_nb": "qlora_nb, its LoRA", "qlora_nb-ckptall": "qlora_nb, its LoRA, all layers checkpointed",
          "qlora_nb-classic-lora": "qlora_nb, classic recipe's LoRA",
          "qlora_nb-classic-lora-ckptall": "qlora_nb, classic recipe's LoRA, all checkpointed", "qlora_nb-4rows": "qlora_nb, 2,048 tok/step",
          "qlora_nb-classic-lora-4x1024-offload": "qlora_nb, classic recipe's LoRA, 4,096 tok, offload",
          "classic-fp16": "classic, float16 (15 GiB)", "qlora_nb-t4": "qlora_nb colab-t4 (15 GiB)"}

JOBS = [ROOT/"bench/results/h100-11.json"]  # the speed page's: every recipe of its main table, one job

def main(*jobs, out=ROOT/"nbs/images/speed.png"):
    "Plot the results of `jobs` (default: the speed page's) into `out`."
    res = [r for job in jobs or JOBS for r in json.loads(Path(job).read_text()) if r["recipe"] in LABELS and "error" not in r]
    labels = {k: v for k, v in LABELS.items() if any(r["recipe"] == k for r in res)}
    shapes = list(dict.fromkeys(r["shape"] for r in res))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for ax, key, title in zip(axes, ["tokens_per_s", "peak_gib"], ["real tokens/s (higher is better)", "peak GPU memory, GiB (lower is better)"]):
        w = 0.8 / len(shapes)
        for i, shape in enumerate(shapes):
            rows = {r["recipe"]: r for r in res if r["shape"] == shape}
            xs = [j + i * w for j in range(len(labels))]
            vals = [rows[k][key] if k in rows else 0 for k in labels]
            bars = ax.bar(xs, vals, w, label=shape)
            ax.bar_label(bars, [f"{v:,.0f}" if key == "tokens_per_s" else f"{v:.1f}" for v in vals], fontsize=6.5)
        ax.set_xticks([j + w * (len(shapes) - 1) / 2 for j in range(len(labels))], list(labels.values()), rotation=25, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10); ax.legend(fontsize=8)
    fig.suptitle(f"QLoRA on one {res[0]['gpu']} (job {', '.join(Path(j).stem for j in jobs or JOBS)}): 7B shapes, NF4, bfloat16 (T4 recipes float16), rows of 100-1,000 tokens", fontsize=10)
    fig.tight_layout(); fig.savefig(out, dpi=110); print(out)

if __name__ == "__main__": main(*sys.argv[1:])
