#!/usr/bin/env bash
# The entities example: phase 1 (interact) then phase 2 (integrate), on two SQLite databases and a
# webhook, with nothing else to install. Run from the repository: bash examples/entities/run.sh
set -euo pipefail
cd "$(dirname "$0")"
PATH="${INTERLACE_BIN:-$(cd ../.. && pwd)/.venv/bin}:$PATH"
PORT="${PORT:-8080}"
rm -rf .interlace crm.db erp.db

sql() {  # sql DB STATEMENT: run one statement (python's sqlite3, so no sqlite3 CLI is needed)
  python - "$@" <<'PY'
import sqlite3, sys
with sqlite3.connect(sys.argv[1]) as conn:
    for row in conn.execute(sys.argv[2]):
        print(*row, sep=" | ")
PY
}
wait_for() {  # wait_for DB QUERY EXPECTED
  for _ in $(seq 100); do [ "$(sql "$1" "$2")" = "$3" ] && return 0; sleep 0.1; done
  echo "timed out waiting for: $2 = $3" >&2; return 1
}
start() {
  interlace run "$1" --port "$PORT" --log-level warning > .interlace.log 2>&1 & hub=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && return 0; sleep 0.1; done
  cat .interlace.log >&2; return 1
}
stop() { kill "$hub"; wait "$hub" 2>/dev/null || true; }
trap 'kill "${hub:-}" 2>/dev/null || true' EXIT
mkdir -p .interlace

echo "== phase 1: interact (crm -> erp, pass-through)"
python - <<'PY'
import sqlite3
for db, script in (("crm.db", "crm.sql"), ("erp.db", "erp.sql")):
    with sqlite3.connect(db) as conn:
        conn.executescript(open(script).read())
PY
sql crm.db "INSERT INTO contacts (email, full_name) VALUES ('ann@acme.test', 'Ann Lee')"
start interact.yaml
wait_for erp.db "SELECT name FROM customers WHERE email = 'ann@acme.test'" "Ann Lee"
echo "erp has: $(sql erp.db "SELECT email, name FROM customers")"
stop

echo "== backfill: golden records from what the systems hold now"
sql erp.db "INSERT INTO customers (email, name, credit_limit) VALUES ('bob@acme.test', 'Bob Stone', 2000)"
sql crm.db "INSERT INTO contacts (email, full_name) VALUES ('bob@acme.test', 'Robert Stone')"
interlace backfill hub.yaml customer

echo "== phase 2: integrate"
start hub.yaml
wait_for erp.db "SELECT name FROM customers WHERE email = 'bob@acme.test'" "Robert Stone"
echo "the erp's name for bob (a conflict in the backfill report) is set to the crm's: Robert Stone"
curl -sf -X POST "http://127.0.0.1:$PORT/hooks/shop/customer.updated" -H 'Content-Type: application/json' \
     -d '{"email": "ann@acme.test", "name": "Ann Lee", "loyalty_points": 120}' > /dev/null
wait_for crm.db "SELECT points FROM contacts WHERE email = 'ann@acme.test'" "120"
echo "the shop's points reached the crm: $(sql crm.db "SELECT email, points FROM contacts WHERE email = 'ann@acme.test'")"
TOKEN=$(interlace token create hub.yaml --role viewer --name example 2>/dev/null)   # the API needs a token
echo "the golden record says who gave the points: $(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/entities/customer/ann@acme.test" \
  | python -c 'import json, sys; r = json.load(sys.stdin); print(r["values"]["loyalty_points"], "from", r["provenance"]["loyalty_points"]["system"])')"

sql erp.db "UPDATE customers SET name = 'Annie Lee' WHERE email = 'ann@acme.test'"
sleep 1.5
wait_for erp.db "SELECT name FROM customers WHERE email = 'ann@acme.test'" "Ann Lee"
echo "the erp's rename was refused and set back: $(sql erp.db "SELECT email, name FROM customers WHERE email = 'ann@acme.test'")"
stop

interlace entity show hub.yaml customer ann@acme.test
interlace dlq list hub.yaml
interlace entity diff hub.yaml customer
