#!/usr/bin/env bash
# CI (.ci/run): the package as a user gets it. Packs the tarball (prepack builds dist/), installs it globally
# into a clean prefix, and with a throwaway HOME runs `medbot --version`, `medbot onboard`, `medbot agent -m`
# against the fake model on 127.0.0.1, and starts the WhatsApp bridge from the installed package until its
# socket listens (proving baileys and the bridge's other modules resolve from the install).
# Usage: scripts/ci-tarball.sh   (from the repository, after npm ci; node and npm on PATH are the ones tested)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
WORK=$(mktemp -d /tmp/medbot-tarball.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

step "npm pack ($(node --version))"
npm pack --pack-destination "$WORK" >"$WORK/pack.out" 2>"$WORK/pack.log" || { cat "$WORK/pack.log" >&2; exit 1; }
TARBALL=$(ls "$WORK"/medbot-*.tgz)
tar -tzf "$TARBALL" >"$WORK/files.txt"
echo "$TARBALL: $(du -k "$TARBALL" | cut -f1) kB, $(wc -l <"$WORK/files.txt") files"
if grep -E '^package/(test|scripts|src|bridge|\.ci)/' "$WORK/files.txt"; then
  echo "ci-tarball: the tarball carries tests, scripts, sources or CI files (above)" >&2
  exit 1
fi
grep -qx 'package/dist/src/cli/main.js' "$WORK/files.txt" || {
  echo "ci-tarball: the tarball has no dist/src/cli/main.js" >&2
  exit 1
}

step "npm install -g --prefix (clean)"
PREFIX="$WORK/prefix"
start=$(date +%s)
npm install -g --prefix "$PREFIX" --no-audit --no-fund "$TARBALL"
echo "installed in $(($(date +%s) - start)) s, $(du -sm "$PREFIX" | cut -f1) MB"
INSTALLED="$PREFIX/lib/node_modules/medbot"
ls "$INSTALLED"/node_modules/better-sqlite3/build/Release/better_sqlite3.node >/dev/null
for dev in tsx esbuild vitest typescript; do
  if [ -e "$INSTALLED/node_modules/$dev" ]; then
    echo "ci-tarball: the install carries the dev dependency $dev" >&2
    exit 1
  fi
done

export HOME="$WORK/home"
mkdir -p "$HOME"
export PATH="$PREFIX/bin:$PATH"
export MEDBOT_ALLOW_ROOT=1 # CI runs as root; medbot refuses root otherwise
unset MEDBOT_HOME MEDBOT_CONFIG || true
cd "$WORK" # nowhere near the repository: nothing can resolve from its node_modules

step "medbot --version"
version=$(medbot --version)
expected=$(node -p "require('$REPO/package.json').version")
[ "$version" = "$expected" ] || { echo "ci-tarball: medbot --version said '$version', not '$expected'" >&2; exit 1; }
echo "$version"

step "fake model on 127.0.0.1"
"$REPO/node_modules/.bin/tsx" "$REPO/scripts/ci-fake-model.ts" >"$WORK/model.url" 2>"$WORK/model.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$WORK/model.url" ] && break; sleep 0.1; done
API_BASE=$(head -1 "$WORK/model.url")
case "$API_BASE" in http://127.0.0.1:*/v1) echo "$API_BASE" ;; *) echo "ci-tarball: no fake model" >&2; cat "$WORK/model.err" >&2; exit 1 ;; esac

step "medbot onboard --yes"
medbot onboard --yes --provider custom --api-base "$API_BASE" --api-key ci-key --model ci-model
[ -f "$HOME/.medbot/config.json" ] || { echo "ci-tarball: onboard wrote no ~/.medbot/config.json" >&2; exit 1; }

step "medbot agent -m hello"
reply=$(medbot agent -m "hello from the installed package")
echo "$reply"
case "$reply" in *"echo: hello from the installed package"*) ;; *) echo "ci-tarball: the agent's reply did not come from the fake model" >&2; exit 1 ;; esac

step "WhatsApp bridge start-up from the install"
WA_PORT=$(node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
MEDBOT_BRIDGE_TOKEN=ci-bridge-token-0123456789abcdef \
  MEDBOT_BRIDGE_WA_URL="ws://127.0.0.1:$WA_PORT/ws/chat" \
  node "$INSTALLED/bin/whatsapp-bridge.mjs" 2>"$WORK/bridge.log" &
bridge=$!
pids+=("$bridge")
for _ in $(seq 300); do
  grep -q '"whatsapp bridge listening"' "$WORK/bridge.log" && break
  kill -0 "$bridge" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q '"whatsapp bridge listening"' "$WORK/bridge.log"; then
  echo "ci-tarball: the bridge did not start from the install:" >&2
  cat "$WORK/bridge.log" >&2
  exit 1
fi
SOCKET="$HOME/.medbot/run/whatsapp/bridge.sock"
[ -S "$SOCKET" ] || { echo "ci-tarball: the bridge says it listens but $SOCKET is no socket" >&2; exit 1; }
echo "bridge listening on $SOCKET"
kill "$bridge"
wait "$bridge" || true

step "installed tarball OK on $(node --version)"
