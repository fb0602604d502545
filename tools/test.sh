#!/usr/bin/env bash
# The whole test suite: bring package, README and notebook metadata in line with the notebooks,
# build llama.cpp in the background (qlora_nb.runtimes.install_llama_cpp), run every chapter and
# guide page on this environment's versions (cells flagged cuda, slow or gptq are skipped unless
# asked for: `bash tools/test.sh --flags cuda`), the GPTQ page's gptq cells with GPT-QModel installed
# beside them, then on Colab's own versions (tools/colab/profile.sh:
# Python 3.13, ipywidgets 7, ipykernel 6, transformers 5.15, with a check that installing qlora_nb
# there replaced nothing) the same notebooks and the tutorials, run from a bare copy of the repository
# as a new Colab user runs them; then tests/: the widgets in JupyterLab and in the Colab profile's
# classic Notebook in a headless Chromium, the docs site, faults injected into real training runs
# (tests/test_faults.py), and the GPU benchmark's scripts on their tiny shape.
# QLORA_NB_BROWSER_TESTS=0 leaves out the Colab profile and tests/ (e.g. on a GPU machine): the
# tutorials then run on this environment.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every temporary file of the run (the notebooks' run folders, servers, the tutorials' copy) goes
# in one scratch folder, removed at the end: repeated runs never fill the disk.
scratch=$(mktemp -d); export TMPDIR="$scratch"; trap 'rm -rf "$scratch"' EXIT
nbdev_export
nbdev_clean
python tools/readme.py
# Notebooks run in parallel, one per core: one thread each, or they fight over the cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
profile=${QLORA_NB_BROWSER_TESTS:-1}
if [ "$profile" != 0 ]; then  # the Colab profile installs (mostly downloads) while the notebooks run
  mkdir -p _colab; bash tools/colab/profile.sh setup > _colab/setup.log 2>&1 & setup=$!
fi
# llama.cpp (for the GGUF chapter and the export tutorial) builds from its PyPI source package
# while the first notebooks run; a notebook that needs it first waits for this build (a lock).
python -c "from qlora_nb.runtimes import install_llama_cpp; install_llama_cpp()" > "$scratch/llama.cpp.log" 2>&1 & llama=$!
phase() { echo "[$(date +%H:%M:%S), $(( SECONDS / 60 )) min in] $*"; }
phase "chapters and guide pages"
nbdev_test --n_workers "${TEST_WORKERS:-2}" --timing --skip_file_re '^([_.]|tutorial)' "$@"
echo "notebooks: $(ls nbs/*.ipynb | grep -vc /tutorial) passed, 0 failed"
# The GPTQ page's cells (flag gptq) with the packages its install cell names, installed beside this
# environment's in a folder of their own, so that no other notebook runs with them.
phase "the GPTQ page with GPT-QModel"
gptq=$(grep -o '%pip install --no-deps gptqmodel[^"\\]*' nbs/gptq.ipynb | sed 's/^%pip install //')
[ -n "$gptq" ] || { echo "nbs/gptq.ipynb has no install cell ('%pip install --no-deps gptqmodel...')"; exit 1; }
python -m pip install --quiet --disable-pip-version-check --target "$scratch/gptq" $gptq
PYTHONPATH="$scratch/gptq" nbdev_test --path nbs/gptq.ipynb --flags gptq --timing
wait "$llama" || { cat "$scratch/llama.cpp.log"; echo "llama.cpp could not be built"; exit 1; }
if [ "$profile" != 0 ]; then
  wait "$setup" || { cat _colab/setup.log; echo "the Colab profile could not be set up"; exit 1; }
  cat _colab/setup.log
  phase "on Colab's versions: the chapters, guide pages and tutorials"
  bash tools/colab/profile.sh test
  phase "tests/"
  # Two at a time, as a CI machine has two cores: the browser tests, which mostly wait on kernels and
  # Chromium, beside the rest (the fault injection, the benchmark scripts, the docs site).
  python -m pytest -q -p no:cacheprovider tests/test_browser.py > "$scratch/tests-browser.log" 2>&1 & browser=$!
  rest=0; python -m pytest -q -p no:cacheprovider tests --ignore=tests/test_browser.py || rest=$?
  browsers=0; wait "$browser" || browsers=$?
  echo "tests/test_browser.py:"; cat "$scratch/tests-browser.log"
  [ "$rest" = 0 ] && [ "$browsers" = 0 ] || { echo "tests/ failed"; exit 1; }
else
  phase "tutorials"
  bash tools/tutorials.sh "$@"
fi
phase "done"
