#!/usr/bin/env python3
"""Deterministic text for the speech part of the DTMF talk-off corpus. Stdlib only.

Usage:
  make_text.py plain LANG SEED WORDS [--latin1]
      LANG is en or es. Prints about WORDS words: quotations taken from the
      Debian fortune databases (fortunes, fortunes-es) mixed with generated
      sentences full of numbers, phone numbers, dates, amounts, names and
      questions (typical call-centre talk). --latin1 writes ISO-8859-1 (for
      festival's Spanish voice), otherwise UTF-8.
  make_text.py sing LANG SEED NOTES
      Prints espeak-ng SSML for a sung melody of about NOTES syllables: every
      syllable is held (slow rate, flat pitch range) at its own pitch.

The same arguments always give the same text (random.Random(seed)).
"""

import glob
import os
import random
import re
import sys

FORTUNE_DIR = "/usr/share/games/fortunes"
EN_FILES = (
    "fortunes literature people science wisdom humorists food education pets sports politics work "
    "love kids platitudes riddles magic medicine miscellaneous news songs-poems paradoxum pratchett "
    "goedel law"
).split()
ES_EXCLUDE = ("off",)


def load_fortunes(lang):
    if lang == "en":
        paths = [os.path.join(FORTUNE_DIR, f) for f in EN_FILES]
        paths = [p for p in paths if os.path.isfile(p)]
    else:
        paths = sorted(glob.glob(os.path.join(FORTUNE_DIR, "es", "*.fortunes")))
    entries = []
    for path in sorted(paths):
        with open(path, "rb") as f:
            raw = f.read().decode("utf-8", errors="replace")
        raw = re.sub(r".\x08", "", raw)  # overstrike sequences
        for chunk in raw.split("\n%\n"):
            text = clean(chunk)
            if text:
                entries.append(text)
    return entries


def clean(chunk):
    lines = []
    for line in chunk.split("\n"):
        s = line.strip()
        if not s or s == "%":
            continue
        if s.startswith("--"):
            # attribution: keep the name, it is good spoken material
            s = s.lstrip("- ").strip()
            if not s:
                continue
            s = "(" + s + ")."
        lines.append(s)
    text = " ".join(lines)
    if not 30 <= len(text) <= 700:
        return None
    # skip ASCII art, code, tables and shouting
    nonspace = [c for c in text if not c.isspace()]
    letters = sum(1 for c in nonspace if c.isalpha())
    if letters < 0.75 * len(nonspace):
        return None
    if re.search(r"[|\\{}<>_=#@^~`]|\$\w|\w\(\)|/\w+/", text):
        return None
    if sum(1 for c in text if c.isupper()) > 0.3 * letters:
        return None
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r"\s+", " ", text)
    return text


# ---------------------------------------------------------------------------
# generated call-centre sentences

EN_FIRST = "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Margaret Steven Sandra Kevin Ashley Brian Emily Olivia Noah Liam Emma Ava Sophia".split()
EN_LAST = "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell".split()
EN_CITY = "Boston Chicago Denver Seattle Atlanta Phoenix Dallas Portland Miami Houston Detroit Baltimore Nashville Memphis Oakland".split()
EN_STREET = "Main Oak Maple Cedar Elm Washington Lake Hill Park Pine Sunset Lincoln Jackson Church".split()
EN_MONTH = "January February March April May June July August September October November December".split()
EN_DAY = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
EN_THING = "order package invoice claim appointment reservation ticket refund payment contract delivery prescription".split()

ES_FIRST = "José María Juan Carmen Antonio Ana Manuel Laura Francisco Isabel Javier Lucía Carlos Elena Miguel Pilar Rafael Sofía Pedro Marta Alejandro Paula Fernando Cristina Diego Rosa Pablo Teresa Jorge Beatriz Luis Valentina Andrés Camila Mateo Gabriela".split()
ES_LAST = "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández Díaz Moreno Álvarez Muñoz Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez Ramos Gil Ramírez Serrano Blanco Molina Castro Ortiz Rubio Morales".split()
ES_CITY = "Madrid Barcelona Valencia Sevilla Zaragoza Málaga Bilbao Granada Salamanca México Bogotá Lima Santiago Quito Montevideo Caracas".split()
ES_STREET = "Mayor Alcalá Gran Vía Serrano Colón Cervantes Goya Libertad Reforma Juárez Bolívar San Martín".split()
ES_MONTH = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split()
ES_DAY = "lunes martes miércoles jueves viernes sábado domingo".split()
ES_THING = "pedido paquete factura reclamación cita reserva billete reembolso pago contrato envío receta".split()


