#!/usr/bin/env bash
# Idempotent set-up used by `make demo` and `make test`: Graphviz's `dot`, Chromium (for the browser
# tests of the drawings' pages), a virtual environment in .venv, and this package installed in it with
# its dev extras. Safe to run again; fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# install_debian PACKAGE WHY HINT...: apt-get install PACKAGE when root (apt-get update once per run),
# otherwise explain on stderr what is missing and what that means.
updated=no
install_debian() {
  local package=$1 why=$2
  shift 2
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's $package package ($why)"
    if [ "$updated" = no ]; then apt-get update -qq; updated=yes; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  else
    for line in "$@"; do echo "setup: $line" >&2; done
  fi
}

if ! command -v dot >/dev/null 2>&1; then
  install_debian graphviz "for the dot program" \
    "Graphviz's 'dot' program is missing and I cannot install it (not root, or no apt-get)." \
    "install it yourself: 'sudo apt-get install graphviz' (Debian/Ubuntu) or 'brew install graphviz' (macOS)." \
    "until then drawings are written as DOT source, and rendering tests skip (they fail when CI=true)."
fi

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  install_debian chromium "the browser tests of the step-through and training pages" \
    "chromium is missing and I cannot install it (not root, or no apt-get); the browser tests" \
    "of the drawings' pages skip (they fail when CI=true). Debian/Ubuntu: sudo apt-get install chromium"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment .venv"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when the project description changed since the last successful install.
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "setup: installing tinygrad-w with its dev extras into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  # setuptools ends every editable install with a boxed "Editable installation" notice (a warning, not an
  # error); silence that one warning by its message, and let every other warning and error through.
  PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install -q -e '.[dev]'
  touch .venv/.installed
fi
