#!/usr/bin/env bash
# Screenshots of the desktop app's main screens, taken from the real app under Xvfb.
#
#   scripts/screenshot.sh            # builds `cargo build --release`, writes docs/screenshots/*.png
#   SPAR_BIN=target/debug/spar scripts/screenshot.sh   # use an existing binary
#
# A throw-away data folder is seeded with real sessions by running the terminal practice
# (`spar practice --no-model`, answers fed on stdin; with `faketime` the earlier sessions are
# dated in the past so the progress chart has a time axis). The last session is left open
# after the interviewer's first follow-up. The app is then started once per screen with
# SPAR_APP_SCREEN=<screen>: it opens that screen once the bank and the history are loaded
# (practice resumes the open session, scorecard shows the latest critique) and closes itself
# after SPAR_APP_EXIT_AFTER_S seconds. Models come from SPAR_MODELS_DIR if set (else the
# default models folder), so a downloaded model shows as loaded.
#
# Needs Xvfb, ImageMagick's `import`, Mesa (software OpenGL) and a CJK font; installs them with
# apt-get when missing (Debian/Ubuntu, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/docs/screenshots"
SCREENS=(home practice scorecard history bank models settings)
WIDTH=1280
HEIGHT=820

have() { command -v "$1" >/dev/null 2>&1; }
if ! have Xvfb || ! have import || ! have faketime || [ ! -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
  if have apt-get; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb x11-apps imagemagick faketime fonts-noto-cjk \
      libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 >/dev/null
  else
    echo "install Xvfb, ImageMagick and Mesa first" >&2
    exit 1
  fi
fi

BIN=${SPAR_BIN:-}
if [ -z "$BIN" ]; then
  cargo build --release
  BIN="$ROOT/target/release/spar"
fi
BIN=$(realpath "$BIN")

DEMO=$(mktemp -d /tmp/spar-screens.XXXXXX)
cleanup() {
  [ -n "${XVFB_PID:-}" ] && kill "$XVFB_PID" 2>/dev/null || true
  rm -rf "$DEMO"
}
trap cleanup EXIT
export SPAR_DATA_DIR="$DEMO/data"
# eframe keeps its window state and the app's preferences under XDG_DATA_HOME: start clean.
export XDG_DATA_HOME="$DEMO/xdg"
export SPAR_MODELS_DIR="${SPAR_MODELS_DIR:-$HOME/.local/share/spar/models}"
export SPAR_NO_FETCH=1

# One terminal session, answered from stdin, optionally dated DAYS_AGO days back.
practice() {
  local days_ago=$1
  shift
  if [ "$days_ago" -gt 0 ] && have faketime; then
    faketime -f "-${days_ago}d" "$BIN" practice --no-model "$@" >/dev/null
  else
    "$BIN" practice --no-model "$@" >/dev/null
  fi
}

echo "seeding sessions in $SPAR_DATA_DIR"
practice 9 --kind algorithm --questions 1 --follow-ups 1 <<'EOF'
I'd use a hash map from value to index and scan once.

It is O(n) time.


EOF
practice 6 --kind api_design --questions 1 --follow-ups 1 <<'EOF'
POST /payments creates a payment and returns 201 with the resource. The client sends an
Idempotency-Key header; the server stores the key with the response for 24 hours, so a retry
after a timeout returns the stored response instead of charging twice. A retry with the same key
but a different body gets 409 Conflict; validation errors are 422 with an error body that has a
machine-readable code.

Only the merchant's API key may create payments (401 without it, 403 for another merchant), and
there is a rate limit per key that answers 429 with Retry-After. New fields are additive; breaking
changes go to /v2 with a deprecation header and six months of notice.


EOF
practice 3 --kind behavioral --questions 1 --follow-ups 1 <<'EOF'
At my last company our checkout service had weekly outages during sales. I was the backend lead
and my task was to cut incidents before Black Friday. I added load tests, moved the inventory
reservation to a queue and introduced circuit breakers around the payment provider.

The result: zero checkout incidents that Black Friday and p99 latency went from 2.1 s to 400 ms.
Looking back I would involve the SRE team earlier.


EOF
practice 1 --kind system_design --questions 1 --follow-ups 1 <<'EOF'
Requirements first: 100M new short links a month, reads dominate about 100:1, redirects under
50 ms at p99, links never change once created. That is about 40 writes/s and 4,000 reads/s at
peak. I'd put a stateless API behind a load balancer, generate ids from a counter encoded in
base62, keep id -> URL in a key-value store partitioned by id, and cache hot links in Redis.

Counters need coordination, so each node leases a block of 1,000 ids; if a node dies we lose at
most a block, which is fine. If the cache fails, reads go to the store, which is sized for it.


EOF
# Left open: answered once, the interviewer's follow-up is waiting.
practice 0 --kind microservices --questions 2 --follow-ups 2 <<'EOF' || true
Orders and payments are separate services. When an order is placed, the order service writes the
order and an outbox row in one transaction; a relay publishes the event to Kafka and the payment
service consumes it. If payment fails it emits PaymentFailed and the order service cancels the
order: a saga with compensations instead of a distributed transaction.

EOF

echo "starting Xvfb"
Xvfb :99 -screen 0 "${WIDTH}x${HEIGHT}x24" -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
export DISPLAY=:99
export LIBGL_ALWAYS_SOFTWARE=1
sleep 2

mkdir -p "$OUT"
for screen in "${SCREENS[@]}"; do
  echo "screen: $screen"
  query=""
  [ "$screen" = bank ] && query="retries double charge"
  SPAR_APP_SCREEN=$screen SPAR_APP_BANK_QUERY=$query SPAR_APP_EXIT_AFTER_S=${SPAR_SHOT_SECONDS:-20} SPAR_APP_FRAME_LOG=1 \
    "$BIN" app 2>"$DEMO/app-$screen.log" &
  APP_PID=$!
  sleep "${SPAR_SHOT_AT:-15}"
  import -window root "$OUT/$screen.png"
  wait "$APP_PID" || { echo "the app failed on $screen:" >&2; cat "$DEMO/app-$screen.log" >&2; exit 1; }
  grep -h 'spar-app frames' "$DEMO/app-$screen.log" || true
done
echo "wrote ${#SCREENS[@]} screenshots to $OUT"
