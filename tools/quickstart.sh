#!/usr/bin/env bash
# Rollcall's quick start (README.md, "Quick start"): against the service started in this folder
# (`.venv/bin/rollcall serve`), make an office and a kiosk key and a kiosk pairing code, enroll
# five people from the shared photos, open a class session for *now*, check one person in from
# another photo of them, and print the session's report. Times come from `date`, so it runs as
# written any day; run again, it enrolls nobody twice (import skips them) and makes a new
# session and keys.
#
#   tools/quickstart.sh                    # FACES=../shared/faces URL=http://127.0.0.1:8000
#
# tests/app/test_quickstart.py runs it against a real server.
set -euo pipefail

ROLLCALL=${ROLLCALL:-.venv/bin/rollcall}   # the CLI (reads the same .env and ./data as serve)
PYTHON=${PYTHON:-.venv/bin/python}         # only to read the API's JSON answers
FACES=${FACES:-../shared/faces}
URL=${URL:-http://127.0.0.1:8000}
API=$URL/api/v1

# field EXPRESSION: a value from the JSON on stdin (`d` is the parsed document).
field() { "$PYTHON" -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
# curl that fails on an HTTP error, showing the API's answer (it says what is wrong).
call() { curl --silent --show-error --fail-with-body "$@"; }

# The service's first start loads the model (about 40 s on a 2-core machine): wait for it.
for _ in $(seq 300); do curl --silent --fail "$URL/health" >/dev/null && break; sleep 1; done
call "$URL/health" >/dev/null || { echo "no service answers at $URL: start it first" >&2; exit 1; }

echo "== 1. keys (each printed once: store them)"
ADMIN=$($ROLLCALL keys create --role admin --name "office (quick start)" | tail -n 1)
KIOSK=$($ROLLCALL keys create --role kiosk --name "front door (quick start)" | tail -n 1)
echo "office key: $ADMIN"
echo "kiosk key:  $KIOSK (what this script checks in with, as a kiosk)"
echo "open $URL/admin (sign in with the office key)"
# A tablet pairs instead of typing a key: a one-time code (5 minutes; the office's Keys tab
# shows one too, with its QR code), then a device name and a staff PIN on the tablet.
PAIR_URL=$(call -X POST "$API/kiosk/pairings" -H "X-API-Key: $ADMIN" | field 'd["kiosk_url"]')
echo "pair a kiosk: open $PAIR_URL within 5 minutes, then give it a name and a staff PIN"

echo "== 2. enroll five people, one photo each, on the course QUICK-1"
cat > quickstart-roster.csv <<CSV
external_id,name,photo,course
QS-OBAMA,Barack Obama,barack_obama/obama.jpg,QUICK-1
QS-BIDEN,Joe Biden,joe_biden/biden.jpg,QUICK-1
QS-KIT,Kit Harington,kit_harington/kit1.jpg,QUICK-1
QS-ROSE,Rose Leslie,rose_leslie/rose1.jpg,QUICK-1
QS-ALEX,Alex Lacamoire,alex_lacamoire/alex1.png,QUICK-1
CSV
$ROLLCALL import quickstart-roster.csv "$FACES/people"

echo "== 3. a session of QUICK-1 for now: from 5 minutes ago for an hour"
COURSE=$(call "$API/courses" -H "X-API-Key: $ADMIN" \
  | field '[c["id"] for c in d if c["code"] == "QUICK-1"][0]')
STARTS=$(date -u -d '-5 minutes' +%Y-%m-%dT%H:%M:%S+00:00)
ENDS=$(date -u -d '+55 minutes' +%Y-%m-%dT%H:%M:%S+00:00)
SESSION=$(call -X POST "$API/sessions" -H "X-API-Key: $ADMIN" -H 'content-type: application/json' \
  -d "{\"name\": \"Quick start\", \"course_id\": $COURSE, \"grace_minutes\": 10,
       \"starts_at\": \"$STARTS\", \"ends_at\": \"$ENDS\"}" | field 'd["id"]')
echo "session $SESSION, $STARTS to $ENDS (the kiosk: session number $SESSION, or leave it empty)"

echo "== 4. check in: another photo of Barack Obama, as the kiosk sends it"
call -X POST "$API/checkins" -H "X-API-Key: $KIOSK" -F session_id="$SESSION" \
  -F file=@"$FACES/people/barack_obama/obama2.jpg" \
  | field '"; ".join(f["decision"] + ": " + (f["student"] or {}).get("name", "nobody") for f in d["faces"])'

echo "== 5. the session's report (present, late, absent), as CSV"
call "$API/sessions/$SESSION/report?format=csv" -H "X-API-Key: $ADMIN"

echo "== 6. the same report from the command line"
$ROLLCALL export --session "$SESSION" --absent
