"""How soon an answer starts in ChatPanel: from a click on Send to the first piece of the answer on screen (the panel's
`live` widget changing), on the embedded model in 4-bit on the CPU, alone and in compare mode (where the base model
answers first), beside the first piece of ChatEngine.stream called directly (the baseline: the model's own time to the
first piece), interleaved in one process. Run: python bench/chat_latency.py [repeats]"""
import statistics, sys, threading, time
from peft import LoraConfig, get_peft_model
from qlora_nb.config import QLoRAConfig
from qlora_nb.model import load_model
from qlora_nb.chat import GenerationSettings
from qlora_nb.chatpanel import ChatPanel

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
model, tok = load_model(QLoRAConfig.preset("cpu-smoke"))
model = get_peft_model(model, LoraConfig(r=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
chat = ChatPanel(model, tok, settings=GenerationSettings(max_new_tokens=24))
questions = ["What is the capital of France?", "Name three colours.", "How do plants make food?",
             "Write a haiku about rain.", "What is 12 times 7?"]
chat.send("Hello!"); chat.clear()  # first-call costs out of the way

def panel_first(q: str, compare: bool) -> float:
    first = threading.Event()
    def seen(change):
        if change["new"] and not first.is_set(): first.set()
    chat.compare.value = compare
    chat.live.observe(seen, names="value")
    chat.input.value = q
    t = time.perf_counter(); chat.send_btn.click(); first.wait(); dt = time.perf_counter() - t
    chat.wait(); chat.live.unobserve(seen, names="value"); chat.clear()
    return dt

def engine_first(q: str) -> float:
    t = time.perf_counter(); it = chat.engine.stream(q, settings=chat.settings()); next(it); dt = time.perf_counter() - t
    for _ in it: pass
    return dt

res = {"engine.stream (baseline)": [], "panel": [], "panel, compare mode": []}
for i in range(repeats):
    q = questions[i % len(questions)]
    res["engine.stream (baseline)"].append(engine_first(q))
    res["panel"].append(panel_first(q, False))
    res["panel, compare mode"].append(panel_first(q, True))
base = statistics.median(res["engine.stream (baseline)"])
print(f"first piece of the answer, {repeats} questions each, median (max):")
for k, v in res.items():
    print(f"  {k:28s} {statistics.median(v):.3f} s ({max(v):.3f} s)  ratio to baseline {statistics.median(v) / base:.2f}")
