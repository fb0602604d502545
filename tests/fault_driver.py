"""Run the `qlora-nb` command with one fault injected at one point of the run.

    python tests/fault_driver.py FAULT POINT [qlora-nb arguments ...]

FAULT is `kill` (SIGKILL, as when a Colab runtime is recycled) or `full` (from that point on every
write to a file fails, as on a full disk: the file-size limit drops to 0 bytes). POINT is where:

- `open:GLOB#K`: the K-th time a file whose path matches GLOB is opened for writing (before it is);
- `mkdir:GLOB#K`, `rename:GLOB#K`: the K-th folder made, or rename to a path, that matches GLOB;
- `step:K`: in the middle of optimizer step K (its forward pass done, its backward not).

Points are found through Python's audit hooks (`sys.addaudithook`), which see every open, mkdir and
rename the run makes from Python; the training itself is the real `qlora-nb train`.
"""
import fnmatch, os, resource, signal, sys

fault, point, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
kind, _, where = point.partition(":")
glob, _, nth = where.partition("#")
nth, seen = int(where if kind == "step" else nth or 1), [0]


def fire():
    if fault == "kill": os.kill(os.getpid(), signal.SIGKILL)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of ending the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def count(path):
    if isinstance(path, (str, bytes, os.PathLike)) and fnmatch.fnmatch(os.fsdecode(path), glob):
        seen[0] += 1
        if seen[0] == nth: fire()


def hook(event, args):
    if kind == "open" and event == "open":
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & (os.O_WRONLY | os.O_RDWR))
        if writing: count(path)
    elif kind == "mkdir" and event == "os.mkdir": count(args[0])
    elif kind == "rename" and event == "os.rename": count(args[1])


if kind == "step":
    from trl import SFTTrainer
    compute_loss = SFTTrainer.compute_loss

    def loss_then_fault(self, *a, **kw):
        out = compute_loss(self, *a, **kw)
        if self.model.training and self.state.global_step + 1 == nth: fire()
        return out
    SFTTrainer.compute_loss = loss_then_fault
elif kind in ("open", "mkdir", "rename"): sys.addaudithook(hook)
elif kind != "none": sys.exit(f"unknown point {point!r}")

from qlora_nb.cli import main  # noqa: E402 (after the hook: the package's own imports are not run writes)
main(argv)
