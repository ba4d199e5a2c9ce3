#!/usr/bin/env bash
# consentline's test command (the README's, and what CI runs).
#
# 1. Builds the talk-off corpus (over 30 minutes of generated speech, music and tones) into
#    target/talkoff unless it is already there. The generator installs espeak-ng, festival,
#    timidity and sox with apt-get when run as root; otherwise install them first.
# 2. Runs the whole test suite in release mode, requiring the corpus so the talk-off test
#    cannot pass on the small committed sample alone.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${CONSENTLINE_TALKOFF_DIR:-$PWD/target/talkoff}"
bash scripts/corpus/talkoff.sh "$corpus"
export CONSENTLINE_TALKOFF_DIR="$corpus" CONSENTLINE_REQUIRE_CORPUS=1
cargo test --release "$@"
