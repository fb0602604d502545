"""The training monitor's cost, side by side in one run: a CPU fine-tune of the embedded model in a real Jupyter kernel
(so the monitor runs as in a notebook: widget updates, curve redraws, the Stop channel), with the monitor switched on
and off in alternating blocks of steps, every step on the same batch. Each step is timed from the end of the previous one, so everything the monitor
does after a step counts against the next. It also adds up the time spent inside the monitor's own code on the training
thread, which CPU step-time noise does not blur. Run: python bench/monitor_overhead.py [steps] [block]"""
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
        def __init__(self, mon, block): self.mon, self.block, self.ends, self.was_on, self.spent = mon, block, [], [], []
        def timed(self, f, *a, **k):
            t0 = time.perf_counter(); f(*a, **k)
            if self.spent: self.spent[-1] += time.perf_counter() - t0  # in the interval from the last step's end
        def on(self, step): return (step // self.block) % 2 == 0
        def attach(self, run):
            self.mon.run = run
            run.metrics.subscribe(lambda r: self.on(r["step"]) and self.timed(self.mon._on_record, r))
        def finish(self, status, error=None): self.mon.finish(status, error)
        def on_train_begin(self, *a, **k): self.mon.on_train_begin(*a, **k); self.kind = self.mon.channel.kind
        def on_step_end(self, args, state, control, **k):
            self.ends.append(time.perf_counter()); self.was_on.append(self.on(state.global_step)); self.spent.append(0.0)
            if self.on(state.global_step): self.timed(self.mon.on_step_end, args, state, control, **k)

    cfg = QLoRAConfig.preset("cpu-smoke", max_steps={steps}, logging_steps=1, save_steps=10**6, output_dir=tempfile.mkdtemp())
    gate = Gated(TrainingMonitor(widgets=True), {block})
    redraws, draw = [], gate.mon._redraw
    def timed_redraw():
        t0 = time.perf_counter(); draw(); redraws.append(time.perf_counter() - t0)
    gate.mon._redraw = timed_redraw
    run = finetune(cfg, demo_dataset().select(range(4)), callbacks=[gate])  # one batch: every step does the same work
    # the interval after step k's end holds the monitor's work on step k (its on_step_end, then its logged record)
    intervals = [(b - a, on, sp) for a, b, on, sp in zip(gate.ends, gate.ends[1:], gate.was_on, gate.spent)][4:]  # warm-up left out
    own = sum(s for _, _, s in intervals)
    on = [t for t, o, _ in intervals if o]; off = [t for t, o, _ in intervals if not o]
    print(f"kernel with a widget front end API: {{in_notebook()}}; stop channel used: {{gate.kind}}")
    print(f"steps timed: {{len(on)}} after monitor work, {{len(off)}} without; curve redraws at most every {{gate.mon.redraw_every}} s and 1% of the time")
    print(f"median step without monitor: {{statistics.median(off):.3f}} s")
    print(f"median step with monitor:    {{statistics.median(on):.3f}} s")
    print(f"monitor's own time on the training thread: {{1000 * own / len(on):.1f}} ms per monitored step, "
          f"{{100 * own / sum(on):.2f}}% of those steps' time (curve redraws included)")
    print(f"curve redraws: {{len(redraws)}} in {{sum(on) + sum(off):.0f}} s, {{1000 * statistics.median(redraws):.0f}} ms each (median), "
          f"{{100 * sum(redraws) / (gate.ends[-1] - gate.ends[0]):.2f}}% of the run's time")
    print(f"overhead: {{100 * (statistics.median(on) / statistics.median(off) - 1):+.2f}}% of step time (means: {{100 * (statistics.mean(on) / statistics.mean(off) - 1):+.2f}}%)")
""")
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
NotebookClient(nb, timeout=3600, kernel_name="python3").execute()
out = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == "stdout")
print("\n".join(l for l in out.splitlines() if l.startswith(("kernel", "steps timed", "median", "monitor's", "curve", "overhead"))))
