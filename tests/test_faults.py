"""Faults injected into real training runs, and what becomes of each run.

Each case runs the real `qlora-nb train` (the embedded model in 4-bit, trl's SFTTrainer, 6 steps, a
checkpoint every 2) in a process of its own through `tests/fault_driver.py`, which kills it with
SIGKILL or fills the disk (the file-size limit drops to 0 bytes) at one point. Then, with room on
the disk again, `qlora-nb train --resume` takes the run up. Every case must end one of two ways:
the resumed run has the same loss at every step and a bit-identical adapter as a run with no
fault, or, when nothing was saved yet, the resume says in one line that there is no checkpoint
(a new run is then the run with no fault). A full disk's own message is one line that names what
could not be written and says what to do. The files of a finished run are then torn one by one
(cut to half their size): each is either read as before or named in a one-line message.
The table of these cases is in the training chapter (nbs/40_train.ipynb, "What survives what").
"""
import json, os, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT/"tests"/"fault_driver.py"
CONFIG = dict(model="embedded", compute_dtype="float32", lr=1e-3, micro_bs=4, max_steps=6, max_length=128, gradient_checkpointing=False,
              logging_steps=1, save_steps=2, val_frac=0, data="rows.jsonl", output_dir="runs",
              preview_prompts=["Say hello like a pirate."], preview_every=6)

# (what, fault, where, outcome): `outcome` is "resumes" (same losses, same adapter) or "start again" (one line, nothing saved yet)
CASES = [
    ("killed during a step", "kill", "step:3", "resumes"),
    ("killed during a checkpoint's save", "kill", "open:*/checkpoint-4/trainer_state.json", "resumes"),
    ("killed before `latest` names a saved checkpoint", "kill", "rename:*/checkpoints/latest#2", "resumes"),
    ("killed writing a metrics line", "kill", "open:*/metrics.jsonl#4", "resumes"),
    ("killed writing a preview", "kill", "open:*/previews.jsonl#1", "resumes"),
    ("killed between the last step and the adapter's save", "kill", "mkdir:*/.adapter.*", "resumes"),
    ("killed during the adapter's save", "kill", "open:*/.adapter.*/tokenizer_config.json", "resumes"),
    ("killed writing run.json at the end", "kill", "open:*/.run.json.*#2", "resumes"),
    ("killed before the first checkpoint", "kill", "open:*/metrics.jsonl#1", "start again"),
    ("disk full at the config", "full", "open:*/.config.json.*", "start again"),
    ("disk full at run.json's first write", "full", "open:*/.run.json.*#1", "start again"),
    ("disk full at the first metrics line", "full", "open:*/metrics.jsonl#1", "start again"),
    ("disk full at the first checkpoint", "full", "mkdir:*/checkpoint-2", "start again"),
    ("disk full at a checkpoint", "full", "mkdir:*/checkpoint-4", "resumes"),
    ("disk full at `latest`", "full", "open:*/checkpoints/.latest.*#2", "resumes"),
    ("disk full at a preview", "full", "open:*/previews.jsonl#1", "resumes"),
    ("disk full at the adapter's save", "full", "mkdir:*/.adapter.*", "resumes"),
    ("disk full at run.json's last write", "full", "open:*/.run.json.*#2", "resumes"),
]


def qlora_nb(work: Path, *args, fault="none", point="none") -> subprocess.CompletedProcess:
    "Run `qlora-nb` in `work` with `fault` at `point`, its output through a pipe (a full disk does not stop a pipe)."
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(DRIVER), fault, point, *args], cwd=work, env=env, capture_output=True, text=True, timeout=900)


def new_work(tmp: Path, name: str) -> Path:
    "A folder with the demo rows and the config, as a user of the command line has."
    from qlora_nb.demo_data import DEMO_ROWS
    work = tmp/name; work.mkdir()
    (work/"rows.jsonl").write_text("".join(json.dumps(dict(instruction=q, output=a)) + "\n" for q, a in DEMO_ROWS))
    (work/"config.json").write_text(json.dumps(CONFIG))
    return work


def result(work: Path) -> dict:
    "The run's losses by step (each step once) and its adapter's tensors."
    from safetensors.torch import load_file
    run, = (work/"runs").iterdir()
    recs = [json.loads(l) for l in (run/"metrics.jsonl").read_text().splitlines()]
    return dict(steps=[r["step"] for r in recs], losses=[r["loss"] for r in recs], status=json.loads((run/"run.json").read_text())["status"],
                adapter=load_file(run/"adapter"/"adapter_model.safetensors"))


def one_line(p: subprocess.CompletedProcess) -> str:
    "The error a user sees: its last line, starting `qlora-nb:`, and no traceback."
    out = p.stdout + p.stderr
    assert p.returncode == 1 and "Traceback" not in out, out[-3000:]
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("qlora-nb: "), p.stderr[-3000:]
    return last


def run_case(tmp: Path, case) -> dict:
    "The fault, then the resume (or, when nothing was saved, a new run): what the user saw, and the run's result; or the failure."
    try: return _run_case(tmp, *case)
    except AssertionError as e: return dict(what=case[0], failure=str(e)[-2000:])


