#!/usr/bin/env bash
# Starts the quickstart: the stand-in CRM in the background, then the hub in the foreground.
# Ports: INTERLACE_PORT (the hub, default 8080) and CRM_PORT (the CRM, default 9100).
set -euo pipefail
cd "$(dirname "$0")"
export CRM_TOKEN="${CRM_TOKEN:-quickstart-token}"
export CRM_PORT="${CRM_PORT:-9100}"
INTERLACE_PORT="${INTERLACE_PORT:-8080}"
mkdir -p .interlace
if (exec 3<>"/dev/tcp/127.0.0.1/$CRM_PORT") 2>/dev/null; then
  echo "quickstart: port $CRM_PORT is taken (another quickstart?): set CRM_PORT to another port" >&2
  exit 3
fi
python crm.py --port "$CRM_PORT" --token "$CRM_TOKEN" &
crm=$!
echo "$crm" > .interlace/crm.pid
trap 'kill $crm 2>/dev/null || true; rm -f .interlace/crm.pid' EXIT
# the CRM answers before the hub starts, or the quickstart stops saying why
for _ in $(seq 1 100); do
  if ! kill -0 "$crm" 2>/dev/null; then
    wait "$crm" && status=0 || status=$?
    echo "quickstart: the stand-in CRM did not start (exit $status); is port $CRM_PORT taken? set CRM_PORT" >&2
    exit 3
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$CRM_PORT") 2>/dev/null && break
  sleep 0.1
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$CRM_PORT") 2>/dev/null; then
  echo "quickstart: the stand-in CRM does not answer on 127.0.0.1:$CRM_PORT" >&2
  exit 3
fi
cat <<TXT

Send an order (in another terminal, from the repository root):
  curl -s -X POST http://127.0.0.1:$INTERLACE_PORT/hooks/shop/order.created \\
       -H 'Content-Type: application/json' -d @examples/quickstart/order.json
Then look:
  .venv/bin/python -c "import sqlite3; print(sqlite3.connect('examples/quickstart/erp.db').execute('select * from orders').fetchall())"
  cat examples/quickstart/crm-orders.jsonl                      # what the CRM received
  .venv/bin/interlace trace examples/quickstart/hub.yaml <id>   # every step, input and output
  .venv/bin/interlace dlq list examples/quickstart/hub.yaml     # exceptions, by owner

TXT
status=0
interlace run hub.yaml --port "$INTERLACE_PORT" || status=$?
if [ "$status" = 3 ]; then
  echo "quickstart: set INTERLACE_PORT to another port" >&2
fi
exit "$status"
