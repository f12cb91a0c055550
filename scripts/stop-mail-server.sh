#!/usr/bin/env bash
# Stops the Postfix and the Dovecot that test-mail-server.sh started (Dovecot by its own PID file only).
DIR=${MEDBOT_MAILTEST_DIR:-/tmp/medbot-mailtest}
command -v postfix >/dev/null && postfix stop >/dev/null 2>&1
if [ -f "$DIR/run/master.pid" ]; then
  pid=$(cat "$DIR/run/master.pid")
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
exit 0