def _run_case(tmp: Path, what, fault, point, outcome) -> dict:
    work = new_work(tmp, what.replace(" ", "-").replace("`", ""))
    p = qlora_nb(work, "train", "config.json", fault=fault, point=point)
    seen = dict(fault=p.returncode)
    if fault == "kill": assert p.returncode == -9, (what, (p.stdout + p.stderr)[-3000:])
    else: seen["message"] = one_line(p)
    r = qlora_nb(work, "train", "config.json", "--resume")
    if outcome == "start again":  # a new run is the run with no fault: the same config on the same rows
        seen["resume"] = one_line(r)
        assert "no run with a checkpoint" in seen["resume"], (what, seen)
        return dict(seen, what=what)
    assert r.returncode == 0, (what, (r.stdout + r.stderr)[-3000:])
    return dict(seen, what=what, **result(work))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    "The run with no fault and every case, two processes at a time (a CI machine has two cores)."
    tmp = tmp_path_factory.mktemp("faults")
    def reference():
        work = new_work(tmp, "no-fault")
        p = qlora_nb(work, "train", "config.json")
        assert p.returncode == 0, p.stderr[-3000:]
        return dict(work=work, **result(work))
    with ThreadPoolExecutor(2) as pool:
        ref = pool.submit(reference)
        cases = [pool.submit(run_case, tmp, c) for c in CASES]
        return ref.result(), [c.result() for c in cases]


def same(a: dict, b: dict) -> bool:
    import torch
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_every_fault_resumes_or_says_what_to_do(runs):
    ref, cases = runs
    assert ref["steps"] == list(range(1, 7)) and ref["status"] == "finished", ref["steps"]
    failed = [f"{c['what']}: {c['failure']}" for c in cases if "failure" in c]
    assert not failed, "\n\n".join(failed)
    for (what, fault, point, outcome), c in zip(CASES, cases):
        if fault == "full": assert "free some disk space, then" in c["message"], (what, c["message"])
        if outcome == "start again": continue
        assert (c["steps"], c["losses"], c["status"]) == (ref["steps"], ref["losses"], "finished"), (what, c["steps"], c["losses"])
        assert same(c["adapter"], ref["adapter"]), f"{what}: the adapter differs from the run with no fault"


def tear(p: Path): p.write_bytes(p.read_bytes()[:p.stat().st_size // 2])


def test_every_torn_file_is_read_or_named(runs, tmp_path):
    "Each file of a finished run torn in turn: export and resume go on as before, or stop with one line naming the file."
    from qlora_nb.export import export
    from qlora_nb.train import RunFolder
    from qlora_nb.config import QLoRAConfig
    ref, _ = runs
    run, = (ref["work"]/"runs").iterdir()
    cfg = QLoRAConfig.from_dict({**CONFIG, "output_dir": str(ref["work"]/"runs")})
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file() and p.parent.name not in ("checkpoint-2", "checkpoint-4"))
    assert len(files) > 20, files
    outcomes = {}
    for rel in files:
        copy = tmp_path/rel.replace("/", "_")/run.name
        shutil.copytree(run, copy); tear(copy/rel)
        folder = RunFolder(copy)
        try: export(copy, tmp_path/"export"); exported = "exported"
        except (ValueError, OSError) as e:
            exported = str(e)
            assert "\n" not in exported and Path(rel).name in exported, (rel, exported)
        outcomes[rel] = (exported, folder.latest_checkpoint().name)
    for rel, (exported, ckpt) in outcomes.items():
        needed = rel.startswith("adapter/") and not rel.endswith("README.md") or rel in ("config.json", "run.json")
        assert (exported != "exported") == needed, (rel, exported)  # a file the export reads is named when torn; no other one stops it
        read_on_resume = rel.startswith("checkpoints/checkpoint-6/") and (rel.endswith((".json", ".safetensors", ".pt", ".pth")))
        assert ckpt == ("checkpoint-4" if read_on_resume else "checkpoint-6"), (rel, ckpt)
    # a torn last metrics line is left out: the export's training summary comes from the lines before it
    assert outcomes["metrics.jsonl"][0] == "exported"


def test_a_torn_checkpoint_resumes_from_the_one_before(runs, tmp_path):
    "Killed between the last step and the adapter's save, its last checkpoint then torn: the resume goes on from the one before, to the same result."
    ref, _ = runs
    work = new_work(tmp_path, "torn-checkpoint")
    assert qlora_nb(work, "train", "config.json", fault="kill", point="mkdir:*/.adapter.*").returncode == -9
    run, = (work/"runs").iterdir()
    tear(run/"checkpoints"/"checkpoint-6"/"optimizer.pt")
    r = qlora_nb(work, "train", "config.json", "--resume")
    assert r.returncode == 0 and "note: checkpoint-6 is damaged (its optimizer.pt is cut short): resuming from checkpoint-4" in r.stdout, r.stdout[-3000:]
    c = result(work)
    assert (c["steps"], c["losses"]) == (ref["steps"], ref["losses"]) and same(c["adapter"], ref["adapter"])


def test_the_docs_list_every_case():
    text = "".join("".join(c["source"]) for c in json.loads((ROOT/"nbs"/"40_train.ipynb").read_text())["cells"] if c["cell_type"] == "markdown")
    missing = [what for what, *_ in CASES if what not in text]
    assert not missing, f"nbs/40_train.ipynb's table of faults lacks: {missing}"
