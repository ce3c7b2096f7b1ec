#!/usr/bin/env bash
# Starts the quickstart: the stand-in CRM in the background, then the hub in the foreground.
set -euo pipefail
cd "$(dirname "$0")"
export CRM_TOKEN="${CRM_TOKEN:-quickstart-token}"
python crm.py --port 9100 --token "$CRM_TOKEN" &
crm=$!
trap 'kill $crm 2>/dev/null || true' EXIT
cat <<TXT

Send an order (in another terminal):
  curl -s -X POST http://127.0.0.1:8080/hooks/shop/order.created \\
       -H 'Content-Type: application/json' -d @examples/quickstart/order.json
Then look:
  sqlite3 examples/quickstart/erp.db 'select * from orders'     # the ERP row
  cat examples/quickstart/crm-orders.jsonl                      # what the CRM received
  .venv/bin/interlace trace examples/quickstart/hub.yaml <id>   # every step, input and output
  .venv/bin/interlace dlq list examples/quickstart/hub.yaml     # exceptions, by owner

TXT
interlace run hub.yaml
