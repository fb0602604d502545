"""The speed page's job in one command: its main table, its long rows and its figure, on one GPU machine.

    python bench/speed_page.py h100-12     # about 25 minutes on an H100: bench/results/h100-12.json and .md, h100-12-long-rows.json and .md, nbs/images/speed.png

    python bench/speed_page.py h100-12 --parts speed,long --recipes classic,classic-longest,qlora_nb,qlora_nb-classic-lora --caps 16,24   # the same job in
    python bench/speed_page.py h100-12 --recipes qlora_nb-4rows,classic-fp16,qlora_nb-t4 --caps 40                                      # parts of under 10
    python bench/speed_page.py h100-12 --parts long --caps 80                                                                           # minutes, one machine

    python bench/speed_page.py tiny --shape tiny --long-shape tiny --caps 0.2 --recipes classic --results /tmp/r --figure /tmp/r/speed.png   # a check, any machine

The main table is `bench/gpu_speed.py` on Llama-2-7B's shape with its recipe list MAIN (both baselines, qlora_nb at its
defaults and at their tokens per step, the T4 pair); the long rows are `bench/long_rows.py` (Llama-3.1-8B's shape at 16,
24, 40 and 80 GB); the figure is `bench/plot_speed.py` of the main table. A job's files gather what each command of it
measured (a recipe measured again replaces its earlier result; a cap's search goes on from its earlier tries), so a GPU
lent for a few minutes a command runs the job in parts, on the same machine.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from gpu_speed import MAIN, table
from qlora_nb.config import atomic_write


def run(script: str, *args: str):
    "Run one of the benchmark's scripts; stop the job if it fails."
    subprocess.run([sys.executable, str(BENCH/script), *args], check=True)


def gather(old: Path, new: list, key) -> list:
    "The results in `old` (a job's file), with those in `new` replacing any of the same `key`, in the order first measured."
    got = {key(r): r for r in (json.loads(old.read_text()) if old.exists() else [])}
    return list({**got, **{key(r): r for r in new}}.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("job", help="the job's name: its files are JOB.json, JOB.md, JOB-long-rows.json and JOB-long-rows.md in --results")
    ap.add_argument("--parts", default="speed,long,figure", help="which of speed (the main table), long (the long rows), figure")
    ap.add_argument("--shape", default="llama2-7b", help="the main table's model shape")
    ap.add_argument("--recipes", default=",".join(MAIN), help="the main table's recipes (gpu_speed.py's names)")
    ap.add_argument("--long-shape", default="llama3.1-8b", help="the long rows' model shape")
    ap.add_argument("--caps", default="16,24,40,80", help="the long rows' GPU memory sizes in GB")
    ap.add_argument("--models", default=os.environ.get("QLORA_NB_BENCH_MODELS", "/tmp/qlora_nb_bench"), help="where the random models are kept")
    ap.add_argument("--results", default=str(BENCH/"results"))
    ap.add_argument("--figure", default=str(BENCH.parent/"nbs/images/speed.png"))
    a = ap.parse_args()
    parts = a.parts.split(",")
    if unknown := [p for p in parts if p not in ("speed", "long", "figure")]: ap.error(f"unknown part {', '.join(unknown)}: choose from speed, long, figure")
    results = Path(a.results); results.mkdir(parents=True, exist_ok=True)
    speed, long = results/f"{a.job}.json", results/f"{a.job}-long-rows.json"
    if "speed" in parts:
        with tempfile.TemporaryDirectory() as out:
            run("gpu_speed.py", "--shapes", a.shape, "--recipes", a.recipes, "--models", a.models, "--out", out)
            rows = gather(speed, json.loads((Path(out)/"results.json").read_text()), lambda r: (r["shape"], r["recipe"]))
        atomic_write(speed, json.dumps(rows, indent=1) + "\n"); atomic_write(speed.with_suffix(".md"), table(rows) + "\n")
    if "long" in parts:
        with tempfile.TemporaryDirectory() as out:
            if long.exists(): (Path(out)/"long_rows.json").write_text(long.read_text())  # the search goes on from the tries made
            run("long_rows.py", "--shape", a.long_shape, "--caps", a.caps, "--models", a.models, "--out", out)
            atomic_write(long, (Path(out)/"long_rows.json").read_text() + "\n"); atomic_write(long.with_suffix(".md"), (Path(out)/"long_rows.md").read_text())
    if "figure" in parts:
        if not speed.exists(): sys.exit(f"speed_page.py: {speed.name} is not there yet: run the part 'speed' first")
        import plot_speed
        plot_speed.main(speed, out=Path(a.figure))
    print("the job's files:", ", ".join(p.name for p in (speed, speed.with_suffix(".md"), long, long.with_suffix(".md")) if p.exists()))


if __name__ == "__main__": main()
