# Sourced by scripts/grokbeyond and scripts/test: create or reuse the virtual environment
# and install the project into it (torch first, pinned by constraints.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GROKBEYOND_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { echo "grokbeyond needs Python >= 3.10 (set PYTHON=...)" >&2; exit 1; }
  "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the dependency specification changed.
STAMP="$VENV/.grokbeyond-install"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "grokbeyond: installing into $VENV ..." >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" torch
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" -e "$ROOT[test,docs]"
  echo "$WANT" > "$STAMP"
fi
export PYTHONHASHSEED="${PYTHONHASHSEED:-0}"
