#!/usr/bin/env bash
# Set up this repository on a Debian machine with Python 3.11+ (as root, or with sudo):
# the system packages the tests need, then the Python requirements and dcgan_lib itself.
# Safe to run again: apt is only called when a package is missing.
#
#   chromium, chromium-driver   the browser test of the built book (tests/test_browser.py)
#   dataset-fashion-mnist       Fashion-MNIST as local IDX files (no download needed)
#   npm                         only where missing: fetches the emoji images (below)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(chromium chromium-driver dataset-fashion-mnist)
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi  # fetches the emoji images
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

python -m pip install --disable-pip-version-check -r requirements.txt -e .

# The colour data set (Twemoji, CC-BY 4.0): `npm pack emoji-datasource-twitter@16.0.0`,
# keeping emoji.json and img/twitter/64/ in ~/.cache/dcgan_lib/emoji (or $DCGAN_DATA_DIR/emoji).
# Done once; npm is installed with apt-get where it is missing.
emoji_dir="${DCGAN_DATA_DIR:-$HOME/.cache/dcgan_lib}/emoji"
python -c "import sys; from dcgan_lib.emoji import fetch_emoji; fetch_emoji(sys.argv[1])" "$emoji_dir"
