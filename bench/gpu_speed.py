"""Speed and memory of QLoRA training on one GPU: the classic Colab recipe against qlora_nb's `finetune`, side by side in one job.

    python bench/gpu_speed.py                      # Llama-2-7B and Mistral-7B shapes, the main recipes (MAIN); table + results.json
    python bench/gpu_speed.py --shapes llama2-7b --recipes classic,qlora_nb-classic-lora,qlora_nb-classic-lora-noliger   # any of RECIPES

Models have random weights of the real shapes (nothing is downloaded; speed does not depend on the values), NF4 with
double quantisation, bfloat16 compute (float16 for the T4 recipes, which are held to 15 GiB of the GPU, a T4's memory),
gradient checkpointing (qlora_nb's recipes checkpoint as many layers as the memory needs, -ckptall every one; -80g holds
the process to an H100's 79 GiB). Two baselines: the classic Colab recipe (every row padded to 1,024) and a careful hand-written
notebook (the same recipe with each batch padded to its longest row only); qlora_nb's recipes at their defaults and at
about the baselines' tokens per step (-4rows, -4x1024). Rows are chat turns of 100 to 1,000 tokens (mean 550) from
a word-level tokenizer of 32,000 words. Each recipe runs in its own process (its own memory peak): 3 warm-up steps, then
17 timed steps; a step's time is from its start to its end with the GPU synchronised, and only real tokens count (the
embedding layer counts the ids that are not padding). MFU = 6 x parameters x real tokens/s / the GPU's bf16 peak.
"""
from __future__ import annotations
import argparse, json, os, random, subprocess, sys, tempfile, time
from pathlib import Path

