#!/usr/bin/env bash
# The product as a user gets it: build the wheel, install it into a fresh virtual environment outside the
# checkout, and from there run `sls-console --version`, fill a demo database, run `sls-console doctor` and
# open the main window offscreen on that database (.ci/installed_window.py, run by the installed Python).
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/sls-installed.XXXXXX")
trap 'rm -rf "$work"' EXIT

.venv/bin/python -m build --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
rm -rf build  # setuptools' staging directory in the checkout
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$work/dist"/sls_console-*.whl
cp .ci/installed_window.py "$work/"

# A desk of its own: data, config and key under $work; nothing from the checkout on the path.
cd "$work"
export HOME="$work/home" XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" SLS_CONSOLE_NO_KEYRING=1
export QT_QPA_PLATFORM=offscreen PYTHONPATH="" PYTHONNOUSERSITE=1
unset SLS_CONSOLE_DATABASE_URL SLS_CONSOLE_KEY SLS_CONSOLE_KEY_FILE
url="sqlite:///$work/demo.sqlite3"
venv/bin/sls-console --version
venv/bin/sls-console --database "$url" demo --users 300 --seed 1 >/dev/null 2>&1
venv/bin/sls-console --database "$url" doctor
venv/bin/python installed_window.py "$url" "$checkout"
test -f venv/share/applications/sls-console.desktop
test -f venv/share/icons/hicolor/scalable/apps/sls-console.svg
echo "installed wheel: version, doctor, main window and desktop entry all in order"
