#!/usr/bin/env bash
# Generate the DTMF talk-off test corpus: speech (English and Spanish), music
# and tonal sounds that a DTMF detector must NOT report as key presses.
#
# Usage: scripts/corpus/talkoff.sh OUTDIR
#        scripts/corpus/talkoff.sh --version
#
# Output: OUTDIR/{speech-en-*,speech-es-*,music-*,tonal-*}.wav (8000 Hz, mono,
# 16-bit PCM), OUTDIR/MANIFEST.tsv and OUTDIR/.complete (holds the corpus
# version). If OUTDIR/.complete already holds this version, exits 0 at once.
# Deterministic: fixed seeds everywhere, sox runs with -R.
# Missing tools are installed with apt-get when running as root; otherwise the
# script stops and names the Debian packages to install. See README.md.
set -euo pipefail

# Bump whenever anything that changes the generated audio changes.
CORPUS_VERSION="consentline-talkoff-corpus 1"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGET_DB=-18   # active speech/music level, dBFS RMS
MIN_S=20
MAX_S=170
JOBS="${TALKOFF_JOBS:-$(nproc 2>/dev/null || echo 2)}"

die() { echo "talkoff.sh: $*" >&2; exit 1; }

if [[ $# -ne 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  echo "usage: $0 OUTDIR | --version" >&2
  exit 2
fi
if [[ "$1" == "--version" ]]; then
  echo "$CORPUS_VERSION"
  exit 0
fi
OUT="$1"

if [[ -f "$OUT/.complete" ]] && [[ "$(head -n1 "$OUT/.complete")" == "$CORPUS_VERSION" ]]; then
  echo "talkoff.sh: $OUT already holds $CORPUS_VERSION"
  exit 0
fi

# ---------------------------------------------------------------------------
# dependencies: "test|package" (a command name or an absolute path)
DEPS=(
  "sox|sox"
  "soxi|sox"
  "espeak-ng|espeak-ng"
  "text2wave|festival"
  "/usr/share/festival/voices/english/kal_diphone|festvox-kallpc16k"
  "/usr/share/festival/voices/english/ked_diphone|festvox-kdlpc16k"
  "/usr/share/festival/voices/english/rab_diphone|festvox-rablpc16k"
  "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts|festvox-us-slt-hts"
  "/usr/share/festival/voices/spanish/el_diphone|festvox-ellpc11k"
  "timidity|timidity"
  "/etc/timidity/freepats.cfg|freepats"
  "/usr/share/games/fortunes/fortunes|fortunes"
  "/usr/share/games/fortunes/es/refranes.fortunes|fortunes-es"
  "python3|python3"
)

missing_packages() {
  local d t p out=()
  for d in "${DEPS[@]}"; do
    t="${d%%|*}" p="${d##*|}"
    if [[ "$t" == /* ]]; then [[ -e "$t" ]] && continue
    else command -v "$t" >/dev/null 2>&1 && continue; fi
    [[ " ${out[*]-} " == *" $p "* ]] || out+=("$p")
  done
  echo "${out[*]-}"
}

MISSING="$(missing_packages)"
if [[ -n "$MISSING" ]]; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "talkoff.sh: installing Debian packages: $MISSING" >&2
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $MISSING >&2; then
      apt-get -o DPkg::Lock::Timeout=600 update >&2
      # shellcheck disable=SC2086
      apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $MISSING >&2
    fi
    MISSING="$(missing_packages)"
    [[ -z "$MISSING" ]] || die "still missing after apt-get install: $MISSING"
  else
    die "missing Debian packages: $MISSING (install them: apt-get install --no-install-recommends $MISSING)"
  fi
fi

# ---------------------------------------------------------------------------
START=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/talkoff.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"/{raw,desc,txt,log,ok,midi}
export LC_ALL=C.UTF-8

# record a description for a corpus file: desc NAME TEXT
desc() { printf '%s\n' "$2" >"$WORK/desc/$1"; }

# run "$@" in the background, at most $JOBS at a time; log goes to log/NAME
spawn() {
  local _job="$1"; shift
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
  # not "cmd && touch": that would switch off errexit inside the job
  ( "$@" >"$WORK/log/$_job" 2>&1; touch "$WORK/ok/$_job" ) &
}

# speech NAME LANG ENGINE VOICE RATE PITCH SECONDS SEED POST DESCRIPTION
#   ENGINE: espeak | sing (espeak SSML melody) | festival (RATE = duration stretch)
#   POST:   extra sox effects applied to the rendering, or -
speech() {
  local name=$1 lang=$2 engine=$3 voice=$4 rate=$5 pitch=$6 secs=$7 seed=$8 post=$9
  local txt="$WORK/txt/$name.txt" raw="$WORK/raw/$name.wav" tmp="$WORK/raw/$name.tmp.wav"
  case "$engine" in
    espeak)
      python3 "$HERE/make_text.py" plain "$lang" "$seed" $(( secs * rate * 3 / 2 / 60 + 40 )) >"$txt"
      espeak-ng -v "$voice" -s "$rate" -p "$pitch" -f "$txt" -w "$tmp" ;;
    sing)
      python3 "$HERE/make_text.py" sing "$lang" "$seed" $(( secs * 3 )) >"$txt"
      espeak-ng -m -v "$voice" -s "$rate" -p "$pitch" -f "$txt" -w "$tmp" ;;
    festival)
      local enc=()
      [[ "$lang" == es ]] && enc=(--latin1)
      python3 "$HERE/make_text.py" plain "$lang" "$seed" $(( secs * 4 )) "${enc[@]}" >"$txt"
      text2wave -eval "(voice_$voice)" -eval "(Parameter.set 'Duration_Stretch $rate)" "$txt" -o "$tmp" ;;
    *) die "unknown engine $engine" ;;
  esac
  if [[ "$post" == - ]]; then
    sox -R "$tmp" "$raw" trim 0 "$secs"
  else
    # shellcheck disable=SC2086
    sox -R "$tmp" "$raw" trim 0 "$secs" $post
  fi
  rm -f "$tmp"
}

music() {
  local mid name _secs text
  python3 "$HERE/make_midi.py" "$WORK/midi"
  for mid in "$WORK"/midi/music-*.mid; do
    name="$(basename "$mid" .mid)"
    # timidity also reads its default config (may warn about a missing
    # fluidr3_gm.cfg); freepats.cfg then defines every program used.
    # -S 0 disables the resample cache, which made renders non-deterministic.
    timidity -c /etc/timidity/freepats.cfg -S 0 -Ow --output-mono -s 22050 -o "$WORK/raw/$name.wav" "$mid" \
      >"$WORK/log/timidity-$name" 2>&1 || { cat "$WORK/log/timidity-$name"; return 1; }
    [[ -s "$WORK/raw/$name.wav" ]] || { echo "timidity wrote nothing for $name"; return 1; }
  done
  while IFS=$'\t' read -r name _secs text; do
    desc "music-$name" "$text; timidity + freepats"
  done <"$WORK/midi/pieces.tsv"
}

tonal() {
  local name _secs text
  python3 "$HERE/make_tonal.py" "$WORK/raw"
  while IFS=$'\t' read -r name _secs text; do
    desc "tonal-$name" "$text; sox synth"
  done <"$WORK/raw/tonal.tsv"
  rm -f "$WORK/raw/tonal.tsv"
}

# ---------------------------------------------------------------------------
# speech jobs: name lang engine voice rate pitch seconds seed post description
SPEECH=(
  "speech-en-01|en|espeak|en-us|160|50|50|1|-|espeak-ng en-us, 160 wpm, pitch 50"
  "speech-en-02|en|espeak|en|120|40|55|2|-|espeak-ng en (British), slow 120 wpm, pitch 40"
  "speech-en-03|en|espeak|en+f3|200|70|55|3|-|espeak-ng en+f3 (female), 200 wpm, pitch 70"
  "speech-en-04|en|espeak|en+m3|240|30|40|4|-|espeak-ng en+m3 (male), fast 240 wpm, pitch 30"
  "speech-en-05|en|espeak|en-us+f5|180|90|45|5|-|espeak-ng en-us+f5, 180 wpm, high pitch 90"
  "speech-en-06|en|espeak|en-gb-x-rp+klatt|150|60|40|6|-|espeak-ng en-gb-x-rp+klatt (Klatt formant synthesis), 150 wpm"
  "speech-en-07|en|espeak|en+f4|170|99|40|7|pitch 700|espeak-ng en+f4 pitch 99, shifted up 7 semitones (child-like voice, F0 ~400-500 Hz)"
  "speech-en-08|en|espeak|en-us+m7|140|15|40|8|-|espeak-ng en-us+m7, 140 wpm, deep pitch 15"
  "speech-en-09|en|festival|kal_diphone|1.0|-|60|9|-|festival kal_diphone (US male), normal rate"
  "speech-en-10|en|festival|rab_diphone|1.25|-|50|10|-|festival rab_diphone (British male), slow (duration stretch 1.25)"
  "speech-en-11|en|festival|ked_diphone|0.8|-|45|11|pitch 300|festival ked_diphone (US male), fast (stretch 0.8), shifted up 3 semitones"
  "speech-en-12|en|festival|cmu_us_slt_arctic_hts|1.0|-|50|12|-|festival cmu_us_slt_arctic_hts (US female, HTS)"
  "speech-en-13|en|sing|en+f2|140|40|40|13|pitch 1200|sung syllables (espeak-ng SSML melody, en+f2) shifted up an octave: soprano, F0 ~320-450 Hz"
  "speech-en-14|en|sing|en+f3|140|40|30|14|pitch 2400|whistle-like sung syllables (espeak-ng SSML melody) shifted up two octaves, F0 ~600-900 Hz"
  "speech-es-01|es|espeak|es|160|50|50|101|-|espeak-ng es (Spain), 160 wpm, pitch 50"
  "speech-es-02|es|espeak|es-419|130|40|55|102|-|espeak-ng es-419 (Latin America), slow 130 wpm, pitch 40"
  "speech-es-03|es|espeak|es+f2|200|70|55|103|-|espeak-ng es+f2 (female), 200 wpm, pitch 70"
  "speech-es-04|es|espeak|es+m3|240|35|40|104|-|espeak-ng es+m3 (male), fast 240 wpm, pitch 35"
  "speech-es-05|es|espeak|es-419+f4|180|90|45|105|-|espeak-ng es-419+f4, 180 wpm, high pitch 90"
  "speech-es-06|es|espeak|es+klatt2|150|55|40|106|-|espeak-ng es+klatt2 (Klatt formant synthesis), 150 wpm"
  "speech-es-07|es|espeak|es+f5|170|99|40|107|pitch 700|espeak-ng es+f5 pitch 99, shifted up 7 semitones (child-like voice, F0 ~400-500 Hz)"
  "speech-es-08|es|espeak|es-419+m7|140|15|40|108|-|espeak-ng es-419+m7, 140 wpm, deep pitch 15"
  "speech-es-09|es|festival|el_diphone|1.0|-|60|109|-|festival el_diphone (Castilian male), normal rate"
  "speech-es-10|es|festival|el_diphone|1.3|-|50|110|pitch 400|festival el_diphone, slow (stretch 1.3), shifted up 4 semitones"
  "speech-es-11|es|festival|el_diphone|0.8|-|45|111|pitch -200|festival el_diphone, fast (stretch 0.8), shifted down 2 semitones"
  "speech-es-12|es|espeak|es-419+m1|170|60|50|112|-|espeak-ng es-419+m1, 170 wpm, pitch 60"
  "speech-es-13|es|sing|es+f2|140|40|40|113|pitch 1200|sung syllables (espeak-ng SSML melody, es+f2) shifted up an octave: soprano, F0 ~320-450 Hz"
  "speech-es-14|es|sing|es+f4|140|40|30|114|pitch 2400|whistle-like sung syllables (espeak-ng SSML melody) shifted up two octaves, F0 ~600-900 Hz"
)

echo "talkoff.sh: generating into $OUT ($JOBS parallel jobs)" >&2
EXPECT=(music tonal)
spawn music music
spawn tonal tonal
for job in "${SPEECH[@]}"; do
  IFS='|' read -r name lang engine voice rate pitch secs seed post text <<<"$job"
  src="fortune quotations + generated call-centre sentences"
  [[ "$engine" == sing ]] && src="melodic syllables"
  desc "$name" "$text; text: $src (seed $seed)"
  spawn "$name" speech "$name" "$lang" "$engine" "$voice" "$rate" "$pitch" "$secs" "$seed" "$post"
  EXPECT+=("$name")
done
wait
for name in "${EXPECT[@]}"; do
  if [[ ! -e "$WORK/ok/$name" ]]; then
    cat "$WORK/log/$name" >&2 || true
    die "generation step '$name' failed (log above)"
  fi
done

# ---------------------------------------------------------------------------
# convert + normalise everything into OUTDIR
mkdir -p "$OUT"
rm -f "$OUT"/.complete "$OUT"/MANIFEST.tsv "$OUT"/speech-*.wav "$OUT"/music-*.wav "$OUT"/tonal-*.wav
mkdir -p "$WORK/lev"
for raw in "$WORK"/raw/*.wav; do
  name="$(basename "$raw" .wav)"
  spawn "norm-$name" sh -c 'python3 "$1" "$2" "$3" "$4" "$5" "$6" >"$7"' _ \
    "$HERE/normalize.py" "$raw" "$OUT/$name.wav" "$TARGET_DB" "$MIN_S" "$MAX_S" "$WORK/lev/$name"
done
wait
COUNT=0
for raw in "$WORK"/raw/*.wav; do
  name="$(basename "$raw" .wav)"
  [[ -e "$WORK/ok/norm-$name" ]] || { cat "$WORK/log/norm-$name" >&2; die "normalising $name failed"; }
  COUNT=$((COUNT + 1))
done
(( COUNT > 0 )) || die "nothing was generated"

{
  printf 'file\tcategory\tseconds\tdescription\n'
  for f in "$OUT"/*.wav; do
    name="$(basename "$f" .wav)"
    case "$name" in
      speech-en-*) cat=speech-en ;;
      speech-es-*) cat=speech-es ;;
      music-*) cat=music ;;
      tonal-*) cat=tonal ;;
      *) continue ;;
    esac
    IFS=$'\t' read -r secs active peak <"$WORK/lev/$name"
    printf '%s.wav\t%s\t%s\t%s; active level %s dBFS, peak %s dBFS\n' \
      "$name" "$cat" "$secs" "$(cat "$WORK/desc/$name")" "$active" "$peak"
  done
} >"$OUT/MANIFEST.tsv"

TOTALS="$(awk -F'\t' 'NR > 1 { s[$2] += $3; t += $3 }
  END { for (c in s) printf "%s %.1f min, ", c, s[c] / 60; printf "total %.1f min", t / 60 }' "$OUT/MANIFEST.tsv")"
printf '%s\n' "$CORPUS_VERSION" >"$OUT/.complete"
echo "talkoff.sh: wrote $COUNT files to $OUT in $(( $(date +%s) - START )) s: $TOTALS" >&2