SHAPES = {  # published configurations
    "llama2-7b": dict(model_type="llama", hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=32, vocab_size=32000, max_position_embeddings=4096, rms_norm_eps=1e-5),
    "mistral-7b": dict(model_type="mistral", hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                       num_key_value_heads=8, vocab_size=32000, max_position_embeddings=32768, rms_norm_eps=1e-5, rope_theta=1e6,
                       sliding_window=None),
    "tiny": dict(model_type="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=4, vocab_size=32000, max_position_embeddings=4096),  # a check of this script, on any machine
}
CLASSIC_LORA = dict(lora_r=64, lora_alpha=16, lora_dropout=0.1, lora_targets=["q_proj", "v_proj"])
RECIPES = {  # name: what it runs (see run_recipe)
    "classic": "the classic Colab recipe: rows padded to 1,024, paged AdamW 32-bit, reentrant checkpointing, q,v r=64, batch 4",
    "classic-longest": "a careful hand-written notebook: the classic recipe with each batch padded to its longest row, not to 1,024",
    "classic-fp16": "the classic Colab recipe in float16 (a T4 has no bfloat16)",
    "qlora_nb-t4": "finetune with the colab-t4 preset (float16, micro batch 2 x 8 accumulated, 1,024 tokens, checkpointing)",
    "qlora_nb-4rows": "finetune, defaults, about the classic recipe's 4 rows per step without its padding (batch_tokens=2048)",
    "qlora_nb-classic-lora": "finetune, defaults, with the classic recipe's LoRA (q,v r=64 a=16 dropout 0.1)",
    "qlora_nb": "finetune, defaults (all linear layers r=16)",
    "qlora_nb-ckptall": "finetune, defaults, every decoder layer checkpointed (as the defaults ran before they chose the layers from the free memory)",
    "qlora_nb-80g": "finetune, defaults, the process held to 79 GiB, an 80 GB H100's memory (fewer layers keep their activations)",
    "qlora_nb-classic-lora-ckptall": "finetune, the classic recipe's LoRA, every decoder layer checkpointed",
    "qlora_nb-classic-lora-4x1024": "finetune, the classic recipe's LoRA, 4 x 1,024 tokens per step (batch_tokens=4096)",
    "qlora_nb-4x1024": "finetune, defaults, 4 x 1,024 tokens per step (batch_tokens=4096)",
    "qlora_nb-classic-lora-4rows": "finetune, the classic recipe's LoRA, about the classic recipe's 4 rows per step without its padding (batch_tokens=2048)",
    "qlora_nb-classic-lora-nopack": "finetune, the classic recipe's LoRA, no packing (batches padded to their longest row, grouped by length)",
    "qlora_nb-classic-lora-noliger": "finetune, the classic recipe's LoRA, without Liger's kernels",
    "qlora_nb-classic-lora-8k": "finetune, the classic recipe's LoRA, 8,192 tokens per step",
    "qlora_nb-classic-lora-32k": "finetune, the classic recipe's LoRA, 32,768 tokens per step",
    "qlora_nb-classic-lora-adam8bit": "finetune, the classic recipe's LoRA, 8-bit paged AdamW",
    "qlora_nb-classic-lora-offload": "finetune, the classic recipe's LoRA, layer inputs offloaded to CPU memory (offload_activations=True)",
    "qlora_nb-classic-lora-4x1024-offload": "finetune, the classic recipe's LoRA, 4 x 1,024 tokens per step, offload_activations=True",
    "qlora_nb-classic-lora-4x1024-offload-adam8bit": "finetune, the classic recipe's LoRA, 4 x 1,024 tokens per step, offload_activations=True, 8-bit paged AdamW",
    "qlora_nb-classic-lora-4x1024-offload-sync": "as -4x1024-offload, with transformers' offloading (copies on the compute stream) instead of trl's",
    "qlora_nb-eager": "finetune, defaults, the decoder layers not compiled (compile=False)",
    "qlora_nb-dropout0": "finetune, defaults, no dropout on the adapter's input (lora_dropout=0)",
    "qlora_nb-classic-lora-eager": "finetune, the classic recipe's LoRA, compile=False",
}
MAIN = ["classic", "classic-longest", "qlora_nb", "qlora_nb-classic-lora", "qlora_nb-4rows", "classic-fp16", "qlora_nb-t4"]
# both baselines; qlora_nb at its defaults with its own LoRA and the classic recipe's, and at the baselines' tokens per step; the T4 pair
TOKENS = {"-4x1024": 4096, "-4rows": 2048, "-8k": 8192, "-32k": 32768}  # recipe name part: batch_tokens
WARMUP, TIMED = 3, 17
T4_GIB = 15 # the memory a T4 recipe may use (a process cap on a larger GPU): Colab's T4 has 15 GB
H100_GIB = 79 # the memory an -80g recipe may use: an H100 80GB's, as torch reports it (79.2 GiB)
PEAK_TFLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}

