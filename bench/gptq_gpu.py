"""GPTQ on the GPU: a random-weight TinyLlama-1.1B-shaped model quantised with GPTQ (4 bits, groups of 128) in this script,
then `finetune` with quant="gptq" beside quant="nf4" on the same rows (40 steps, r=16 on every linear layer).
Needs gptqmodel and optimum; results in $OUT/gptq_gpu.json (job h200-5: bench/results/h200-5-gptq.json).
    OUT=/tmp/out python bench/gptq_gpu.py
"""
import json, os, sys, time, random
from pathlib import Path
import torch
out = Path(os.environ.get("OUT", ".")); res = {}
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GPTQConfig
sys.path.insert(0, str(Path(__file__).parent)); import gpu_speed
from qlora_nb.config import QLoRAConfig
from qlora_nb.train import finetune
from qlora_nb.model import load_model, quantized_as
from qlora_nb.preflight import estimate_memory
gpu_speed.SHAPES["tinyllama"] = dict(model_type="llama", hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                                     num_key_value_heads=4, vocab_size=32000, max_position_embeddings=4096)
src, q = Path("/tmp/tinyllama"), Path("/tmp/tinyllama-gptq")
gpu_speed.build_model("tinyllama", src)
tok = AutoTokenizer.from_pretrained(src)
r = random.Random(0)
calib = [" ".join(f"w{r.randrange(31000)}" for _ in range(256)) for _ in range(32)]
t = time.time()
if not (q/"config.json").exists():
  m = AutoModelForCausalLM.from_pretrained(src, quantization_config=GPTQConfig(bits=4, group_size=128, dataset=calib, tokenizer=tok), dtype=torch.float16, device_map="cuda")
  res["quantize_s"] = round(time.time() - t, 1)
  m.save_pretrained(q); tok.save_pretrained(q); del m; torch.cuda.empty_cache()
res["config"] = json.loads((q/"config.json").read_text())["quantization_config"]
print("quantized", res.get("quantize_s"), flush=True)
# learnable rows: the answer repeats the question
rows = []
for _ in range(400):
    words = " ".join(f"w{r.randrange(2000)}" for _ in range(r.randint(20, 120)))
    rows.append({"messages": [{"role": "user", "content": words}, {"role": "assistant", "content": words}]})
for quant, model in [("gptq", q), ("nf4", src)]:
    torch.cuda.reset_peak_memory_stats()
    cfg = QLoRAConfig(model=str(model), quant=quant, max_steps=40, micro_bs=8, max_length=512, lr=1e-3, logging_steps=1, val_frac=0,
                      save_steps=20, output_dir=f"/tmp/runs-{quant}", lora_r=16)
    t = time.time()
    from datasets import Dataset
    run = finetune(cfg, Dataset.from_list(rows))
    s = time.time() - t
    est = estimate_memory(cfg, AutoConfig.from_pretrained(model))
    layer = next(m for n, m in run.model.named_modules() if n.endswith("layers.0.mlp.up_proj"))
    res[quant] = dict(losses=[round(x, 3) for x in run.losses], seconds=round(s, 1), peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2),
                      estimate_gib=round(est.total, 2), weights_est_gib=round(est.weights, 3), status=run.status,
                      layer=f"{type(layer).__module__}.{type(layer).__name__}",
                      base_layer=f"{type(getattr(layer, 'base_layer', layer)).__module__}.{type(getattr(layer, 'base_layer', layer)).__name__}")
    print(quant, res[quant], flush=True)
    (out/"gptq_gpu.json").write_text(json.dumps(res, indent=1))
    del run; torch.cuda.empty_cache()
