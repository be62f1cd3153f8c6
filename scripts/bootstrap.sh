#!/usr/bin/env bash
# Installs the local tools the tests need into virtualenvs beside the workspace.
# Idempotent: a virtualenv is rebuilt only when its requirements file changes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

# The constraints files pin every transitive package too, so a new release of a dependency
# cannot change what a fresh machine runs.
install_venv() {
    local venv="$1" requirements="$2" constraints="$3"
    local stamp="$venv/.requirements.sha256"
    local wanted
    wanted="$(cat "$requirements" "$constraints" | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return 0
    fi
    echo "bootstrap: installing $(basename "$requirements") into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r "$requirements" -c "$constraints"
    echo "$wanted" > "$stamp"
}

install_venv "$root/.venv" "$root/scripts/requirements-stack.txt" \
    "$root/scripts/constraints-stack.txt"
install_venv "$root/.venv-sam" "$root/scripts/requirements-sam.txt" \
    "$root/scripts/constraints-sam.txt"