def build_model(shape: str, folder: Path):
    "A random-weight bfloat16 model of `shape` and a word-level tokenizer with Llama-2's chat template, saved in `folder`."
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast
    from qlora_nb.template import TEMPLATES
    if (folder/"done").exists(): return
    folder.mkdir(parents=True, exist_ok=True)
    special = ["[PAD]", "<s>", "</s>", "[UNK]", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"]
    vocab = {t: i for i, t in enumerate(special + [f"w{i}" for i in range(SHAPES[shape]["vocab_size"] - len(special))])}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.add_special_tokens(special)
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="[PAD]", bos_token="<s>", eos_token="</s>", unk_token="[UNK]")
    tok.chat_template = TEMPLATES["llama-2"]
    tok.save_pretrained(folder)
    cfg = AutoConfig.for_model(**SHAPES[shape], bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"): model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    (folder/"done").write_text(str(sum(p.numel() for p in model.parameters())))

def rows(n: int = 1200, seed: int = 0) -> list:
    "Chat rows of 100 to 1,000 tokens (uniform, mean 550): a question of a fifth, the answer the rest."
    r = random.Random(seed)
    words = lambda k: " ".join(f"w{r.randrange(31000)}" for _ in range(k))
    out = []
    for _ in range(n):
        total = r.randint(100, 1000) - 8  # the template adds about 8 tokens
        q = total // 5
        out.append({"messages": [{"role": "user", "content": words(q)}, {"role": "assistant", "content": words(total - q)}]})
    return out

class Meter:
    "Real tokens seen by the embedding layer and the time of each optimizer step, synchronised."
    def __init__(self, model, pad_id):
        import torch
        self.torch, self.pad_id, self.tokens, self.steps = torch, pad_id, 0, []
        self.sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
        model.get_input_embeddings().register_forward_pre_hook(self.count)
    def count(self, module, args):
        if module.training and self.torch.is_grad_enabled(): self.tokens += int((args[0] != self.pad_id).sum())
    def callback(self):
        from transformers import TrainerCallback
        meter = self
        class Timer(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                meter.sync(); meter.t0, meter.tokens = time.perf_counter(), 0
            def on_step_end(self, args, state, control, **kw):
                meter.sync(); meter.steps.append((time.perf_counter() - meter.t0, meter.tokens))
                if len(meter.steps) >= WARMUP + TIMED: control.should_training_stop = True
        return Timer()

def classic_recipe(folder: Path, data: list, out: dict, longest: bool = False, fp16: bool = False):
    "The classic Colab notebooks: pad every row to 1,024 (`longest`: each batch to its longest row), peft's k-bit preparation, reentrant checkpointing, paged AdamW 32-bit."
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, DataCollatorForSeq2Seq, Trainer, TrainingArguments, default_data_collator
    tok = AutoTokenizer.from_pretrained(folder)
    dtype = torch.float16 if fp16 else torch.bfloat16
    bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype)
    model = AutoModelForCausalLM.from_pretrained(folder, quantization_config=bnb, dtype=dtype, device_map={"": 0} if torch.cuda.is_available() else "cpu")
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    model = get_peft_model(model, LoraConfig(r=64, lora_alpha=16, lora_dropout=0.1, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    def encode(row):
        enc = tok(tok.apply_chat_template(row["messages"], tokenize=False), padding=False if longest else "max_length", truncation=True, max_length=1024)
        enc["labels"] = [t if m else -100 for t, m in zip(enc["input_ids"], enc["attention_mask"])]
        return enc
    ds = Dataset.from_list(data).map(encode, remove_columns=["messages"])
    collate = DataCollatorForSeq2Seq(tok, padding="longest", label_pad_token_id=-100) if longest else default_data_collator
    meter = Meter(model, tok.pad_token_id)
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, gradient_accumulation_steps=1, optim="paged_adamw_32bit",
                             learning_rate=2e-4, lr_scheduler_type="constant", max_steps=WARMUP + TIMED, bf16=torch.cuda.is_available() and not fp16, fp16=torch.cuda.is_available() and fp16, use_cpu=not torch.cuda.is_available(), logging_steps=10**6,
                             gradient_checkpointing=True, gradient_checkpointing_kwargs={"use_reentrant": True}, save_strategy="no",
                             report_to=[], max_grad_norm=0.3)
    Trainer(model=model, args=args, train_dataset=ds, data_collator=collate, callbacks=[meter.callback()]).train()
    out.update(steps=meter.steps, batch="4 rows, padded to longest" if longest else "4 x 1,024 (padded)", lora="q,v r=64", dtype=str(dtype).removeprefix("torch."))

def qlora_nb_recipe(name: str, folder: Path, data: list, out: dict):
    "qlora_nb's public API: `finetune` with its defaults, changed only as the recipe's name says."
    from dataclasses import replace
    import qlora_nb.train as T
    from qlora_nb.config import QLoRAConfig, compute_dtype
    from qlora_nb.data import load_data
    over = dict(CLASSIC_LORA) if "classic-lora" in name else {}
    over.update({"batch_tokens": n for part, n in TOKENS.items() if part in name})
    if "-nopack" in name: over.update(packing=False, micro_bs=4)
    if "-noliger" in name: over["liger"] = False
    if "-adam8bit" in name: over["optim"] = "paged_adamw_8bit"
    if "-offload" in name: over["offload_activations"] = True
    if "-eager" in name: over["compile"] = False
    if "-dropout0" in name: over["lora_dropout"] = 0.0
    if "-ckptall" in name: over["checkpoint_layers"] = json.loads((folder/"config.json").read_text())["num_hidden_layers"]
    if "-offload-sync" in name:  # the ablation: transformers' save_on_cpu around each checkpointed layer instead of trl's streams
        make = T.sft_config
        def sync_offload(*a, **k):
            args = make(*a, **k)
            args.activation_offloading, args.activation_checkpointing_kwargs = False, {"use_reentrant": False, "offload": True}
            return args
        T.sft_config = sync_offload
    run_args = dict(model=str(folder), max_steps=WARMUP + TIMED, logging_steps=10**6, save_steps=10**6, output_dir=tempfile.mkdtemp())
    if name == "qlora_nb-t4": cfg = QLoRAConfig.preset("colab-t4", **run_args)  # float16 on any GPU
    else: cfg = QLoRAConfig(compute_dtype="auto", max_length=1024, **run_args, **over)
    model, tok = T.load_model(cfg)
    meter = Meter(model, tok.pad_token_id)
    run = T.finetune(cfg, load_data(data, verbose=False), model=model, tok=tok, callbacks=[meter.callback()], check=False)
    info = json.loads((run.dir/"run.json").read_text())
    lora = "q,v r=64" if "classic-lora" in name else "all linear r=16"
    b = info["batch"]
    out.update(steps=meter.steps, lora=lora, dtype=str(compute_dtype(cfg)).removeprefix("torch."), batch=f"{b['tokens']:,} tokens ({b['rows']} x 1,024 packed)" if "tokens" in b else f"{b['rows']} rows, padded to longest",
               estimate_gib=T.estimate_memory(replace(cfg, checkpoint_layers=info.get("checkpointed", cfg.checkpoint_layers)), model.config, tokens=b.get("tokens")).total,
               liger=info.get("liger"), compiled=info.get("compiled"), checkpointed=info.get("checkpointed"), layers=model.config.num_hidden_layers)

def run_recipe(name: str, shape: str, folder: Path, result: Path):
    "One recipe in this process; its figures into `result` (JSON)."
    import torch
    data = rows()
    out = dict(recipe=name, shape=shape)
    cuda = torch.cuda.is_available()
    cap = T4_GIB if name.endswith(("-fp16", "-t4")) else H100_GIB if name.endswith("-80g") else None
    if cuda: torch.cuda.reset_peak_memory_stats()
    if cuda and cap: torch.cuda.set_per_process_memory_fraction(cap * 2**30 / torch.cuda.get_device_properties(0).total_memory)
    t = time.time()
    if name.startswith("classic"): classic_recipe(folder, data, out, longest="-longest" in name, fp16="-fp16" in name)
    else: qlora_nb_recipe(name, folder, data, out)
    timed = out["steps"][WARMUP:WARMUP + TIMED]
    secs, toks = sum(s for s, _ in timed), sum(n for _, n in timed)
    params = int((folder/"done").read_text())
    gpu = torch.cuda.get_device_name() if cuda else "cpu"
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in gpu), 989e12)
    out.update(gpu=gpu, timed_steps=len(timed), step_s=secs / len(timed), tokens_per_s=toks / secs, tokens_per_step=toks / len(timed),
               peak_gib=torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan"), reserved_gib=torch.cuda.max_memory_reserved() / 2**30 if cuda else float("nan"),
               mfu=6 * params * toks / secs / peak, wall_s=time.time() - t, params=params, cap_gib=cap)
    result.write_text(json.dumps(out))

