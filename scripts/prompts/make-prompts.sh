#!/usr/bin/env bash
# Regenerates consentline's voice prompts (prompts/{en,es}/*.wav) and the
# catalog prompts/prompts.toml with SVOX Pico TTS (pico2wave) and sox.
#
#   scripts/prompts/make-prompts.sh            # from anywhere in the repo
#
# Output: 8000 Hz, mono, signed 16-bit PCM, plain RIFF/WAVE (WAVE_FORMAT_PCM).
# Needs: libttspico-utils (Debian non-free), sox. When run as root on Debian
# and they are missing, installs them (enabling the contrib/non-free
# components if libttspico-utils is not otherwise available).
# Output is reproducible: pico2wave is deterministic and sox runs with -R.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/prompts"

# --- tunables ----------------------------------------------------------------
TARGET_DB=-18      # active speech level, dBFS RMS
PEAK_MAX_DB=-1.5   # hard ceiling for sample peaks (spec: below -1 dBFS)
SPEED=100          # Pico speaking rate in percent (100 = Pico's default)
MAX_PAUSE=0.40     # seconds; longer pauses inside a prompt are shortened to this
PAD_PROMPT=0.075   # seconds of silence kept before/after sentence prompts
PAD_DIGIT=0.010    # seconds of silence kept before/after digits (tight, for concatenation)

