#!/usr/bin/env bash
# The tutorials, run as a new user runs them: from a copy of the repository (its files as git sees
# them) with nothing beside it, so no tutorial can read the developers' ../shared data. They run
# with the nbdev_test and qlora_nb of the environment on PATH (tools/colab/profile.sh puts Colab's
# first); arguments go to nbdev_test (e.g. --flags cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
copy=$(mktemp -d); trap 'rm -rf "$copy"' EXIT
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -cf - -T - | tar -xf - -C "$copy"
cd "$copy" && nbdev_test --n_workers "${TEST_WORKERS:-2}" --timing --path nbs --file_re '^tutorial' "$@"
echo "tutorials: $(ls nbs/tutorial*.ipynb | wc -l) passed (from a copy with no ../shared beside it), 0 failed"