def baselines(name: str) -> tuple:
    "The recipes a recipe's ratios are against: the classic one and the careful one, in the same dtype (float16 for the T4 recipes)."
    return ("classic-fp16", None) if name.endswith(("-fp16", "-t4")) else ("classic", "classic-longest")

def table(results: list) -> str:
    lines = ["| shape | recipe | LoRA | dtype | kernels | batch | checkpointed layers | real tokens/s | x classic | x careful | step s | peak GiB | / classic | MFU | estimate GiB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    find = lambda shape, name: next((b for b in results if b["shape"] == shape and b["recipe"] == name and "error" not in b), None)
    for r in results:
        if "error" in r: lines.append(f"| {r['shape']} | {r['recipe']} | failed: {r['error'][:120]} |"); continue
        base, careful = (find(r["shape"], n) for n in baselines(r["recipe"]))
        speed = f"{r['tokens_per_s'] / base['tokens_per_s']:.2f}" if base else ""
        fair = f"{r['tokens_per_s'] / careful['tokens_per_s']:.2f}" if careful else ""
        mem = f"{r['peak_gib'] / base['peak_gib']:.0%}" if base else ""
        est = f"{r['estimate_gib']:.2f} ({r['estimate_gib'] / r['peak_gib'] - 1:+.0%})" if "estimate_gib" in r else ""
        cap = f" (cap {r['cap_gib']} GiB)" if r.get("cap_gib") else ""
        kernels = ", ".join(k for k, on in (("Liger", r.get("liger")), ("compiled", r.get("compiled"))) if on) or "-"
        ckpt = "all" if r.get("checkpointed") is None else f"{r['checkpointed']} of {r['layers']}"
        lines.append(f"| {r['shape']} | {r['recipe']} | {r['lora']} | {r.get('dtype', '')} | {kernels} | {r['batch']} | {ckpt} | {r['tokens_per_s']:,.0f} | {speed} | {fair} | "
                     f"{r['step_s']:.2f} | {r['peak_gib']:.2f}{cap} | {mem} | {r['mfu']:.1%} | {est} |")
    return "\n".join(lines)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="llama2-7b,mistral-7b")
    ap.add_argument("--recipes", default=",".join(MAIN), help="comma-separated names from: " + ", ".join(RECIPES))
    ap.add_argument("--models", default=os.environ.get("QLORA_NB_BENCH_MODELS", "/tmp/qlora_nb_bench"), help="where the random models are kept")
    ap.add_argument("--out", default=os.environ.get("OUT", "."), help="folder for results.json and table.md")
    ap.add_argument("--recipe", help=argparse.SUPPRESS); ap.add_argument("--shape", help=argparse.SUPPRESS); ap.add_argument("--result", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.recipe: return run_recipe(a.recipe, a.shape, Path(a.models)/a.shape, Path(a.result))
    if unknown := [n for n in a.recipes.split(",") if n not in RECIPES]: ap.error(f"unknown recipe {', '.join(unknown)}: choose from {', '.join(RECIPES)}")
    if unknown := [n for n in a.shapes.split(",") if n not in SHAPES]: ap.error(f"unknown shape {', '.join(unknown)}: choose from {', '.join(SHAPES)}")
    results, out = [], Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for shape in a.shapes.split(","):
        t = time.time(); build_model(shape, Path(a.models)/shape); print(f"{shape}: model ready in {time.time() - t:.0f} s", flush=True)
        for name in a.recipes.split(","):
            res = Path(tempfile.mkdtemp())/"r.json"
            p = subprocess.run([sys.executable, __file__, "--recipe", name, "--shape", shape, "--models", a.models, "--result", str(res)],
                               capture_output=True, text=True)
            last = (p.stderr or p.stdout).strip().splitlines() or [f"exit status {p.returncode}"]
            r = json.loads(res.read_text()) if res.exists() else dict(recipe=name, shape=shape, error=last[-1])
            if "error" in r: print(p.stderr[-3000:], file=sys.stderr)
            results.append(r)
            print(f"{shape} {name}: " + (f"{r['tokens_per_s']:,.0f} tokens/s, {r['peak_gib']:.2f} GiB, {r['wall_s']:.0f} s" if "error" not in r else r["error"]), flush=True)
            (out/"results.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    (out/"table.md").write_text(table(results) + "\n")

if __name__ == "__main__": main()