def digits(rng, count):
    return " ".join(str(rng.randrange(10)) for _ in range(count))


def en_sentence(rng):
    name = "%s %s" % (rng.choice(EN_FIRST), rng.choice(EN_LAST))
    first = rng.choice(EN_FIRST)
    thing = rng.choice(EN_THING)
    t = rng.randrange(24)
    forms = [
        lambda: "Hello, this is %s calling about %s %s number %s." % (name, rng.choice(("my", "your", "the")), thing, digits(rng, rng.randint(4, 8))),
        lambda: "Could you please call me back at %s %s %s?" % (digits(rng, 3), digits(rng, 3), digits(rng, 4)),
        lambda: "Is %s available on %s, %s %d, at %d:%02d %s?" % (first, rng.choice(EN_DAY), rng.choice(EN_MONTH), rng.randint(1, 28), rng.randint(1, 12), rng.choice((0, 15, 30, 45)), rng.choice(("a.m.", "p.m."))),
        lambda: "Your balance is %d dollars and %d cents, and the next payment of $%d.%02d is due on the %s." % (rng.randint(10, 9999), rng.randint(1, 99), rng.randint(5, 900), rng.randint(0, 99), rng.choice(("first", "second", "third", "fifth", "tenth", "fifteenth", "twenty-first", "thirtieth"))),
        lambda: "The address is %d %s Street, apartment %d%s, %s, zip code %s." % (rng.randint(1, 9999), rng.choice(EN_STREET), rng.randint(1, 40), rng.choice("ABCD"), rng.choice(EN_CITY), digits(rng, 5)),
        lambda: "Did %s get the %s I sent on %s, or should I send it again?" % (first, thing, rng.choice(EN_DAY)),
        lambda: "What is the reference number? Is it %s, or %s?" % (digits(rng, 6), digits(rng, 6)),
        lambda: "Okay, let me repeat that: %s, %s, %s. Is that correct?" % (digits(rng, 3), digits(rng, 3), digits(rng, 4)),
        lambda: "We have %d items in stock, %d percent off until %d." % (rng.randint(2, 500), rng.choice((5, 10, 15, 20, 25, 30, 50)), rng.randint(1990, 2035)),
        lambda: "Why didn't %s tell me the flight to %s leaves at %d:%02d?" % (name, rng.choice(EN_CITY), t, rng.randrange(60)),
        lambda: "Hmm, yes, yes. No, that's fine. Really? Oh, I see. Thank you so much, %s!" % first,
        lambda: "My date of birth is %s %d, %d, and my member ID is %s." % (rng.choice(EN_MONTH), rng.randint(1, 28), rng.randint(1930, 2010), digits(rng, 9)),
        lambda: "How many? Twelve, thirteen, fourteen... no, fifteen hundred and %d." % rng.randint(1, 99),
        lambda: "Ms. %s, Dr. %s and Mr. %s will join the call at %d o'clock." % (rng.choice(EN_LAST), rng.choice(EN_LAST), rng.choice(EN_LAST), rng.randint(1, 12)),
    ]
    return rng.choice(forms)()


