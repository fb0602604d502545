"""The training monitor's cost, side by side in one run: a CPU fine-tune of the embedded model in a real Jupyter kernel
(so the monitor runs as in a notebook: widget updates, curve redraws, the Stop channel), with the monitor switched on
and off in alternating blocks of steps, every step on the same batch. Each step is timed from the end of the previous one, so everything the monitor
does after a step counts against the next. Run: python bench/monitor_overhead.py [steps] [block]"""
import sys, textwrap
import nbformat
from nbclient import NotebookClient

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 60
block = int(sys.argv[2]) if len(sys.argv) > 2 else 2
code = textwrap.dedent(f"""
    import statistics, tempfile, time
    from transformers import TrainerCallback
    from qlora_nb.config import QLoRAConfig
    from qlora_nb.cli import demo_dataset
    from qlora_nb.train import finetune
    from qlora_nb.monitor import TrainingMonitor, in_notebook

    class Gated(TrainerCallback):
        "A TrainingMonitor that acts only on steps in its 'on' blocks; step intervals timed by block."
        def __init__(self, mon, block): self.mon, self.block, self.ends, self.was_on = mon, block, [], []
        def on(self, step): return (step // self.block) % 2 == 0
        def attach(self, run):
            self.mon.run = run
            run.metrics.subscribe(lambda r: self.on(r["step"]) and self.mon._on_record(r))
        def finish(self, status, error=None): self.mon.finish(status, error)
        def on_train_begin(self, *a, **k): self.mon.on_train_begin(*a, **k); self.kind = self.mon.channel.kind
        def on_step_end(self, args, state, control, **k):
            self.ends.append(time.perf_counter()); self.was_on.append(self.on(state.global_step))
            if self.on(state.global_step): self.mon.on_step_end(args, state, control, **k)

    cfg = QLoRAConfig.preset("cpu-smoke", max_steps={steps}, logging_steps=1, save_steps=10**6, output_dir=tempfile.mkdtemp())
    gate = Gated(TrainingMonitor(widgets=True), {block})
    run = finetune(cfg, demo_dataset().select(range(4)), callbacks=[gate])  # one batch: every step does the same work
    intervals = [(b - a, on) for a, b, on in zip(gate.ends, gate.ends[1:], gate.was_on)][4:]  # warm-up left out
    on = [t for t, o in intervals if o]; off = [t for t, o in intervals if not o]
    print(f"kernel with a widget front end API: {{in_notebook()}}; stop channel used: {{gate.kind}}")
    print(f"steps timed: {{len(on)}} after monitor work, {{len(off)}} without; curve redraws: every {{gate.mon.redraw_every}} s")
    print(f"median step without monitor: {{statistics.median(off):.3f}} s")
    print(f"median step with monitor:    {{statistics.median(on):.3f}} s")
    print(f"overhead: {{100 * (statistics.median(on) / statistics.median(off) - 1):+.2f}}% of step time (means: {{100 * (statistics.mean(on) / statistics.mean(off) - 1):+.2f}}%)")
""")
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
NotebookClient(nb, timeout=3600, kernel_name="python3").execute()
out = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == "stdout")
print("\n".join(l for l in out.splitlines() if l.startswith(("kernel", "steps timed", "median", "overhead"))))
