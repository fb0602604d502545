"""The longest row that trains at batch 1, per GPU memory size: measured with a per-process memory cap, beside the estimate.

    python bench/long_rows.py                       # Llama-3.1-8B shape, QLoRA r=32 on all linear layers (no dropout), caps of 16, 24, 40 and 80 GB
    python bench/long_rows.py --caps 80 --lengths 285184   # given lengths only, at one cap (a long search split over commands)
    python bench/long_rows.py --shape tiny --caps 1  # a check of this script, on any machine (no cap without a GPU)

One row of n tokens a step (packing off), bfloat16 compute, gradient checkpointing, the layer inputs offloaded to CPU
memory, Liger's chunked loss where installed: the settings for long rows. For each cap (a card's GB, 10^9 bytes), the
search starts from the estimate (`qlora_nb.preflight.longest_row`, with the machine's CPU memory as the limit of the
offloaded layer inputs) and walks in steps of 1/16 of it until one length trains (two steps; --steps) and the next does
not; each try runs in its own process under `torch.cuda.set_per_process_memory_fraction`. A length's tokens count the chat
template's; one whose offloaded layer inputs need more CPU memory than the machine has is recorded as not trained without a run.
The results file in --out keeps the tries of earlier runs at the same cap: a search can go on in a later command.
Unsloth publishes, for Llama-3.1-8B with QLoRA rank 32: 16 GB 40,724; 24 GB 78,475; 80 GB 342,733 tokens.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_speed import SHAPES, build_model

SHAPES = dict(SHAPES, **{"llama3.1-8b": dict(model_type="llama", hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                              num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
                                              max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0)})
UNSLOTH = {16: 40724, 24: 78475, 80: 342733} # published longest rows, Llama-3.1-8B, QLoRA rank 32
LORA = dict(lora_r=32, lora_alpha=32, lora_targets="all-linear", lora_dropout=0.0)  # as Unsloth's notebooks: no dropout, whose copies of each layer's input cost memory

def config(folder: Path, n: int, steps: int = 2):
    "The run's config for one row of `n` tokens on the model in `folder`."
    from qlora_nb.config import QLoRAConfig
    return QLoRAConfig(model=str(folder), compute_dtype="auto", max_length=n, micro_bs=1, packing=False, offload_activations=True,
                       gradient_checkpointing=True, max_steps=steps, logging_steps=1, save_steps=10**6, output_dir=tempfile.mkdtemp(), **LORA)

def try_length(folder: Path, n: int, cap_gb: float, result: Path, steps: int = 2):
    "Train `steps` steps (from the second on, the optimizer's state is in memory too) on one row of `n` tokens, the template's included, under a cap of `cap_gb` GB; whether it fit, and the peak, into `result`."
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer
    from qlora_nb.template import tokenize_data
    from qlora_nb.train import finetune, OutOfMemory
    if torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(min(1.0, cap_gb * 1e9 / torch.cuda.get_device_properties(0).total_memory))
    chat = lambda k: [{"role": "user", "content": "w1 w2"}, {"role": "assistant", "content": " ".join(f"w{i % 31000}" for i in range(k))}]  # one word, one token
    ten = tokenize_data(Dataset.from_list([{"messages": chat(10)}]), AutoTokenizer.from_pretrained(folder), config(folder, 1024), verbose=False)
    template = len(ten[0]["input_ids"]) - 10  # the template's tokens, as training counts them
    rows = Dataset.from_list([{"messages": chat(n - template)}] * 2)
    t = time.time()
    try: finetune(config(folder, n, steps), rows, check=False); ok = True
    except (OutOfMemory, torch.OutOfMemoryError): ok = False
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")
    result.write_text(json.dumps(dict(n=n, ok=ok, peak_gib=peak, s=time.time() - t, steps=steps)))

def longest(tries: dict) -> tuple[int, int | None]:
    "From tries {n: fitted}: the longest length that trained below every one that did not (0 if none), and the shortest that did not above it."
    failed = [n for n, ok in tries.items() if not ok]
    fit = [n for n, ok in tries.items() if ok and n < min(failed, default=float("inf"))]
    best = max(fit, default=0)
    return best, min((n for n in failed if n > best), default=None)

def measure(shape: str, folder: Path, cap_gb: float, models: str, lengths: list[int] | None = None, earlier: dict | None = None, steps: int = 2) -> dict:
    "The longest row that trains under `cap_gb`, walking from the estimate (or trying `lengths` only); every try's outcome, `earlier`'s too."
    import torch
    from transformers import AutoConfig
    from qlora_nb.preflight import longest_row, offload_memory
    import psutil
    host = psutil.virtual_memory().total / 2**30  # the machine's CPU memory: the offloaded layer inputs' limit
    cfg, mc, gib = config(folder, 1024), AutoConfig.from_pretrained(folder), cap_gb * 1e9 / 2**30
    est, est_host = longest_row(cfg, gib, mc), longest_row(cfg, gib, mc, host_gib=host)
    tries = {t["n"]: t for t in (earlier or {}).get("tries", [])}
    def fits(n):
        if n in tries: return tries[n]["ok"]
        if (need := offload_memory(config(folder, n), mc, n)) > host:  # the machine would kill the process (job h100-9)
            tries[n] = dict(n=n, ok=False, error=f"not run: its offloaded layer inputs need {need:g} GiB of CPU memory, the machine has {host:.0f} GiB")
            print(f"  {cap_gb:g} GB, {n:,} tokens: {tries[n]['error']}", flush=True)
        else:
            res = Path(tempfile.mkdtemp())/"r.json"
            p = subprocess.run([sys.executable, __file__, "--try", str(n), "--cap", str(cap_gb), "--shape", shape, "--models", models, "--result", str(res), "--steps", str(steps)],
                               capture_output=True, text=True)
            tries[n] = json.loads(res.read_text()) if res.exists() else dict(n=n, ok=False, error=(p.stderr.strip().splitlines() or ["?"])[-1])
            print(f"  {cap_gb:g} GB, {n:,} tokens: {'fits' if tries[n]['ok'] else 'does not fit'} ({tries[n].get('s', 0):.0f} s)", flush=True)
        return tries[n]["ok"]
    if lengths:
        for n in lengths: fits(n)
    else:
        n, step = max(est_host, 256), max(est_host // 16, 256)
        limit = 3 * n if torch.cuda.is_available() else n + 2 * step  # without a GPU nothing is capped: two steps show the walk works
        if fits(n):
            while n + step <= limit and fits(n + step): n += step
        else:
            while n > step and not fits(n - step): n -= step
    best, above = longest({n: t["ok"] for n, t in tries.items()})
    return dict(shape=shape, cap_gb=cap_gb, estimate=est, estimate_with_cpu_memory=est_host, cpu_memory_gib=round(host, 1), measured=best, next_failed=above, tries=sorted(tries.values(), key=lambda t: t["n"]),
                gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
                lora=f"r={LORA['lora_r']} alpha={LORA['lora_alpha']} {LORA['lora_targets']}, lora_dropout {LORA['lora_dropout']:g}")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="llama3.1-8b", choices=list(SHAPES))
    ap.add_argument("--caps", default="16,24,40,80", help="GPU memory sizes in GB")
    ap.add_argument("--models", default=os.environ.get("QLORA_NB_BENCH_MODELS", "/tmp/qlora_nb_bench"))
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--lengths", help="comma-separated lengths to try at each cap, instead of the walk from the estimate")
    ap.add_argument("--steps", type=int, default=2, help="steps each try trains")
    ap.add_argument("--try", dest="n", type=int, help=argparse.SUPPRESS); ap.add_argument("--cap", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    a = ap.parse_args()
    import gpu_speed
    gpu_speed.SHAPES.update(SHAPES)
    folder = Path(a.models)/a.shape
    if a.n: return try_length(folder, a.n, a.cap, Path(a.result), a.steps)
    build_model(a.shape, folder)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {r["cap_gb"]: r for r in json.loads((out/"long_rows.json").read_text())} if (out/"long_rows.json").exists() else {}
    lengths = [int(n) for n in a.lengths.split(",")] if a.lengths else None
    for c in a.caps.split(","):  # the files are written again after each cap: a job cut short keeps the caps it finished
        results[float(c)] = measure(a.shape, folder, float(c), a.models, lengths, results.get(float(c)), a.steps)
        lines = ["| GPU memory | longest row, measured | next length, did not train | estimate | Unsloth (Llama-3.1-8B, r=32) |", "| --- | --- | --- | --- | --- |"]
        for r in sorted(results.values(), key=lambda r: r["cap_gb"]):
            u, above = UNSLOTH.get(int(r["cap_gb"])), r["next_failed"]
            est = f"{r['estimate']:,}" + (f" ({r['estimate_with_cpu_memory']:,} with {r['cpu_memory_gib']:g} GiB of CPU memory)" if r.get("estimate_with_cpu_memory", r["estimate"]) != r["estimate"] else "")
            unrun = above and "not run" in next(t for t in r["tries"] if t["n"] == above).get("error", "")
            lines.append(f"| {r['cap_gb']:g} GB | {r['measured']:,} | {f'{above:,}' if above else ''}{' (not run: CPU memory)' if unrun else ''} | {est} | {f'{u:,}' if u else ''} |")
        (out/"long_rows.json").write_text(json.dumps(sorted(results.values(), key=lambda r: r["cap_gb"]), indent=1)); (out/"long_rows.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

if __name__ == "__main__": main()
