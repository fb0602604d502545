#!/usr/bin/env bash
# The Colab profile: a virtual environment with Colab's own versions (colab-gpu-2026-08.txt), qlora_nb
# installed into it the way the README's Colab cell does, a check that this replaced none of them,
# then the notebooks run on those versions. tests/test_browser_classic.py then opens the quickstart
# in that environment's classic Notebook 6.5 (ipywidgets 7, ipykernel 6).
#   bash tools/colab/profile.sh          set up (afresh) and run the notebooks
#   bash tools/colab/profile.sh setup    set up only
#   bash tools/colab/profile.sh test     run the notebooks in the profile set up before
# The environment is made in _colab/venv (or $QLORA_NB_COLAB); it takes Python 3.13 where there is one
# (Colab's), else python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tools/colab
dir=${QLORA_NB_COLAB:-_colab}
venv=$dir/venv

py=""
for c in python3.13 "$(pyenv prefix 3.13 2>/dev/null)/bin/python3.13" "$HOME"/.pyenv/versions/3.13*/bin/python3.13; do
  "$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { py=$c; break; }
done
[ -n "$py" ] || { py=python3; echo "note: no Python 3.13 here (Colab's); the profile runs on $(python3 --version)"; }

notebooks() {  # the chapters and guide pages, then the tutorials from a bare copy (tools/tutorials.sh)
  echo "notebooks on Colab's versions:"
  local on=(env -u VIRTUAL_ENV PATH="$PWD/$venv/bin:$PATH" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1})
  "${on[@]}" nbdev_test --n_workers "${TEST_WORKERS:-2}" --timing --skip_file_re '^([_.]|tutorial)'
  "${on[@]}" bash tools/tutorials.sh
  echo "notebooks on Colab's versions: $(ls nbs/*.ipynb | wc -l) passed, 0 failed"
}
if [ "${1:-}" = test ]; then
  [ -x "$venv/bin/nbdev_test" ] || { echo "no Colab profile in $venv: bash tools/colab/profile.sh setup"; exit 1; }
  notebooks; exit 0
fi

rm -rf "$venv" "$dir/dist"; mkdir -p "$dir"
"$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
echo "Colab profile: $("$venv/bin/python" --version), Colab's packages from $here/colab-gpu-2026-08.txt"
"${pip[@]}" -r "$here/colab-gpu-2026-08.txt"
"$venv/bin/python" -m pip list --format=freeze > "$dir/freeze-colab.txt"

# The README's Colab cell, with this clone's wheel in place of the GitHub address.
# The sdist, and the wheel built from it, as PyPI would serve them.
python -m build --outdir "$dir/dist" . > "$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
wheel=$(ls "$dir"/dist/qlora_nb-*.whl)
grep -A3 -m1 '^!pip list --format=freeze' README.md | grep -E '^[!%]pip ' | sed -e 's/^[!%]//' -e 's/ *#.*//' \
  -e "s#git+https://github.com/qlora-nb/qlora_nb#$wheel#" -e "s#/tmp/preinstalled.txt#$dir/preinstalled.txt#g" > "$dir/colab-cell.sh"
[ -s "$dir/colab-cell.sh" ] || { echo "README.md has no Colab install cell (a line '!pip list --format=freeze ...')"; exit 1; }
echo "the README's Colab cell:"; sed 's/^/  /' "$dir/colab-cell.sh"
PATH="$PWD/$venv/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1 bash -e "$dir/colab-cell.sh" > "$dir/install.log" 2>&1 \
  || { cat "$dir/install.log"; echo "the README's Colab cell failed"; exit 1; }
"$venv/bin/python" -m pip list --format=freeze > "$dir/freeze-qlora_nb.txt"

# Installing qlora_nb may add packages, never replace or remove one that Colab has.
changed=$(comm -23 <(sort "$dir/freeze-colab.txt") <(sort "$dir/freeze-qlora_nb.txt"))
comm -13 <(sort "$dir/freeze-colab.txt") <(sort "$dir/freeze-qlora_nb.txt") > "$dir/freeze-added.txt"
if [ -n "$changed" ]; then echo "Installing qlora_nb replaced packages that Colab has:"; echo "$changed"; exit 1; fi
echo "installing qlora_nb added $(wc -l < "$dir/freeze-added.txt") packages and replaced none: $(tr '\n' ' ' < "$dir/freeze-added.txt")"

# Every floor that settings.ini declares is the version this profile runs, so each floor is tested.
"$venv/bin/python" - <<'PY'
import configparser, re
from importlib.metadata import version
from packaging.version import Version
cfg = configparser.ConfigParser(delimiters=["="]); cfg.read("settings.ini")
bad = []
for req in cfg["DEFAULT"]["requirements"].split():
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", req)
    if not m: bad.append(f"{req} (no floor)"); continue
    floor, have = Version(m[2]).release, version(m[1])
    if Version(have).release[:len(floor)] != floor: bad.append(f"{m[1]}>={m[2]} (the profile has {have})")
if bad: raise SystemExit("settings.ini declares floors that the Colab profile does not run: " + ", ".join(bad))
print("every floor in settings.ini is the version the profile runs")
PY

# The test tools, held to the same versions (nbdev 2 runs the notebooks; Colab has pytest).
"${pip[@]}" -c "$dir/freeze-qlora_nb.txt" "nbdev==2.4.14" "execnb<0.2" "fastcore>=1.12.3,<2" "ghapi<2"
[ "${1:-}" = setup ] || notebooks
