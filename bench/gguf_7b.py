"""How long llama.cpp's converter and quantizer take on a 7B-shaped model (random float16 weights, the embedded
model's tokenizer), and how large the files are: `python bench/gguf_7b.py FOLDER` (about 40 GB free in FOLDER;
the figures in the export tutorial came from a 2-core machine). Needs llama.cpp: qlora_nb.runtimes.install_llama_cpp()."""
import json, shutil, sys, time
from pathlib import Path
import numpy as np
from safetensors.numpy import save_file
from qlora_nb.embedded import embedded_model
from qlora_nb.runtimes import convert_to_gguf, quantize_gguf
root = Path(sys.argv[1]); src = root/"model"; src.mkdir(parents=True, exist_ok=True)
emb = embedded_model()
for f in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"): shutil.copy(emb/f, src/f)
V, H, I, L = 49152, 4096, 11008, 32
cfg = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=H, intermediate_size=I, num_hidden_layers=L,
           num_attention_heads=32, num_key_value_heads=32, vocab_size=V, max_position_embeddings=4096, rms_norm_eps=1e-5,
           rope_theta=10000.0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False, torch_dtype="float16")
(src/"config.json").write_text(json.dumps(cfg))
rng, t0, index, n = np.random.default_rng(0), time.time(), {}, 0
def w(*shape): return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)
def shard(name, tensors):
    global n
    save_file(tensors, str(src/name)); index.update({k: name for k in tensors}); n += sum(t.size for t in tensors.values())
shard("model-00000.safetensors", {"model.embed_tokens.weight": w(V, H), "lm_head.weight": w(V, H), "model.norm.weight": np.ones(H, np.float16)})
for l in range(L):
    p = f"model.layers.{l}."
    shard(f"model-{l + 1:05d}.safetensors", {p + "self_attn.q_proj.weight": w(H, H), p + "self_attn.k_proj.weight": w(H, H), p + "self_attn.v_proj.weight": w(H, H),
          p + "self_attn.o_proj.weight": w(H, H), p + "mlp.gate_proj.weight": w(I, H), p + "mlp.up_proj.weight": w(I, H), p + "mlp.down_proj.weight": w(H, I),
          p + "input_layernorm.weight": np.ones(H, np.float16), p + "post_attention_layernorm.weight": np.ones(H, np.float16)})
(src/"model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": index}))
print(f"weights: {n / 1e9:.2f} B parameters, {sum(p.stat().st_size for p in src.glob('*.safetensors')) / 1e9:.1f} GB, written in {time.time() - t0:.0f} s", flush=True)
t = time.time(); f16 = convert_to_gguf(src, root/"m-f16.gguf", progress=False); print(f"convert to f16: {time.time() - t:.0f} s, {f16.stat().st_size / 1e9:.2f} GB", flush=True)
shutil.rmtree(src)
for q in ("q8_0", "q4_k_m"):
    t = time.time(); out = quantize_gguf(f16, root/f"m-{q}.gguf", q); print(f"quantize to {q}: {time.time() - t:.0f} s, {out.stat().st_size / 1e9:.2f} GB", flush=True)
