#!/usr/bin/env bash
# How long the desktop app's frames take while a model generates (the budget is 50 ms).
#
#   scripts/frame_times.sh                 # both measurements below
#   SPAR_BIN=target/debug/spar scripts/frame_times.sh
#   SPAR_FRAME_MODEL=smollm2-135m scripts/frame_times.sh   # another registry id or a .gguf path
#
# 1. Headless: the egui_kittest test `the_ui_keeps_drawing_while_the_model_generates`
#    drives the real app state through three answers while the tiny test model streams its
#    follow-ups, and prints the slowest frame.
# 2. The real app under Xvfb with a real model (the registry default unless SPAR_FRAME_MODEL
#    is set; skipped when it is not downloaded): a system-design question opens, xdotool types
#    an answer and presses Ctrl+Enter, the interviewer model streams its follow-up, the app
#    closes itself and prints its frame statistics ("max while generating"). A screenshot of
#    the model's follow-up goes to docs/screenshots/practice-model-follow-up.png.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

echo "== headless (tiny test model)"
cargo nextest run --workspace -E 'package(spar-app) & test(the_ui_keeps_drawing_while_the_model_generates)' \
  --no-capture 2>&1 | grep -E 'frame time while generating|PASS|FAIL' || true

have() { command -v "$1" >/dev/null 2>&1; }
if ! have Xvfb || ! have xdotool || ! have import; then
  if have apt-get; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xdotool imagemagick \
      libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 >/dev/null
  else
    echo "install Xvfb, xdotool and ImageMagick for the real-app measurement" >&2
    exit 0
  fi
fi

BIN=${SPAR_BIN:-}
if [ -z "$BIN" ]; then
  cargo build --release
  BIN="$ROOT/target/release/spar"
fi
BIN=$(realpath "$BIN")
MODEL=${SPAR_FRAME_MODEL:-qwen2.5-coder-0.5b}
export SPAR_MODELS_DIR="${SPAR_MODELS_DIR:-$HOME/.local/share/spar/models}"
if [[ "$MODEL" != *.gguf ]] && ! "$BIN" models list 2>/dev/null | grep -E "^$MODEL[ (]" | grep -q 'downloaded'; then
  echo "== real app: skipped ($MODEL is not downloaded in $SPAR_MODELS_DIR; run \`spar models fetch $MODEL\`)"
  exit 0
fi

DEMO=$(mktemp -d /tmp/spar-frames.XXXXXX)
cleanup() {
  [ -n "${XVFB_PID:-}" ] && kill "$XVFB_PID" 2>/dev/null || true
  rm -rf "$DEMO"
}
trap cleanup EXIT
export SPAR_DATA_DIR="$DEMO/data" XDG_DATA_HOME="$DEMO/xdg" SPAR_NO_FETCH=1
Xvfb :98 -screen 0 1280x820x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
export DISPLAY=:98 LIBGL_ALWAYS_SOFTWARE=1
sleep 2

LOAD_WAIT=${SPAR_FRAME_LOAD_WAIT:-25}
GEN_WAIT=${SPAR_FRAME_GEN_WAIT:-60}
echo "== real app ($MODEL): load ${LOAD_WAIT}s, then answer and let the model generate for ${GEN_WAIT}s"
SPAR_APP_SCREEN=practice SPAR_APP_KIND=system_design SPAR_APP_FRAME_LOG=1 \
  SPAR_APP_EXIT_AFTER_S=$((LOAD_WAIT + GEN_WAIT + 5)) \
  "$BIN" app --model "$MODEL" 2>"$DEMO/app.log" &
APP_PID=$!
sleep "$LOAD_WAIT"
# No window manager runs under Xvfb: give the window the keyboard focus directly.
WID=$(xdotool search --sync --name 'spar')
xdotool windowfocus --sync "$WID"
xdotool mousemove --window "$WID" 700 690 click 1
sleep 0.5
xdotool type --delay 3 "Requirements first: 100M new links a month and 100 reads per write. A stateless API behind a load balancer, ids from a counter in base62, a key-value store partitioned by id, and a Redis cache for hot links."
xdotool key ctrl+Return
sleep "${SPAR_FRAME_SHOT_AT:-20}"
mkdir -p "$ROOT/docs/screenshots"
import -window root "$ROOT/docs/screenshots/practice-model-follow-up.png"
wait "$APP_PID" || { cat "$DEMO/app.log" >&2; exit 1; }
grep -h 'spar-app frames' "$DEMO/app.log" || { echo "no frame report; app log:" >&2; cat "$DEMO/app.log" >&2; exit 1; }
