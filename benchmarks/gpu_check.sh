#!/usr/bin/env bash
# Every GPU check in one command (<= 8 min on one GPU, no network): one JSON object on stdout, the rest on stderr.
# Our imports that fail here are installed from the wheels in .whl/ beside the tree (GPU_CHECK_WHEELS_DIR), if
# any; what still fails is named in the JSON, exit status 2. Options: `python3 benchmarks/gpu_check.py --help`.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)" || exit 2
PY="${PYTHON:-python3}"
WHEELS="${GPU_CHECK_WHEELS_DIR:-$ROOT/.whl}"
export PYTHONDONTWRITEBYTECODE=1 NO_ALBUMENTATIONS_UPDATE=1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
missing=$("$PY" "$ROOT/benchmarks/gpu_check.py" --list-missing 2>/dev/null)
note="not needed"
if [ -n "$missing" ]; then
    if compgen -G "$WHEELS/*.whl" >/dev/null; then
        site="${GPU_CHECK_SITE:-/tmp/site}"
        echo "[gpu_check] missing: $missing; installing $WHEELS/*.whl into $site" >&2
        if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
                "$WHEELS"/*.whl >&2; then
            export PYTHONPATH="$site:$PYTHONPATH"
            note="installed $(compgen -G "$WHEELS/*.whl" | wc -l) wheel(s) from $WHEELS into $site for: $missing"
        else
            note="pip could not install $WHEELS/*.whl (missing: $missing)"
        fi
    else
        note="no wheels in $WHEELS for: $missing"
    fi
fi
export GPU_CHECK_WHEELS="$note"
exec "$PY" "$ROOT/benchmarks/gpu_check.py" "$@"
