"""nbdev_test with the slowest notebooks started first: nbdev_test starts them in name order, so on two
workers a five-minute page whose name sorts late ran alone at the end (in CI, the preference guide and
the preference tutorial). Arguments are nbdev_test's.

    python tools/nbtest.py --n_workers 2 --timing --skip_file_re '^([_.]|tutorial)'
"""
from pathlib import Path
import nbdev.test

# Longest first, from CI's `--timing` on two cores (1-6 minutes each); the rest follow in name order.
SLOWEST = ["40_train", "preference_example", "tutorial8_preference", "02_embedded", "45_multigpu", "tutorial1_quickstart",
           "added_tokens", "tutorial4_evaluate_export", "85_studio", "65_runtimes", "35_chat", "50_evaluate", "90_cli",
           "80_chatpanel", "60_export", "30_model", "75_monitor", "10_data", "tutorial3_colab_gpu"]
RANK = {name: i for i, name in enumerate(SLOWEST)}

def slowest_first(items, key=None, reverse=False):
    "`sorted` as nbdev_test calls it: its notebook paths (no key) slowest first, anything else as `sorted` sorts it."
    if key is None and not reverse: key = lambda f: (RANK.get(Path(f).stem, len(RANK)), Path(f).name)
    return sorted(items, key=key, reverse=reverse)

nbdev.test.sorted = slowest_first  # the one name nbdev_test orders its files by

if __name__ == "__main__": nbdev.test.nbdev_test()