# --- dependencies ---------------------------------------------------------------
need_install=()
command -v pico2wave >/dev/null 2>&1 || need_install+=(libttspico-utils)
command -v sox >/dev/null 2>&1 || need_install+=(sox)
if ((${#need_install[@]})); then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "missing: ${need_install[*]} (install them, e.g. apt-get install ${need_install[*]})" >&2
        exit 1
    fi
    apt-get update
    if [[ " ${need_install[*]} " == *" libttspico-utils "* ]] &&
        ! apt-cache policy libttspico-utils | grep -q 'Candidate: [0-9]'; then
        # libttspico-* is in Debian's non-free component.
        . /etc/os-release
        cat >/etc/apt/sources.list.d/debian-contrib-nonfree.sources <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${VERSION_CODENAME:-bookworm} ${VERSION_CODENAME:-bookworm}-updates
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        apt-get update
    fi
    apt-get -o DPkg::Lock::Timeout=600 install -y "${need_install[@]}"
fi

# --- prompt texts ------------------------------------------------------------------
# Each entry: id|transcript|text given to the TTS (empty = same as transcript)|Pico voice
# (empty = the language's own voice; used for the Spanish-language offer played to
# English callers). Digits in menu prompts are spelled out for the TTS so they are read
# as words. Prompt sets are listed in the manifest in this order: consent (EN, ES), then
# the privacy-request line (PRIVACY_EN, PRIVACY_ES, with the date words appended).

# Consent prompts.
EN=(
    "consent.disclosure|Thank you for calling. This call may be recorded for quality and training purposes. To agree to recording, press 1. To continue without recording, press 2.|Thank you for calling. This call may be recorded for quality and training purposes. To agree to recording, press one. To continue without recording, press two."
    "consent.retry|To agree to recording, press 1. To continue without recording, press 2.|To agree to recording, press one. To continue without recording, press two."
    "consent.invalid|Sorry, that is not a valid choice.|"
    "consent.no_input|Sorry, we did not receive your choice.|"
    "consent.confirm_record|Thank you. This call will be recorded.|"
    "consent.confirm_no_record|Thank you. This call will not be recorded.|"
    "consent.no_answer|We did not receive a choice, so this call will not be recorded.|"
    "common.goodbye|Thank you for calling. Goodbye.|"
    "digit.0|zero|"
    "digit.1|one|"
    "digit.2|two|"
    "digit.3|three|"
    "digit.4|four|"
    "digit.5|five|"
    "digit.6|six|"
    "digit.7|seven|"
    "digit.8|eight|"
    "digit.9|nine|"
)
ES=(
    "consent.disclosure|Gracias por llamar. Esta llamada puede ser grabada con fines de calidad y capacitación. Para aceptar la grabación, oprima 1. Para continuar sin grabación, oprima 2.|Gracias por llamar. Esta llamada puede ser grabada con fines de calidad y capacitación. Para aceptar la grabación, oprima uno. Para continuar sin grabación, oprima dos."
    "consent.retry|Para aceptar la grabación, oprima 1. Para continuar sin grabación, oprima 2.|Para aceptar la grabación, oprima uno. Para continuar sin grabación, oprima dos."
    "consent.invalid|Lo sentimos, esa no es una opción válida.|"
    "consent.no_input|Lo sentimos, no recibimos su selección.|"
    "consent.confirm_record|Gracias. Esta llamada será grabada.|"
    "consent.confirm_no_record|Gracias. Esta llamada no será grabada.|"
    "consent.no_answer|No recibimos ninguna selección, por lo que esta llamada no será grabada.|"
    "common.goodbye|Gracias por llamar. Adiós.|"
    "digit.0|cero|"
    "digit.1|uno|"
    "digit.2|dos|"
    "digit.3|tres|"
    "digit.4|cuatro|"
    "digit.5|cinco|"
    "digit.6|seis|"
    "digit.7|siete|"
    "digit.8|ocho|"
    "digit.9|nueve|"
)

# Privacy-request line (CCPA request intake). Dates are read as
#   en: <privacy.respond_by> <month.M> <day.D>, <year.Y>
#   es: <privacy.respond_by> <date.the> <day.D> <date.of> <month.M> <date.of> <year.Y>
PRIVACY_EN=(
    "privacy.greeting|Thank you for calling our privacy request line. This call is not recorded.|"
    "privacy.espanol|Para español, oprima nueve.||es-ES"
    "privacy.menu|To request a copy of the personal information we have collected about you, press 1. To request that we delete your personal information, press 2. To opt out of the sale or sharing of your personal information, press 3. To request a correction to your personal information, press 4. To limit the use of your sensitive personal information, press 5. To speak with a person, press 0. To hear these options again, press star.|To request a copy of the personal information we have collected about you, press one. To request that we delete your personal information, press two. To opt out of the sale or sharing of your personal information, press three. To request a correction to your personal information, press four. To limit the use of your sensitive personal information, press five. To speak with a person, press zero. To hear these options again, press star."
    "privacy.invalid|Sorry, that is not a valid choice.|"
    "privacy.no_input|Sorry, we did not receive your choice.|"
    "privacy.callback_intro|We will contact you about your request at this number:|"
    "privacy.callback_confirm|To use this number, press 1. To enter a different number, press 2.|To use this number, press one. To enter a different number, press two."
    "privacy.callback_enter|Please enter your ten-digit phone number, followed by the pound key.|"
    "privacy.callback_entered|You entered:|"
    "privacy.who|If you are the consumer making this request, press 1. If you are an authorized agent calling on behalf of a consumer, press 2.|If you are the consumer making this request, press one. If you are an authorized agent calling on behalf of a consumer, press two."
    "privacy.received|Thank you. Your request has been received.|"
    "privacy.confirmation_number|Your confirmation number is:|"
    "privacy.repeat_number|Again, your confirmation number is:|"
    "privacy.verify_notice|We will contact you to verify your identity, using information we already have.|"
    "privacy.respond_by|We will respond to your request by|"
    "privacy.honor_by|Your request will be honored no later than|"
    "privacy.transfer|Please hold while we connect you with a member of our privacy team. This call will not be recorded.|"
    "privacy.no_answer|We did not receive a choice. Please call again at any time. Goodbye.|"
    "privacy.failed|We are sorry, we could not record your request right now. Please call again later. Goodbye.|"
    "privacy.goodbye|Thank you for calling. Goodbye.|"
)
PRIVACY_ES=(
    "privacy.greeting|Gracias por llamar a nuestra línea de solicitudes de privacidad. Esta llamada no se está grabando.|"
    "privacy.espanol|Para español, oprima nueve.|"
    "privacy.menu|Para solicitar una copia de la información personal que hemos recopilado sobre usted, oprima 1. Para solicitar que eliminemos su información personal, oprima 2. Para excluirse de la venta o del intercambio de su información personal, oprima 3. Para solicitar que corrijamos su información personal, oprima 4. Para limitar el uso de su información personal confidencial, oprima 5. Para hablar con una persona, oprima 0. Para escuchar estas opciones de nuevo, oprima asterisco.|Para solicitar una copia de la información personal que hemos recopilado sobre usted, oprima uno. Para solicitar que eliminemos su información personal, oprima dos. Para excluirse de la venta o del intercambio de su información personal, oprima tres. Para solicitar que corrijamos su información personal, oprima cuatro. Para limitar el uso de su información personal confidencial, oprima cinco. Para hablar con una persona, oprima cero. Para escuchar estas opciones de nuevo, oprima asterisco."
    "privacy.invalid|Lo sentimos, esa no es una opción válida.|"
    "privacy.no_input|Lo sentimos, no recibimos su selección.|"
    "privacy.callback_intro|Nos comunicaremos con usted sobre su solicitud a este número:|"
    "privacy.callback_confirm|Para usar este número, oprima 1. Para ingresar otro número, oprima 2.|Para usar este número, oprima uno. Para ingresar otro número, oprima dos."
    "privacy.callback_enter|Por favor, ingrese su número de teléfono de diez dígitos, seguido de la tecla de numeral.|"
    "privacy.callback_entered|Usted ingresó:|"
    "privacy.who|Si usted es el consumidor que hace esta solicitud, oprima 1. Si es un agente autorizado que llama en nombre de un consumidor, oprima 2.|Si usted es el consumidor que hace esta solicitud, oprima uno. Si es un agente autorizado que llama en nombre de un consumidor, oprima dos."
    "privacy.received|Gracias. Hemos recibido su solicitud.|"
    "privacy.confirmation_number|Su número de confirmación es:|"
    "privacy.repeat_number|Una vez más, su número de confirmación es:|"
    "privacy.verify_notice|Nos comunicaremos con usted para verificar su identidad, usando información que ya tenemos.|"
    "privacy.respond_by|Responderemos a su solicitud a más tardar|"
    "privacy.honor_by|Atenderemos su solicitud a más tardar|"
    "privacy.transfer|Por favor, espere mientras transferimos su llamada a un miembro de nuestro equipo de privacidad. Esta llamada no será grabada.|"
    "privacy.no_answer|No recibimos ninguna selección. Por favor, llame de nuevo en cualquier momento. Adiós.|"
    "privacy.failed|Lo sentimos, no pudimos registrar su solicitud en este momento. Por favor, llame de nuevo más tarde. Adiós.|"
    "privacy.goodbye|Gracias por llamar. Adiós.|"
)

# Date words (short and tight like the digits): month.1-12, day.1-31, year.2025-2032;
# Spanish also has date.the ("el") and date.of ("de").
MONTHS_EN=(January February March April May June July August September October November December)
MONTHS_ES=(enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre)
DAYS_EN=(first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
    thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth
    twenty-first twenty-second twenty-third twenty-fourth twenty-fifth twenty-sixth
    twenty-seventh twenty-eighth twenty-ninth thirtieth thirty-first)
DAYS_ES=(primero dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce
    quince dieciséis diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés
    veinticuatro veinticinco veintiséis veintisiete veintiocho veintinueve treinta
    "treinta y uno")
YEARS_EN=("twenty twenty-five" "twenty twenty-six" "twenty twenty-seven" "twenty twenty-eight"
    "twenty twenty-nine" "twenty thirty" "twenty thirty-one" "twenty thirty-two")
YEARS_ES=("dos mil veinticinco" "dos mil veintiséis" "dos mil veintisiete" "dos mil veintiocho"
    "dos mil veintinueve" "dos mil treinta" "dos mil treinta y uno" "dos mil treinta y dos")
for i in "${!MONTHS_EN[@]}"; do
    PRIVACY_EN+=("month.$((i + 1))|${MONTHS_EN[i]}|")
    PRIVACY_ES+=("month.$((i + 1))|${MONTHS_ES[i]}|")
done
for i in "${!DAYS_EN[@]}"; do
    PRIVACY_EN+=("day.$((i + 1))|${DAYS_EN[i]}|")
    PRIVACY_ES+=("day.$((i + 1))|${DAYS_ES[i]}|")
done
for i in "${!YEARS_EN[@]}"; do
    PRIVACY_EN+=("year.$((i + 2025))|${YEARS_EN[i]}|")
    PRIVACY_ES+=("year.$((i + 2025))|${YEARS_ES[i]}|")
done
PRIVACY_ES+=("date.the|el|" "date.of|de|")

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# stat_db FILE FIELD [sox effects...] -> value of a `sox stats` field, e.g. "RMS lev dB"
stat_db() {
    local f="$1" field="$2"
    shift 2
    sox -R "$f" -n "$@" stats 2>&1 | awk -v k="$field" 'index($0, k) == 1 { print $NF; exit }'
}

# render LANG PICO_LANG ID TEXT
render() {
    local lang="$1" plang="$2" id="$3" text="$4"
    local raw="$TMP/$lang.$id.raw.wav" mid="$TMP/$lang.$id.mid.wav"
    local dst="$OUT/$lang/$id.wav"
    local pad=$PAD_PROMPT fade_in=0.010 fade_out=0.040
    # Words that are concatenated (digits, date parts) are kept short and tight.
    case $id in
    digit.* | month.* | day.* | year.* | date.*) pad=$PAD_DIGIT fade_in=0.005 fade_out=0.015 ;;
    esac

    pico2wave -l "$plang" -w "$raw" "<speed level=\"$SPEED\">$text</speed>"

    # 1. trim leading/trailing silence, cap inner pauses, telephone band (gentle 2-pole 300 Hz
    #    high-pass and 3400 Hz low-pass), very-high-quality resample to 8 kHz,
    #    peak-normalise to a fixed reference so the level measurement is stable.
    sox -R "$raw" -b 32 -e floating-point "$mid" \
        silence -l 1 0.02 -60d -1 "$MAX_PAUSE" -60d reverse silence 1 0.02 -60d reverse \
        highpass 300 lowpass 3400 \
        rate -v -I 8000 \
        norm -6

    # 2. active speech level: RMS with pauses longer than 50 ms removed.
    local active peak gain
    active=$(stat_db "$mid" "RMS lev dB" silence 1 0.01 -45d -1 0.05 -45d)
    peak=$(stat_db "$mid" "Pk lev dB")
    gain=$(awk -v t="$TARGET_DB" -v a="$active" -v p="$peak" -v m="$PEAK_MAX_DB" \
        'BEGIN { g = t - a; if (p + g > m) g = m - p; printf "%.2f", g }')

    # 3. level, pad to the wanted silence, short fades, write 8 kHz s16 mono PCM.
    sox -R -D "$mid" -r 8000 -c 1 -b 16 -e signed-integer -t wav "$dst" \
        gain "$gain" pad "$pad" "$pad" fade h "$fade_in" -0 "$fade_out"

    printf '%-3s %-26s %6.2fs  active %6.1f dBFS  peak %5.1f dBFS\n' "$lang" "$id" \
        "$(sox --i -D "$dst")" "$(stat_db "$dst" "RMS lev dB" silence 1 0.01 -45d -1 0.05 -45d)" \
        "$(stat_db "$dst" "Pk lev dB")"
}

mkdir -p "$OUT/en" "$OUT/es"
for e in "${EN[@]}" "${PRIVACY_EN[@]}"; do
    IFS='|' read -r id tr tts voice <<<"$e"
    render en "${voice:-en-US}" "$id" "${tts:-$tr}"
done
for e in "${ES[@]}" "${PRIVACY_ES[@]}"; do
    IFS='|' read -r id tr tts voice <<<"$e"
    render es "${voice:-es-ES}" "$id" "${tts:-$tr}"
done

# --- manifest --------------------------------------------------------------------------
toml_str() { local s="${1//\\/\\\\}"; printf '"%s"' "${s//\"/\\\"}"; }
{
    cat <<'EOF'
# consentline prompt catalog. Paths are relative to this file.
# A business can replace any file with its own recording (any sample rate, mono or stereo,
# 8/16/24/32-bit integer or float WAV); consentline converts and levels it at start-up.
#
# The shipped files were made with SVOX Pico TTS (pico2wave, Debian libttspico-utils):
# voice en-US (female "lh0") for English and es-ES (female "zl0") for Spanish,
# processed with sox to 8000 Hz mono 16-bit PCM. Regenerate them, and this file,
# with scripts/prompts/make-prompts.sh.
EOF
    for group in EN ES PRIVACY_EN PRIVACY_ES; do
        lang=$(tr '[:upper:]' '[:lower:]' <<<"${group##*_}")
        declare -n list=$group
        for e in "${list[@]}"; do
            IFS='|' read -r id tr _ <<<"$e"
            printf '\n[[prompt]]\nid = %s\nlanguage = "%s"\nfile = "%s/%s.wav"\ntranscript = %s\n' \
                "$(toml_str "$id")" "$lang" "$lang" "$id" "$(toml_str "$tr")"
        done
        unset -n list
    done
} >"$OUT/prompts.toml"

echo "wrote $OUT/prompts.toml and $(ls "$OUT"/en/*.wav "$OUT"/es/*.wav | wc -l) WAV files ($(du -sh "$OUT" | cut -f1))"
