#!/usr/bin/env bash
# Installs what flowlua needs on a fresh Debian 12 machine; quick when it is
# already there. Safe to run again and again.
set -euo pipefail

packages=(liblua5.4-dev lua5.4 pkg-config libsqlite3-dev sqlite3 libedit-dev tmux hyperfine python3 docker.io busybox-static debootstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
pkg-config --exists lua5.4 || { echo "setup: pkg-config cannot find lua5.4" >&2; exit 1; }
pkg-config --exists libedit || { echo "setup: pkg-config cannot find libedit" >&2; exit 1; }
# Notebook steps run papermill with a Python 3 kernel.
if ! python3 -c "import papermill, ipykernel" 2>/dev/null; then
  echo "setup: installing papermill and ipykernel"
  python3 -m pip install --quiet --disable-pip-version-check papermill ipykernel 2>&1 | grep -v "^WARNING: Running pip as" || true
  if command -v pyenv >/dev/null; then pyenv rehash; fi  # shims for the new commands
fi
command -v papermill >/dev/null || { echo "setup: papermill is not on PATH after pip install" >&2; exit 1; }
if ! jupyter kernelspec list 2>/dev/null | grep -q "^ *python3 "; then
  python3 -m ipykernel install --user --name python3 >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected /opt/swift/usr/bin)" >&2; exit 1; }
echo "setup: ok (lua $(pkg-config --modversion lua5.4), $(swift --version 2>&1 | head -1))"
