#!/usr/bin/env bash
# Set up this repository on a Debian or Ubuntu machine with Python 3.11+ (as root, or with
# sudo): the system packages the tests need, a virtual environment in .venv, and in it the
# Python requirements and dcgan_lib itself. Safe to run again: apt is only called when a
# package is missing, and an existing .venv is reused.
#
#   chromium, chromium-driver   the browser test of the built book (tests/test_browser.py)
#   dataset-fashion-mnist       Fashion-MNIST as local IDX files (no download needed)
#   npm                         only where missing: fetches the emoji images (below)
#   python3-venv                only where `python3 -m venv` cannot make an environment
#
# The environment: .venv is made with the first of $PYTHON, python3, python. Where that
# Python lets pip install into it (pyenv, conda, a virtual environment), .venv shares its
# packages (--system-site-packages), so an installed torch is reused; where it is externally
# managed (PEP 668: Debian's and Ubuntu's own python3), .venv has packages of its own.
# Afterwards run the tests with `.venv/bin/python -m pytest`, or `source .venv/bin/activate`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python="${PYTHON:-$(command -v python3 || command -v python || true)}"
if [ -z "$python" ]; then
  echo "setup.sh: no python3 on PATH; install Python 3.11+ (apt-get install python3) or set PYTHON" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup.sh: $python is Python $("$python" -c 'import platform; print(platform.python_version())'); the book needs 3.11 or later (set PYTHON)" >&2
  exit 1
fi
# PEP 668: an interpreter whose stdlib folder holds EXTERNALLY-MANAGED refuses `pip install`
managed=$("$python" -c 'import os, sysconfig; print(int(os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))')

packages=(chromium chromium-driver dataset-fashion-mnist)
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi  # fetches the emoji images
if [ ! -x .venv/bin/python ] && ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3-venv)  # Debian and Ubuntu ship venv's pip apart from python3
fi
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  if [ "$managed" = 1 ]; then
    echo "setup.sh: $python is externally managed (PEP 668); making .venv with its own packages"
    "$python" -m venv .venv
  else
    "$python" -m venv --system-site-packages .venv
  fi
fi
.venv/bin/python -m pip install --disable-pip-version-check -r requirements.txt -e .
if [ ! -x .venv/bin/jupyter-book ] || [ ! -x .venv/bin/ruff ]; then
  # a shared .venv sees the other Python's packages but not its commands: install the two
  # the README and the tests call into .venv itself (no dependencies: those are shared)
  mapfile -t tools < <(grep -E '^(jupyter-book|ruff)[<>=!~ ]' requirements.txt | sed 's/ *#.*//')
  .venv/bin/python -m pip install --disable-pip-version-check --no-deps --ignore-installed "${tools[@]}"
fi

# The colour data set (Twemoji, CC-BY 4.0): `npm pack emoji-datasource-twitter@16.0.0`,
# keeping emoji.json and img/twitter/64/ in ~/.cache/dcgan_lib/emoji (or $DCGAN_DATA_DIR/emoji).
# Done once; npm is installed with apt-get where it is missing.
emoji_dir="${DCGAN_DATA_DIR:-$HOME/.cache/dcgan_lib}/emoji"
.venv/bin/python -c "import sys; from dcgan_lib.emoji import fetch_emoji; fetch_emoji(sys.argv[1])" "$emoji_dir"
echo "setup.sh: ready; run the tests with .venv/bin/python -m pytest (or source .venv/bin/activate)"