def es_sentence(rng):
    name = "%s %s" % (rng.choice(ES_FIRST), rng.choice(ES_LAST))
    first = rng.choice(ES_FIRST)
    thing = rng.choice(ES_THING)
    forms = [
        lambda: "Buenos días, le habla %s, llamo por el %s número %s." % (name, thing, digits(rng, rng.randint(4, 8))),
        lambda: "¿Me puede llamar al %s %s %s, por favor?" % (digits(rng, 3), digits(rng, 3), digits(rng, 3)),
        lambda: "¿Está %s disponible el %s %d de %s a las %d y %d?" % (first, rng.choice(ES_DAY), rng.randint(1, 28), rng.choice(ES_MONTH), rng.randint(1, 12), rng.choice((15, 20, 30, 45))),
        lambda: "Su saldo es de %d euros con %d céntimos, y el próximo pago de %d pesos vence el día %d." % (rng.randint(10, 9999), rng.randint(1, 99), rng.randint(5, 900), rng.randint(1, 30)),
        lambda: "La dirección es calle %s, número %d, piso %d, %s, código postal %s." % (rng.choice(ES_STREET), rng.randint(1, 300), rng.randint(1, 12), rng.choice(ES_CITY), digits(rng, 5)),
        lambda: "¿Recibió %s el %s que le mandé el %s, o se lo envío otra vez?" % (first, thing, rng.choice(ES_DAY)),
        lambda: "¿Cuál es el número de referencia? ¿Es el %s o el %s?" % (digits(rng, 6), digits(rng, 6)),
        lambda: "Vale, se lo repito: %s, %s, %s. ¿Es correcto?" % (digits(rng, 3), digits(rng, 3), digits(rng, 3)),
        lambda: "Tenemos %d unidades en el almacén, con un descuento del %d por ciento hasta %d." % (rng.randint(2, 500), rng.choice((5, 10, 15, 20, 25, 30, 50)), rng.randint(1990, 2035)),
        lambda: "¿Por qué no me dijo %s que el vuelo a %s sale a las %d y %d?" % (name, rng.choice(ES_CITY), rng.randint(1, 23), rng.randrange(60)),
        lambda: "Sí, sí, claro. No, no pasa nada. ¿De verdad? Ah, ya veo. ¡Muchísimas gracias, %s!" % first,
        lambda: "Nací el %d de %s de %d y mi número de socio es el %s." % (rng.randint(1, 28), rng.choice(ES_MONTH), rng.randint(1930, 2010), digits(rng, 9)),
        lambda: "¿Cuántos? Doce, trece, catorce... no, mil quinientos %d." % rng.randint(1, 99),
        lambda: "La señora %s, el doctor %s y don %s se unirán a la llamada a las %d." % (rng.choice(ES_LAST), rng.choice(ES_LAST), rng.choice(ES_LAST), rng.randint(1, 12)),
    ]
    return rng.choice(forms)()


def plain(lang, seed, words, latin1):
    rng = random.Random(seed * 7919 + (1 if lang == "es" else 0))
    entries = load_fortunes(lang)
    gen = en_sentence if lang == "en" else es_sentence
    if not entries:
        sys.exit("make_text.py: no fortune files found under %s (packages fortunes / fortunes-es)" % FORTUNE_DIR)
    paras = []
    count = 0
    while count < words:
        if rng.random() < 0.55:
            para = rng.choice(entries)
        else:
            para = " ".join(gen(rng) for _ in range(rng.randint(1, 3)))
        paras.append(para)
        count += len(para.split())
    text = "\n\n".join(paras) + "\n"
    for a, b in (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2014", ", "), ("\u2013", "-"), ("\u2026", "...")):
        text = text.replace(a, b)
    if latin1:
        sys.stdout.buffer.write(text.encode("latin-1", errors="replace"))
    else:
        sys.stdout.buffer.write(text.encode("utf-8"))


SYLLABLES = {
    "en": "la la la na na oh ah doo dee lo ho hey me you love sun day night star sky".split(),
    "es": "la la la na na oh ah sol mar luz amor cielo día noche flor".split(),
}


def sing(lang, seed, notes):
    rng = random.Random(seed)
    # semitone offsets of a major scale; espeak caps pitch at roughly +60 %
    scale = (0, 2, 4, 5, 7, 9)
    out = ['<speak><prosody range="x-low">']
    idx = 2
    for i in range(notes):
        idx = max(0, min(len(scale) - 1, idx + rng.choice((-2, -1, 0, 1, 1, 2))))
        pct = round((2 ** (scale[idx] / 12.0) - 1) * 100)
        rate = rng.choice(("x-slow", "x-slow", "slow"))
        syl = rng.choice(SYLLABLES[lang])
        out.append('<prosody pitch="+%d%%" rate="%s">%s</prosody>' % (pct, rate, syl))
        if i % 8 == 7:
            out.append('<break time="400ms"/>')
    out.append("</prosody></speak>\n")
    sys.stdout.write(" ".join(out))


def main(argv):
    if len(argv) >= 5 and argv[1] == "plain" and argv[2] in ("en", "es"):
        plain(argv[2], int(argv[3]), int(argv[4]), "--latin1" in argv[5:])
        return 0
    if len(argv) == 5 and argv[1] == "sing" and argv[2] in ("en", "es"):
        sing(argv[2], int(argv[3]), int(argv[4]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
