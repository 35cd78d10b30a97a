#!/usr/bin/env python3
"""Generate the labelled PII-detector corpus: tests/guardrails/corpus2/pii.jsonl.

Python 3 standard library only and deterministic (fixed seed, fixed call order):
re-running rewrites a byte-identical file.

Record shape (one JSON object per line, keys in this order):
  {"id": ..., "text": ..., "expect": [{"type": T, "value": V}, ...], "note": ...}

  T in: email, phone, card, iban, ssn, ip
  id: pii-<type>-NNN   positive holding one PII type
      pii-mixed-NNN    positive holding several PII types
      pii-neg-<type>-NNN  negative (no PII) imitating <type>

`expect` lists every PII value in the text, in order of appearance; each value
is the minimal exact substring. All values are invented: card numbers are
either well-known test numbers or generated here with a computed Luhn digit,
IBANs get computed ISO 13616 mod-97 check digits on random BBANs, SSNs sit in
the valid ranges, IP addresses are mostly documentation / private ranges,
phone numbers use fictional ranges where a country has them (US 555-01xx,
UK Ofcom drama numbers, ARCEP fiction numbers, ACMA fiction numbers) and
otherwise made-up subscriber digits, e-mail domains are made up.

Run:  python3 generate_pii.py          (writes pii.jsonl and validates it)
"""
import ipaddress
import json
import os
import random
import re
import sys

SEED = 13616_97
rng = random.Random(SEED)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pii.jsonl")

TYPES = ("email", "phone", "card", "iban", "ssn", "ip")

# --------------------------------------------------------------------------
# check-digit helpers
# --------------------------------------------------------------------------


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(payload):
    for c in "0123456789":
        if luhn_ok(payload + c):
            return payload + c
    raise AssertionError("unreachable")


def rand_digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def rand_letters(n):
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))


def grp(s, sizes, sep=" "):
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    assert i == len(s), (s, sizes)
    return sep.join(out)


def g4(s, sep=" "):
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


CARD_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])\d+(?:[ -]\d+)*(?![A-Za-z0-9])")


def card_candidates(text):
    """Group-aligned digit sequences (13-19 digits, card prefix 2-6) that pass Luhn.

    A run of digit groups separated by single spaces or dashes, delimited by
    non-alphanumerics, is split at its separators; every contiguous slice of
    whole groups is a candidate, so a detector choosing any group-aligned
    window is covered.
    """
    out = []
    for m in CARD_TOKEN_RE.finditer(text):
        run = m.group(0)
        parts = re.split(r"([ -])", run)
        groups = parts[0::2]
        for i in range(len(groups)):
            for j in range(i + 1, len(groups) + 1):
                seq = "".join(groups[i:j])
                if 13 <= len(seq) <= 19 and seq[0] in "23456" and luhn_ok(seq):
                    out.append("".join(parts[2 * i:2 * j - 1]))
    return out


def make_card(prefix, length):
    """Random card number with the given prefix and a correct Luhn digit.

    Retries until no proper group-aligned sub-window of its grouped forms is
    itself card-like, so the whole number is the only candidate.
    """
    while True:
        card = luhn_complete(prefix + rand_digits(length - len(prefix) - 1))
        forms = (g4(card), grp(card, [4, 6, len(card) - 10]) if length in (14, 15) else card)
        if all(card_candidates(f) == [f] for f in forms):
            return card


def make_bad_card(prefix, length):
    """Like make_card but with the check digit deliberately off by one."""
    good = make_card(prefix, length)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not luhn_ok(bad)
    return bad


# ISO 13616 IBAN lengths (subset used + a few more for validation)
IBAN_LEN = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28,
    "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SA": 24, "SE": 24, "SI": 19,
    "SK": 24, "TR": 26,
}

# BBAN shapes: n = digit, a = upper-case letter
BBAN_SHAPE = {
    "DE": "n18", "GB": "a4 n14", "FR": "n23", "ES": "n20", "IT": "a1 n22",
    "NL": "a4 n10", "BE": "n12", "CH": "n17", "AT": "n16", "PL": "n24",
    "PT": "n21", "IE": "a4 n14", "SE": "n20", "DK": "n14", "NO": "n11",
    "FI": "n14", "LU": "n16", "CZ": "n20", "HR": "n17", "AE": "n19",
    "RO": "a4 n16", "HU": "n24", "SK": "n20", "SI": "n15", "LT": "n16",
    "EE": "n16", "BG": "a4 n14", "MT": "a4 n23", "GR": "n23", "LV": "a4 n13",
}


def _alnum_to_int(s):
    return int("".join(str(int(c, 36)) for c in s))


def iban_check_digits(cc, bban):
    return 98 - _alnum_to_int(bban + cc + "00") % 97


def mod97_ok(compact):
    return _alnum_to_int(compact[4:] + compact[:4]) % 97 == 1


def iban_ok(s):
    c = s.replace(" ", "")
    return (
        bool(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", c))
        and c[:2] in IBAN_LEN
        and len(c) == IBAN_LEN[c[:2]]
        and 2 <= int(c[2:4]) <= 98
        and mod97_ok(c)
    )


def rand_bban(cc):
    out = ""
    for part in BBAN_SHAPE[cc].split():
        kind, n = part[0], int(part[1:])
        out += rand_letters(n) if kind == "a" else rand_digits(n)
    return out


def clean_digits(s):
    """True when neither the compact nor the 4-grouped form contains a
    Luhn-valid card-like window (so IBAN items carry no accidental card)."""
    return not card_candidates(s) and not card_candidates(g4(s))


def make_iban(cc):
    while True:
        bban = rand_bban(cc)
        iban = f"{cc}{iban_check_digits(cc, bban):02d}{bban}"
        assert iban_ok(iban), iban
        if clean_digits(iban):
            return iban


def retry(fn):
    """Call fn() until its result is free of card-like windows."""
    while True:
        v = fn()
        if clean_digits(v):
            return v


def ssn_ok(value):
    digits = re.sub(r"[ -]", "", value)
    if not re.fullmatch(r"\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{9}", value):
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


def ip_ok(value):
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def email_ok(value):
    return bool(EMAIL_RE.fullmatch(value))


def phone_ok(value):
    if not re.fullmatch(r"\+?[\d().\- ]+", value):
        return False
    if not value[0].isdigit() and value[0] not in "+(":
        return False
    if not value[-1].isdigit():
        return False
    n = len(re.sub(r"\D", "", value))
    return 7 <= n <= 15


def card_ok(value):
    if not re.fullmatch(r"\d[\d -]*\d", value):
        return False
    d = re.sub(r"\D", "", value)
    return 13 <= len(d) <= 19 and luhn_ok(d) and d[0] in "23456"


VALIDATORS = {
    "email": email_ok, "phone": phone_ok, "card": card_ok,
    "iban": iban_ok, "ssn": ssn_ok, "ip": ip_ok,
}

# --------------------------------------------------------------------------
# generated values (drawn in a fixed order from the seeded generator)
# --------------------------------------------------------------------------

C = {  # positives, single-type card items
    "visa1": make_card("4", 16),
    "visa2": make_card("49", 16),
    "visa3": make_card("4556", 16),
    "mc1": make_card("53", 16),
    "mc2": make_card("2720", 16),
    "mc3": make_card("51", 16),
    "amex1": make_card("37", 15),
    "disc1": make_card("65", 16),
    "jcb1": make_card("3566", 16),
    "up1": make_card("62", 19),
    "maestro1": make_card("6759", 16),
    "visa4": make_card("4", 16),
    "mc4": make_card("55", 16),
}
CM = {  # cards used in mixed items
    "visa": make_card("4", 16),
    "mc": make_card("52", 16),
    "amex": make_card("34", 15),
}
I = {cc: make_iban(cc) for cc in (
    "DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "PL",
    "PT", "IE", "SE", "DK", "NO", "FI", "LU", "CZ", "HR", "AE")}
IM = {cc: make_iban(cc) for cc in ("DE", "NL", "GB", "ES")}

# negatives: card look-alikes failing Luhn
NC = {
    "order": make_bad_card("4", 16),
    "serial": make_bad_card("54", 16),
    "seal": make_bad_card("6011", 16),
    "ref": make_bad_card("6304", 16),
    "amexlike": make_bad_card("37", 15),
    "jcblike": make_bad_card("35", 16),
}
IMEI = luhn_complete("35209900" + rand_digits(6))  # 15-digit IMEI, Luhn-valid by design


def flip_digit(s, pos):
    """Change the digit at pos (index into the compact string) by +1 mod 10."""
    assert s[pos].isdigit()
    return s[:pos] + str((int(s[pos]) + 1) % 10) + s[pos + 1:]


NI = {}
NI["bad_de"] = retry(lambda: flip_digit(make_iban("DE"), 13))
NI["bad_gb"] = retry(lambda: flip_digit(make_iban("GB"), 15))
NI["bad_it"] = retry(lambda: flip_digit(make_iban("IT"), 20))


def _swap():
    fr = make_iban("FR")
    p = next(i for i in range(10, 20) if fr[i] != fr[i + 1])
    return fr[:p] + fr[p + 1] + fr[p] + fr[p + 2:]


NI["swap_fr"] = retry(_swap)


def _with_check(cc, bban):
    """Prefix cc + mod-97 check digits, without any length check."""
    return f"{cc}{iban_check_digits(cc, bban):02d}{bban}"


# valid mod-97 but wrong length for the country
NI["short_de"] = retry(lambda: _with_check("DE", rand_digits(17)))
NI["short_nl"] = retry(lambda: _with_check("NL", "ABNA" + rand_digits(7)))
# valid mod-97 for a non-existent country code
NI["xx"] = retry(lambda: _with_check("XX", rand_digits(18)))
# ISO 11649 creditor reference (also mod-97, prefix RF)
NI["rf"] = retry(lambda: _with_check("RF", rand_digits(12)))


def _lei():
    # ISO 17442 LEI: 18 chars + 2 check digits, whole string mod 97 == 1
    base = rand_digits(4) + "00" + rand_letters(4) + rand_digits(4) + rand_letters(2) + rand_digits(2)
    lei = base + f"{98 - _alnum_to_int(base + '00') % 97:02d}"
    assert _alnum_to_int(lei) % 97 == 1
    return lei


NI["lei"] = retry(_lei)


def _letter_o():
    while True:
        es = make_iban("ES")
        z = es.find("0", 4)
        if z > 0:
            return es[:z] + "O" + es[z + 1:]


NI["es_letter_o"] = retry(_letter_o)

for k, v in NI.items():
    assert not iban_ok(v), (k, v)

# --------------------------------------------------------------------------
# item builders
# --------------------------------------------------------------------------

ITEMS = []


def pos(kind, text, values, note=""):
    """kind: a type name or 'mixed'. values: list of (type, value)."""
    if isinstance(values, str):
        values = [(kind, values)]
    found = []
    for t, v in values:
        assert text.count(v) == 1, f"value {v!r} must occur exactly once in {text!r}"
        found.append((text.index(v), t, v))
    found.sort()
    ITEMS.append({
        "cat": kind,
        "text": text,
        "expect": [{"type": t, "value": v} for _, t, v in found],
        "note": note,
    })


def neg(kind, text, note, exempt=()):
    assert note, "negatives need a note"
    ITEMS.append({"cat": "neg-" + kind, "text": text, "expect": [], "note": note,
                  "exempt": set(exempt)})


# ==========================================================================
# POSITIVES — phone (36)
# ==========================================================================
pos("phone", "Hi, this is Marcus from the dental office. Please call me back at (212) 555-0147 after 3pm to confirm Thursday.", "(212) 555-0147")
pos("phone", '{"customer_id": 88213, "name": "Dana Whitfield", "phone": "+14155550132", "opt_in": true}', "+14155550132")
pos("phone", "Contact: Ray Alvarez | Tel. 312.555.0186 | Chicago branch", "312.555.0186")
pos("phone", "Phone: +1 (646) 555-0119 ext. 204", "+1 (646) 555-0119", "extension is not part of the value")
pos("phone", "Vancouver office hours are 9 to 5 Pacific; reach the front desk at 1-604-555-0183.", "1-604-555-0183")
pos("phone", "2024-03-11 09:14:02 INFO sms.send to=tel:+1-202-555-0164 template=otp status=queued", "+1-202-555-0164", "tel: URI scheme is not part of the value")
pos("phone", "Ring the surgery on (020) 7946 0321 and ask for the duty nurse.", "(020) 7946 0321")
pos("phone", "Text me on 07700 900461 when you're outside, the buzzer's broken", "07700 900461")
pos("phone", "Manchester depot (24h): +44 161 496 0732", "+44 161 496 0732")
pos("phone", "id,name,mobile,team\n1042,Priya Shah,+447700900218,Logistics", "+447700900218")
pos("phone", "Mit freundlichen Grüßen\nJonas Weber\nVertrieb Nord\nTelefon: +49 30 901820 45", "+49 30 901820 45")
pos("phone", "Rückruf bitte unter 089 4521 7736, ich bin bis 17 Uhr im Büro.", "089 4521 7736")
pos("phone", "Niederlassung Hamburg (Tel. +49 (0)40 3861 2245)", "+49 (0)40 3861 2245", "outer brackets are not part of the number; the (0) trunk prefix is")
pos("phone", "Tél. : 01 99 00 53 12 — du lundi au vendredi", "01 99 00 53 12")
pos("phone", "Pour toute question, appelez Claire au +33 6 39 98 41 27.", "+33 6 39 98 41 27")
pos("phone", "contact;mobile;ville\nM. Lefèvre;06.39.98.75.10;Lyon", "06.39.98.75.10")
pos("phone", "Ravi's number is +91 98450 12763, he handles the Bengaluru vendors.", "+91 98450 12763")
pos("phone", "Ph: 080 4123 5678 (Koramangala office)", "080 4123 5678")
pos("phone", "WhatsApp: +55 11 98765-4321 — falar com a Fernanda", "+55 11 98765-4321")
pos("phone", "Ligue para (21) 3456-7890 para agendar a entrega.", "(21) 3456-7890")
pos("phone", "お問い合わせ 電話: 03-5321-8841（平日 9時〜18時）", "03-5321-8841")
pos("phone", "Kenji's Japanese mobile is +81 90-4417-2291, SMS works best.", "+81 90-4417-2291")
pos("phone", "G'day, my mobile is 0491 570 156 if the courier gets lost.", "0491 570 156")
pos("phone", "Sydney support line: +61 2 5550 3127", "+61 2 5550 3127")
pos("phone", "Bel ons gerust op +31 20 794 3812, we zijn er van 9 tot 17 uur.", "+31 20 794 3812")
pos("phone", "Mijn nieuwe nummer: 06-41872365", "06-41872365")
pos("phone", "Teléfono de contacto: +34 915 872 304", "+34 915 872 304")
pos("phone", "Si no contesto, mándame un WhatsApp al 612 48 93 17.", "612 48 93 17")
pos("phone", "Ufficio acquisti — Tel. +39 06 6982 4471", "+39 06 6982 4471")
pos("phone", "Per urgenze chiamare il cell. 347 218 6630", "347 218 6630")
pos("phone", "Atención a clientes CDMX: +52 55 4123 8890", "+52 55 4123 8890")
pos("phone", "Call our Lagos line on +234 803 412 7765 or 0809 331 2048 after hours.", [("phone", "+234 803 412 7765"), ("phone", "0809 331 2048")])
pos("phone", "Cape Town office: +27 21 460 3318; after hours 082 417 9932", [("phone", "+27 21 460 3318"), ("phone", "082 417 9932")])
pos("phone", "Dublin helpdesk +353 1 437 0291 (Mon-Fri)", "+353 1 437 0291")
pos("phone", "Biuro w Warszawie, tel. +48 22 628 41 90", "+48 22 628 41 90")
pos("phone", "서울 사무소 전화번호: +82 2-3456-7890", "+82 2-3456-7890")

# ==========================================================================
# POSITIVES — ssn (24)
# ==========================================================================
pos("ssn", "Employee SSN: 372-48-1956", "372-48-1956")
pos("ssn", "SSN 508 63 2471 on file — please verify before the payroll run.", "508 63 2471")
pos("ssn", "2024-02-02T10:11:12Z WARN payroll.export row contains ssn=641270385 (employee 4471)", "641270385", "bare nine digits next to an ssn label")
pos("ssn", '{"first": "Alan", "last": "Reyes", "ssn": "079-52-6613", "state": "NM"}', "079-52-6613")
pos("ssn", "employee_id,name,ssn,state\n10433,K. Morgan,284-91-4407,OH", "284-91-4407")
pos("ssn", "Box a — Employee's social security number: 455-08-3129", "455-08-3129")
pos("ssn", "my social is 731-66-2058 lol do you need anything else for the lease?", "731-66-2058")
pos("ssn", "Número de Seguro Social (SSN): 190-35-8842", "190-35-8842")
pos("ssn", "Applicant SSN 602 14 7730, co-applicant not provided.", "602 14 7730")
pos("ssn", 'applicant = Applicant(name="Test User", ssn="823-59-1164", income=72000)', "823-59-1164")
pos("ssn", "Ticket #5521: customer read out her SSN as 047-83-5526 during the call; the agent should not have typed it into the notes.", "047-83-5526")
pos("ssn", "INSERT INTO patients (mrn, ssn) VALUES ('A-2291', '356729081');", "356729081", "bare nine digits in an ssn column")
pos("ssn", "Social Security No.: 514-40-2637", "514-40-2637")
pos("ssn", "tax:\n  ssn: 268-17-4493\n  filing_status: single", "268-17-4493")
pos("ssn", "Hi HR, the SSN on my paperwork is wrong — the correct one is 689-25-3310. Thanks, Ben", "689-25-3310")
pos("ssn", "Verified ID, SSN#133865072, address matches.", "133865072")
pos("ssn", "audit: field=SSN old=*** new=427-03-9815 changed_by=hr_admin", "427-03-9815")
pos("ssn", "Numéro de sécurité sociale américain (SSN) : 765 49 0268", "765 49 0268")
pos("ssn", "Sozialversicherungsnummer (USA, SSN): 311-58-6724", "311-58-6724")
pos("ssn", "Background check subject SSN: 586-91-2043; DOB 03/12/1979", "586-91-2043")
pos("ssn", "<applicant><name>J. Ortiz</name><ssn>052-37-7789</ssn></applicant>", "052-37-7789")
pos("ssn", "ok and the spouse SSN is 698 04 1356, same address", "698 04 1356")
pos("ssn", "Before redaction: SSN 244-69-8810 / after redaction: SSN [REDACTED]", "244-69-8810")
pos("ssn", "Dependents: 879-12-4057 (Emma), 403-75-1198 (Noah) — both listed under SSN on Schedule 8812.", [("ssn", "879-12-4057"), ("ssn", "403-75-1198")])

# ==========================================================================
# POSITIVES — ip (30)
# ==========================================================================
pos("ip", '203.0.113.45 - - [15/Mar/2024:14:30:12 +0000] "GET /api/v1/orders HTTP/1.1" 200 1532 "-" "curl/8.4.0"', "203.0.113.45")
pos("ip", "Mar 15 14:31:07 bastion sshd[22817]: Failed password for invalid user admin from 198.51.100.23 port 52144 ssh2", "198.51.100.23")
pos("ip", '{"event": "login", "user_id": "u_8841", "client_ip": "192.168.1.37", "ua": "Mozilla/5.0"}', "192.168.1.37")
pos("ip", "X-Forwarded-For: 203.0.113.195, 10.12.0.4", [("ip", "203.0.113.195"), ("ip", "10.12.0.4")])
pos("ip", "[mysqld]\nport = 3306\nbind-address = 10.20.30.40", "10.20.30.40")
pos("ip", "   IPv4-Adresse  . . . . . . . . . . : 192.168.178.24\n   Standardgateway . . . . . . . . . : 192.168.178.1", [("ip", "192.168.178.24"), ("ip", "192.168.178.1")])
pos("ip", "mail    3600  IN  A     198.51.100.17", "198.51.100.17")
pos("ip", "www     300   IN  AAAA  2001:db8:3c4d:15::1a2f:1a2b", "2001:db8:3c4d:15::1a2f:1a2b")
pos("ip", "Assigned address: 2001:0db8:0000:0042:0000:8a2e:0370:7334", "2001:0db8:0000:0042:0000:8a2e:0370:7334", "IPv6 full form")
pos("ip", "    inet6 2001:db8:85a3::8a2e:370:7334/64 scope global dynamic", "2001:db8:85a3::8a2e:370:7334", "prefix length /64 is not part of the address")
pos("ip", "        inet6 fe80::a00:27ff:fe4e:66a1  prefixlen 64  scopeid 0x20<link>", "fe80::a00:27ff:fe4e:66a1")
pos("ip", "Connection from ::ffff:192.0.2.47 accepted on listener 0", "::ffff:192.0.2.47", "IPv4-mapped IPv6")
pos("ip", "curl -6 -v https://[2001:db8::42]:8443/health", "2001:db8::42", "brackets and port are not part of the address")
pos("ip", "upstream backend {\n    server 10.0.3.15:8080 weight=3;\n}", "10.0.3.15", "port is not part of the address")
pos("ip", 'ALLOWED_HOSTS = ["172.16.4.20", "app.internal.example"]', "172.16.4.20")
pos("ip", "can you whitelist my home IP? it's 203.0.113.88", "203.0.113.88")
pos("ip", "La dirección IP del servidor es 198.51.100.204.", "198.51.100.204")
pos("ip", "Adresse IP de l'attaquant : 192.0.2.231", "192.0.2.231")
pos("ip", "接続元IPアドレス 203.0.113.9 からのアクセスを遮断しました。", "203.0.113.9")
pos("ip", "iptables -A INPUT -s 198.51.100.66 -j DROP", "198.51.100.66")
pos("ip", "[Fri Mar 15 14:40:01 2024] [authz_core:error] [client 192.0.2.150:53422] AH01630: client denied by server configuration", "192.0.2.150")
pos("ip", "status:\n  hostIP: 10.0.12.7\n  phase: Running", "10.0.12.7")
pos("ip", "The ULA fd12:3456:789a:1::1 is the router's internal address.", "fd12:3456:789a:1::1")
pos("ip", "New server is up at 2a01:4f8:c2c:1b7e::2, please update the AAAA record.", "2a01:4f8:c2c:1b7e::2")
pos("ip", 'resource "aws_instance" "web" {\n  private_ip = "10.0.1.250"\n}', "10.0.1.250")
pos("ip", "postfix/smtpd[4412]: connect from unknown[198.51.100.9]", "198.51.100.9")
pos("ip", "timestamp,src,dst,bytes\n2024-03-15T14:30:00Z,192.168.10.5,203.0.113.140,48213", [("ip", "192.168.10.5"), ("ip", "203.0.113.140")])
pos("ip", "level=info msg=\"request\" remote_addr=::ffff:10.1.2.3 path=/v1/chat", "::ffff:10.1.2.3", "IPv4-mapped IPv6")
pos("ip", "Link-local: FE80:0000:0000:0000:0214:22FF:FE9A:51C7", "FE80:0000:0000:0000:0214:22FF:FE9A:51C7", "IPv6 full form, upper case")
pos("ip", "Die Anfrage kam von 172.20.14.3 über das VPN.", "172.20.14.3")

# ==========================================================================
# POSITIVES — email (20)
# ==========================================================================
pos("email", "For billing questions contact maria.gonzalez@example.com.", "maria.gonzalez@example.com")
pos("email", 'From: "Tom Becker" <t.becker+invoices@mail.northwind.example>\nSubject: Rechnung März', "t.becker+invoices@mail.northwind.example")
pos("email", '{"team": "ops", "email": "ops-team@kestrel-analytics.example", "pager": false}', "ops-team@kestrel-analytics.example")
pos("email", '<a href="mailto:support@brightlane.test">Contact support</a>', "support@brightlane.test")
pos("email", "2024-03-15 08:02:11 INFO auth user=j.smith_84@example.org action=login result=ok", "j.smith_84@example.org")
pos("email", "id,first,last,email\n7,Olu,Adeyemi,olu.adeyemi@lagos-freight.example", "olu.adeyemi@lagos-freight.example")
pos("email", "Bitte schreiben Sie an kundenservice@musterfirma.example, wir melden uns innerhalb von 24 Stunden.", "kundenservice@musterfirma.example")
pos("email", "Pour vous désinscrire, écrivez à jean-luc.moreau@exemple.test.", "jean-luc.moreau@exemple.test")
pos("email", "SEND ALL REPORTS TO ADMIN@CORP-INTRANET.EXAMPLE", "ADMIN@CORP-INTRANET.EXAMPLE")
pos("email", "Reply-To: noreply@notifications.eu.shopfront.example", "noreply@notifications.eu.shopfront.example")
pos("email", "ping me at dev.raj@example.net if the build breaks again", "dev.raj@example.net")
pos("email", "commit 8c1f2e7\nAuthor: Lena Fischer <lena.fischer@devmail.example>\nDate:   Fri Mar 15 10:12:44 2024 +0100", "lena.fischer@devmail.example")
pos("email", "alerting:\n  email: oncall+pager@infra.example.io\n  severity: critical", "oncall+pager@infra.example.io")
pos("email", 'send_mail(subject="Welcome", to=["kenji.tanaka@example.jp"], body=body)', "kenji.tanaka@example.jp")
pos("email", "cc: a.novak@studio-ruza.example, p.horvat@studio-ruza.example", [("email", "a.novak@studio-ruza.example"), ("email", "p.horvat@studio-ruza.example")])
pos("email", "Puedes escribirme a lucia_fernandez92@correo.example cuando tengas el presupuesto.", "lucia_fernandez92@correo.example")
pos("email", "連絡先メール: yuki.sato@example.co.jp まで", "yuki.sato@example.co.jp")
pos("email", "Newsletter signup: 1999.collector@example.com (double opt-in pending)", "1999.collector@example.com")
pos("email", "Assign the QA ticket to x@qa.example", "x@qa.example")
pos("email", "Reporter: sam_oconnor@helpdesk.example\nPriority: P3\nSummary: cannot reset password", "sam_oconnor@helpdesk.example")

# ==========================================================================
# POSITIVES — card (20)
# ==========================================================================
pos("card", f"2024-03-15 14:30:02 DEBUG checkout payload card_number={C['visa1']} exp=09/27", C["visa1"])
pos("card", '{"amount": 4999, "currency": "usd", "card": {"number": "5555 5555 5555 4444", "exp_month": 11, "exp_year": 2027}}', "5555 5555 5555 4444", "Mastercard test number")
pos("card", "ok my card is 4242 4242 4242 4242 exp 12/26, is that enough?", "4242 4242 4242 4242", "Visa test number")
pos("card", "Amex 3782 822463 10005, billing zip on file", "3782 822463 10005", "Amex test number, 4-6-5 grouping")
pos("card", "Discover card: 6011-1111-1111-1117", "6011-1111-1111-1117", "Discover test number")
pos("card", "JCB カード番号: 3530 1113 3330 0000", "3530 1113 3330 0000", "JCB test number")
pos("card", "Diners Club 3056 930902 5904 was declined twice.", "3056 930902 5904", "Diners test number, 14 digits")
pos("card", f"Please use {grp(C['visa2'], [4, 4, 4, 4], '-')} for the deposit.", grp(C["visa2"], [4, 4, 4, 4], "-"))
pos("card", f"Kartennummer: {g4(C['mc1'])}, gültig bis 08/28", g4(C["mc1"]))
pos("card", f"Voici mon numéro de carte : {g4(C['visa3'])}", g4(C["visa3"]))
pos("card", f"Número de tarjeta: {g4(C['mc2'])} (Mastercard)", g4(C["mc2"]))
pos("card", f"INSERT INTO payments (order_id, pan) VALUES (88213, '{C['mc3']}');", C["mc3"])
pos("card", f"order_id,customer,card,total\n5531,R. Patel,{C['visa4']},129.90", C["visa4"])
pos("card", f"Hi team, please charge the remaining balance to my Amex {grp(C['amex1'], [4, 6, 5])}. Thanks!", grp(C["amex1"], [4, 6, 5]))
pos("card", f"银联卡号 {grp(C['up1'], [4, 4, 4, 4, 3])} 请核对", grp(C["up1"], [4, 4, 4, 4, 3]), "UnionPay, 19 digits")
pos("card", f"Maestro {g4(C['maestro1'])} expired last month", g4(C["maestro1"]))
pos("card", f"caller: the card number is {g4(C['disc1'])}, expiry oh-nine twenty-seven", g4(C["disc1"]))
pos("card", f"card={C['jcb1']}&cvc=***&save=true", C["jcb1"])
pos("card", "Test Visa 4012888888881881 always approves in the sandbox.", "4012888888881881", "Visa test number")
pos("card", f"Numero della carta di credito: {g4(C['mc4'])}", g4(C["mc4"]))

# ==========================================================================
# POSITIVES — iban (20)
# ==========================================================================
pos("iban", f"Bitte überweisen Sie den Betrag bis zum 30. April auf folgendes Konto:\nIBAN: {g4(I['DE'])}", g4(I["DE"]))
pos("iban", f"Pay to: Hartley & Sons Ltd, IBAN {I['GB']}, reference INV-2291.", I["GB"])
pos("iban", f"Relevé d'identité bancaire — IBAN : {g4(I['FR'])}", g4(I["FR"]))
pos("iban", f"Datos bancarios para la transferencia: IBAN {g4(I['ES'])}", g4(I["ES"]))
pos("iban", f"Coordinate bancarie: IBAN {I['IT']} intestato a Rossi Srl", I["IT"])
pos("iban", f"Rekeningnummer (IBAN): {g4(I['NL'])}", g4(I["NL"]))
pos("iban", f"Gelieve het bedrag te storten op {g4(I['BE'])} met vermelding van uw klantnummer.", g4(I["BE"]))
pos("iban", f"Zahlbar an: Gärtnerei Baumann, IBAN {g4(I['CH'])}", g4(I["CH"]))
pos("iban", f'{{"beneficiary": "Huber KG", "iban": "{I["AT"]}", "amount": "1250.00"}}', I["AT"])
pos("iban", f"Numer rachunku: {g4(I['PL'])}", g4(I["PL"]))
pos("iban", f"IBAN para reembolso: {I['PT']}", I["PT"])
pos("iban", f"Our bank details have changed. New IBAN: {g4(I['IE'])} — please update your records.", g4(I["IE"]))
pos("iban", f"employee,iban,net_pay\nE-204,{I['SE']},31450.00", I["SE"])
pos("iban", f"Kontonummer (IBAN): {g4(I['DK'])}", g4(I["DK"]))
pos("iban", f"Betal til kontonummer {I['NO']} innen forfallsdato.", I["NO"])
pos("iban", f"Tilinumero: {g4(I['FI'])}", g4(I["FI"]))
pos("iban", f"payout:\n  beneficiary_iban: {I['LU']}\n  currency: EUR", I["LU"])
pos("iban", f"Číslo účtu (IBAN): {g4(I['CZ'])}", g4(I["CZ"]))
pos("iban", f"IBAN primatelja: {I['HR']}", I["HR"])
pos("iban", f"Please wire the deposit to IBAN {g4(I['AE'])} before check-in.", g4(I["AE"]))

# ==========================================================================
# POSITIVES — mixed (14)
# ==========================================================================
pos("mixed", "Ticket #48213\nCustomer: Helen Park\nEmail: helen.park@example.com\nPhone: (415) 555-0178\nIssue: double charged for March.",
    [("email", "helen.park@example.com"), ("phone", "(415) 555-0178")])
pos("mixed", f"Invoice 2024-0117 — Payment terms 14 days.\nQuestions? billing@hartmann-werkzeuge.example or +49 711 4480 2291\nBank: IBAN {g4(IM['DE'])}",
    [("email", "billing@hartmann-werkzeuge.example"), ("phone", "+49 711 4480 2291"), ("iban", g4(IM["DE"]))])
pos("mixed", '{"employee": {"name": "Carla Mendes", "ssn": "318-44-2907", "email": "c.mendes@payroll.example", "mobile": "+1 303 555 0142"}}',
    [("ssn", "318-44-2907"), ("email", "c.mendes@payroll.example"), ("phone", "+1 303 555 0142")])
pos("mixed", f"2024-03-15T14:30:00Z payment.attempt email=buyer77@shopmail.example ip=198.51.100.77 pan={CM['visa']} result=declined",
    [("email", "buyer77@shopmail.example"), ("ip", "198.51.100.77"), ("card", CM["visa"])])
pos("mixed", "signup ok: user=anna.kowalska@poczta.example from 2001:db8:4f2::17", [("email", "anna.kowalska@poczta.example"), ("ip", "2001:db8:4f2::17")])
pos("mixed", f"name,email,phone,iban\nDe Vries,m.devries@webmail.example,+31 6 4187 2290,{IM['NL']}",
    [("email", "m.devries@webmail.example"), ("phone", "+31 6 4187 2290"), ("iban", IM["NL"])])
pos("mixed", f"--\nSabine Krüger | Buchhaltung\nTel. 0221 9873 4410 | s.krueger@rheinlogistik.example\nIBAN {g4(IM['GB'])} (Konto UK)",
    [("phone", "0221 9873 4410"), ("email", "s.krueger@rheinlogistik.example"), ("iban", g4(IM["GB"]))])
pos("mixed", f"FRAUD ALERT: card {g4(CM['mc'])} used from 203.0.113.201 and 192.0.2.19 within 2 minutes",
    [("card", g4(CM["mc"])), ("ip", "203.0.113.201"), ("ip", "192.0.2.19")])
pos("mixed", "[14:02] dave: for the rental form it's SSN 526-38-1174 and you can reach me at (720) 555-0191 after work",
    [("ssn", "526-38-1174"), ("phone", "(720) 555-0191")])
pos("mixed", '2001:db8:cafe:12::8 - priya.n@example.net [15/Mar/2024:09:12:44 +0000] "POST /login HTTP/2" 302',
    [("ip", "2001:db8:cafe:12::8"), ("email", "priya.n@example.net")])
pos("mixed", "Bonjour, vous pouvez me joindre au 01 99 00 27 84 ou par courriel : p.girard@laposte-demo.example",
    [("phone", "01 99 00 27 84"), ("email", "p.girard@laposte-demo.example")])
pos("mixed", "Verification packet: SSN 647-20-5583, contact r.hughes@screening.example, request logged from 10.8.4.22",
    [("ssn", "647-20-5583"), ("email", "r.hughes@screening.example"), ("ip", "10.8.4.22")])
pos("mixed", f"Factura F-2024/118. Transferencia a {g4(IM['ES'])}. Dudas: 91 587 2230",
    [("iban", g4(IM["ES"])), ("phone", "91 587 2230")])
pos("mixed", f"担当: 佐藤 / メール: h.sato@kaisha.example.jp / 電話: 06-6341-7752 / 接続元: 192.168.0.44 / カード: {grp(CM['amex'], [4, 6, 5])}",
    [("email", "h.sato@kaisha.example.jp"), ("phone", "06-6341-7752"), ("ip", "192.168.0.44"), ("card", grp(CM["amex"], [4, 6, 5]))])

# ==========================================================================
# NEGATIVES — phone (45)
# ==========================================================================
neg("phone", "Your order #2024-0315-1430 has shipped and will arrive in 3–5 business days.", "order number grouped like a phone number")
neg("phone", "Invoice no. 4471 2290 3381 is due on 14 April.", "invoice number in 4-4-4 groups")
neg("phone", "UPS tracking: 1Z 999 AA1 01 2345 6784", "parcel tracking number")
neg("phone", "S/N 0049-8812-7734 (replacement unit, RMA approved)", "device serial number with dashes")
neg("phone", "Meeting moved to 2024-03-15 14:30 CET.", "ISO date and time")
neg("phone", "Die Lieferung erfolgt am 15.03.2024 um 09:45 Uhr.", "German dotted date and time")
neg("phone", '{"id": "evt_81", "created_at": 1710513000, "type": "invoice.paid"}', "10-digit Unix timestamp, same length as a North American number")
neg("phone", "Sprint review falls in ISO week 2024-W11 (2024-W11-5 to be exact).", "ISO week date")
neg("phone", "winver reports version 10.0.22631 build 3296", "Windows version and build numbers")
neg("phone", "Idle speed should settle at 1200-1500 rpm after warm-up.", "numeric range with unit")
neg("phone", "Meet at the tower: 48.8584, 2.2945 (lat, lon).", "geographic coordinates of a landmark")
neg("phone", "Package dimensions: 120 x 80 x 45 cm, gross weight 312.5 kg", "measurements with units")
neg("phone", "Angebotspreis: 1.299,00 € statt 1.549,00 €", "prices in German notation")
neg("phone", "Bezorggebied: postcode 1012 AB t/m 1018 ZZ, huisnummers 1 t/m 221.", "Dutch postcode range and house numbers, no person")
neg("phone", "Riverside Primary PTA fundraising: sort code 20-45-77, account number 00734561", "bank sort code and account number of an organisation, labelled as such")
neg("phone", "Cormen et al., Introduction to Algorithms, ISBN 978-0-262-03384-8", "ISBN-13 with hyphens")
neg("phone", "P/N 3321-650-0147 — gasket, fits models after 2019", "part number shaped like a US number, labelled P/N")
neg("phone", "CI build 20240315.1430.7 passed (pipeline #88213)", "build identifier")
neg("phone", "(300 + 450) * 1200 = 900000", "arithmetic expression")
neg("phone", "| Region | Q1   | Q2   | Q3   |\n| North  | 4412 | 3390 | 1207 |\n| South  | 2021 | 5870 | 6634 |", "table of quarterly figures")
neg("phone", "Open ports: 22, 80, 443, 8080, 8443, 9090-9099", "port list with a range")
neg("phone", "This release patches CVE-2024-21413 and CVE-2023-44487.", "CVE identifiers")
neg("phone", "Taille du fichier : 12 345 678 octets", "byte count with French thousands separators")
neg("phone", "Flight LH 2034 on 15/03 departs 14:30 from gate B44.", "flight number with date and time")
neg("phone", "Öffnungszeiten: Mo–Fr 08:00–17:30, Sa 09:00–13:00", "opening hours")
neg("phone", "SN 4471 882 019 — warranty until 2026", "serial number in 4-3-3 groups")
neg("phone", "Uptime 99.95% over 30 days; p99 latency 312 ms; 1 204 381 requests served.", "statistics and request count")
neg("phone", "Prix : CHF 1'234'567.00 TVA incluse", "Swiss-formatted price")
neg("phone", "Sydney CBD sits at -33.8688, 151.2093.", "signed decimal coordinates")
neg("phone", "Date: 03/15/2024 2:30 PM EST", "US date and time")
neg("phone", "予約日時: 2024年3月15日 14時30分", "Japanese date and time")
neg("phone", "ICE 1234 ab Frankfurt 14:32, Gleis 7, Ankunft Berlin 18:05", "train number, platform and times")
neg("phone", "Final score 102-98 after overtime; the series is tied 2-2.", "sports scores")
neg("phone", "Lotto numbers this week: 7 12 19 28 33 41, bonus ball 5", "lottery numbers")
neg("phone", "ffprobe: duration=01:23:45.678, bitrate=4500 kb/s", "media duration and bitrate")
neg("phone", "Ticket #4471-2290 was merged into #4471-2291.", "support ticket numbers")
neg("phone", "Display: 2560 x 1440 @ 165 Hz, 27 inch", "screen resolution")
neg("phone", "π ≈ 3.14159 26535 89793 23846", "digits of pi in groups of five")
neg("phone", "Annual turnover: ₹12,34,56,789 (FY 2023-24)", "amount in Indian lakh/crore grouping")
neg("phone", "Your verification code is 482 913. It expires in 10 minutes.", "one-time passcode")
neg("phone", "Bestellnummer: 0301 2345 6789 (bitte bei Rückfragen angeben)", "order number that starts like a Berlin area code, labelled as an order number")
neg("phone", "git: 1432 files changed, 88213 insertions(+), 1207 deletions(-)", "diff statistics")
neg("phone", "Maintenance window 0200-0400 UTC on 2024-03-17", "time range in 24h notation")
neg("phone", "Input voltage 220-240 V AC, 50/60 Hz, max 1800 W", "electrical ratings")
neg("phone", "N° de commande : 2024 0315 0042 — merci pour votre achat", "French order number grouped in fours")

# ==========================================================================
# NEGATIVES — ssn (30)
# ==========================================================================
neg("ssn", "Part No. 412-55-7781 (hydraulic seal kit, qty 2)", "###-##-#### shaped part number, labelled as a part number", ["ssn-shape"])
neg("ssn", "Court case no. 318-22-4096 was continued to next month.", "case number labelled as such", ["ssn-shape"])
neg("ssn", "SSN: 000-12-3456 (placeholder used in training slides)", "area 000 is never assigned")
neg("ssn", "SSN 666-45-1234", "area 666 is never assigned")
neg("ssn", "The SSN field contained 987-65-4321, which is outside the assignable range.", "area 9xx is not a valid SSN area")
neg("ssn", "Rejected: SSN 421-00-5832 (group 00 is invalid)", "group number 00 is never assigned")
neg("ssn", "ssn=523-71-0000 validation_error=serial_zero", "serial 0000 is never assigned")
neg("ssn", "Ship to ZIP 78701-4417, Austin TX", "ZIP+4 code")
neg("ssn", "ZIP+4 lookup returned 94107-1325 and 10013-2905.", "ZIP+4 codes")
neg("ssn", "Batch 2024-05-1234 closed with 0 errors.", "date-like batch identifier")
neg("ssn", "Invoice INV-348-21-7765 is 30 days overdue.", "invoice number labelled as such", ["ssn-shape"])
neg("ssn", "Lot 207-14-3390, expiry 2026-08, store below 25 °C", "pharmaceutical lot number", ["ssn-shape"])
neg("ssn", "SSN on file: ***-**-6789", "masked SSN, only the last four digits remain")
neg("ssn", "SSN: XXX-XX-4821 (masked per policy)", "masked SSN")
neg("ssn", "Order ID 513902847 confirmed, ships tomorrow.", "bare nine digits labelled as an order id", ["ssn-shape"])
neg("ssn", "EIN 47-3029186 (employer identification number of Brightlane LLC)", "company EIN, 2-7 digit shape")
neg("ssn", "Card expiry 12-05-2024 is in the past.", "date with dashes")
neg("ssn", "offset = 512-64-1024  # buffer size minus header minus trailer", "arithmetic in source code", ["ssn-shape"])
neg("ssn", "CAS No. 110-54-3 (n-hexane), flammable liquid", "CAS registry number")
neg("ssn", "Docket No. 421-19-3071, hearing set for 9 a.m.", "court docket number labelled as such", ["ssn-shape"])
neg("ssn", "SSN 900123456 failed the range check", "bare nine digits with area 900, invalid")
neg("ssn", "SSN: 666 12 3456", "area 666 is never assigned (space separated)")
neg("ssn", "Form SSA-89, OMB No. 0960-0760", "OMB control number on a federal form")
neg("ssn", "NDC 50090-2874-0, 30 tablets", "National Drug Code")
neg("ssn", "Area numbers 900-999 are never assigned as SSNs.", "range of numbers in a sentence about SSNs")
neg("ssn", "SSN 000-00-0000 (redacted template value)", "all-zero placeholder")
neg("ssn", "Build 202-40-5117 deployed to staging.", "build number labelled as such", ["ssn-shape"])
neg("ssn", "Catalog #774-31-2209: brass hinge, satin finish", "catalog number labelled as such", ["ssn-shape"])
neg("ssn", "SSN: 999-99-9999 (dummy value for the demo account)", "area 999 is invalid")
neg("ssn", "PO 770-44-1820 approved by procurement", "purchase order number labelled as such", ["ssn-shape"])

# ==========================================================================
# NEGATIVES — ip (30)
# ==========================================================================
neg("ip", "Setup wizard: installing version 1.2.3.4 of the monitoring agent", "four-part version number", ["ip-shape"])
neg("ip", "OS: Microsoft Windows v10.0.19045.3803", "Windows build version")
neg("ip", "snmpget -v2c -c public localhost 1.3.6.1.4.1.2021.10.1.3.1", "SNMP OID")
neg("ip", "As described in section 4.2.1.3 of the spec, the client MUST retry.", "document section number", ["ip-shape"])
neg("ip", "The validator correctly rejects 256.1.1.1 (octet out of range).", "out-of-range octet, not a valid address")
neg("ip", "Invalid address 300.168.1.999 in config line 42 was ignored.", "out-of-range octets, not a valid address")
neg("ip", "requirements.txt:\nrequests==2.31.0\nurllib3==2.2.1\nDjango>=4.2.11,<5.0", "pinned Python dependencies")
neg("ip", "npm ls: lodash@4.17.21, express@4.18.2, typescript@5.4.2", "semantic-versioned npm dependencies")
neg("ip", "Die Stadt hat 1.234.567 Einwohner.", "German thousands separators")
neg("ip", "Umsatz 2023: 12.345.678,90 EUR", "German-formatted amount")
neg("ip", "Log rotated at 2024.03.15 14.30.00", "dotted timestamp")
neg("ip", "Siehe Kapitel 3.2.1.4 im Handbuch.", "chapter reference", ["ip-shape"])
neg("ip", "commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "git commit hash")
neg("ip", "request_id=123e4567-e89b-12d3-a456-426614174000", "UUID")
neg("ip", "std::vector<std::string>::const_iterator it = names.begin();", "C++ scope resolution")
neg("ip", "use std::collections::HashMap;", "Rust path")
neg("ip", "docker pull nginx@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "container image digest")
neg("ip", "class User < ActiveRecord::Base; end", "Ruby constant scope")
neg("ip", "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/122.0.6261.94 Safari/537.36", "browser version string")
neg("ip", "Art.-Nr. 12.34.56.78 (Ersatzfilter für Modell K2)", "dotted article number", ["ip-shape"])
neg("ip", "Timecode 00:01:23:15 (SMPTE, 25 fps)", "video timecode")
neg("ip", "Supported aspect ratios: 16:9, 21:9, 4:3", "aspect ratios")
neg("ip", "MD5 fingerprint 4f:2a:9c:11:e0:7b:3d:88:52:af:60:c4:19:de:7a:05", "colon-separated hash fingerprint, 16 groups")
neg("ip", "uname -r: 5.15.0-91-generic", "kernel release string")
neg("ip", '[assembly: AssemblyVersion("2.0.0.0")]', ".NET assembly version", ["ip-shape"])
neg("ip", "LDAP attribute type 2.5.4.3 is commonName.", "X.500 attribute OID", ["ip-shape"])
neg("ip", "00000010: 4865 6c6c 6f2c 2057 6f72 6c64 210a  Hello, World!.", "xxd hex dump line")
neg("ip", "Firmware 3.1.4.15 adds Wi-Fi 6E support.", "four-part firmware version", ["ip-shape"])
neg("ip", "use Data::Dumper; print Dumper($config);", "Perl module path")
neg("ip", "ffmpeg -ss 00:00:12.500 -t 00:00:30 -i in.mp4 out.mp4", "media timestamps")

# ==========================================================================
# NEGATIVES — email (20)
# ==========================================================================
neg("email", "npm install --save-dev @babel/core @types/node", "npm scoped packages")
neg("email", "@app.route('/users/<int:user_id>')\ndef get_user(user_id):\n    ...", "Python decorator")
neg("email", "git remote add origin git@github.com:acme-corp/widgets.git", "SSH git remote (user@host:repo), not a mailbox")
neg("email", "Follow @weir_gateway for release news.", "social media handle")
neg("email", "@media (max-width: 768px) { .sidebar { display: none; } }", "CSS at-rule")
neg("email", "Retina assets: logo@2x.png, logo@3x.png", "image file names with density suffix")
neg("email", "@Override\npublic String toString() {\n    return name;\n}", "Java annotation")
neg("email", "go get github.com/acme/weir/v2@v2.4.1", "Go module path with version")
neg("email", "<@U024BE7LH> please review the deploy", "Slack user mention")
neg("email", "SELECT @@VERSION; DECLARE @CustomerId INT = 42;", "T-SQL variables")
neg("email", 'for arg in "$@"; do echo "$arg"; done', "shell positional parameters")
neg("email", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3k... deploy@build-runner-07", "SSH key comment user@hostname, no domain")
neg("email", '<button @click="save">Save</button>', "Vue event binding")
neg("email", "@State private var isOn = false", "Swift property wrapper")
neg("email", "@reboot /usr/local/bin/weir --config /etc/weir.toml", "crontab special string")
neg("email", "@maria can you take a look at PR 412?", "chat mention")
neg("email", "npm i -g @angular/cli@17.3.0", "scoped package with version")
neg("email", "@import url('theme.css');\n@font-face { font-family: Inter; }", "CSS at-rules")
neg("email", "@pytest.mark.parametrize('x', [1, 2, 3])", "pytest decorator")
neg("email", "Dear {{first_name}}, we will send the receipt to {{email}}.", "template placeholders")

# ==========================================================================
# NEGATIVES — card (20)
# ==========================================================================
neg("card", f"Order number: {g4(NC['order'])} — keep it for returns.", "16-digit order number failing Luhn")
neg("card", "USPS tracking: 9400 1118 9922 3817 4402 93", "22-digit tracking number")
neg("card", f"IMEI: {grp(IMEI, [2, 6, 6, 1], '-')}", "device IMEI (15 digits, Luhn-valid by IMEI design, not a card)", ["luhn"])
neg("card", "session_id=550e8400-e29b-41d4-a716-446655440000", "UUID")
neg("card", "Paid with Visa •••• •••• •••• 4242", "masked card, last four only")
neg("card", "Card ending in 1881, exp 09/27", "last four digits and expiry only")
neg("card", "4111 1111 1111 1112 — fails Luhn, used to test client-side validation", "card-shaped number that fails Luhn")
neg("card", "timestamp_ms: 1710513000123", "13-digit millisecond timestamp")
neg("card", "ISBN-13: 9780262033848", "ISBN-13")
neg("card", "GTIN-14 10614141000415 on the outer carton", "GTIN barcode number")
neg("card", "Gift card code: GC7K-2M9Q-XP4H-TL8W", "alphanumeric gift card code")
neg("card", "created_ns=1710513000123456788", "19-digit nanosecond timestamp")
neg("card", "Discord message ID 1168392745102884865", "snowflake id")
neg("card", "Rechnung RE-2024-000184-7731", "invoice number")
neg("card", f"Serial: {g4(NC['serial'])}", "16-digit serial failing Luhn")
neg("card", "BIN 411111 maps to a test issuer.", "6-digit bank identification number only")
neg("card", f"Booking reference {grp(NC['amexlike'], [4, 6, 5])}", "Amex-shaped reference failing Luhn")
neg("card", f"Container seal no. {g4(NC['seal'], '-')}", "seal number failing Luhn")
neg("card", f"Account ref {g4(NC['ref'])} (loyalty programme batch)", "reference number failing Luhn")
neg("card", f"Shipment {NC['jcblike']} cleared customs.", "16-digit shipment number failing Luhn")

# ==========================================================================
# NEGATIVES — iban (20)
# ==========================================================================
neg("iban", f"Überweisung abgelehnt: IBAN {g4(NI['bad_de'])} — Prüfziffer ungültig", "IBAN-shaped string failing mod-97")
neg("iban", f"Bounced payment: {NI['bad_gb']} (checksum error)", "GB IBAN-shaped string failing mod-97")
neg("iban", f"Validator test vector (invalid): {g4(NI['bad_it'])}", "IT IBAN-shaped string failing mod-97")
neg("iban", f"Typo caught: {g4(NI['swap_fr'])} has two digits swapped", "transposed digits, fails mod-97")
neg("iban", f"Rejected, wrong length for DE: {NI['short_de']}", "passes mod-97 but 21 characters, DE needs 22")
neg("iban", f"NL-shaped but too short: {NI['short_nl']}", "passes mod-97 but 15 characters, NL needs 18")
neg("iban", f"Test fixture with unknown country: {g4(NI['xx'])}", "XX is not an IBAN country")
neg("iban", f"Structured creditor reference: {g4(NI['rf'])}", "ISO 11649 RF payment reference, not an account")
neg("iban", f"LEI {NI['lei']} (legal entity identifier of the issuer)", "ISO 17442 LEI of a company")
neg("iban", "BIC: DEUTDEFF500", "SWIFT/BIC bank code")
neg("iban", "SWIFT code BNPAFRPP, intermediary bank", "SWIFT/BIC bank code")
neg("iban", "USt-IdNr.: DE293847561", "German VAT id of a company")
neg("iban", "VAT Reg No. GB 314 1592 65", "UK VAT registration number")
neg("iban", "SKU FR12-AB34-5678-CD, colour: navy", "product SKU starting with two letters and digits")
neg("iban", "Example format only: DE00 0000 0000 0000 0000 00", "all-zero placeholder, check digits 00 invalid")
neg("iban", "IBAN: DE** **** **** **** **12 34", "masked IBAN")
neg("iban", "ISIN XS2345678901 matures in 2031.", "securities identifier")
neg("iban", "Container no. MSKU 907032 3 loaded on deck", "ISO 6346 container number")
neg("iban", f"Copied with a letter O: {g4(NI['es_letter_o'])}", "letter O instead of zero, fails format and mod-97")
neg("iban", "Order FR2024031500043 shipped from Lyon.", "order number with country prefix")


# ==========================================================================
# validation
# ==========================================================================
EXPECTED_COUNTS = {
    "phone": 36, "ssn": 24, "ip": 30, "email": 20, "card": 20, "iban": 20, "mixed": 14,
    "neg-phone": 45, "neg-ssn": 30, "neg-ip": 30, "neg-email": 20, "neg-card": 20, "neg-iban": 20,
}

SSN_SHAPE_RE = re.compile(r"(?<![\dA-Za-z-])(\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{9})(?![\dA-Za-z-])")
IPV4_RE = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\d|\.\d)")
IPV6_RE = re.compile(r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![0-9A-Za-z:])")
IBAN_RUN_RE = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}")


def scan(text):
    """Independent scanner: what PII of the checkable types does text hold?"""
    found = {"email": set(), "card": set(), "iban": set(), "ssn": set(), "ip": set(), "ssn-shape": set(), "ip-shape": set()}
    for m in EMAIL_RE.finditer(text):
        found["email"].add(m.group(0))
    for v in card_candidates(text):
        found["card"].add(v)
    for m in IBAN_RUN_RE.finditer(text):
        s = m.group(0)
        comp = s.replace(" ", "")
        n = IBAN_LEN.get(comp[:2])
        if n and len(comp) >= n:
            # shortest prefix of the match with the right compact length
            k, cnt = 0, 0
            while cnt < n:
                if s[k] != " ":
                    cnt += 1
                k += 1
            if iban_ok(s[:k]):
                found["iban"].add(s[:k])
    for m in SSN_SHAPE_RE.finditer(text):
        v = m.group(0)
        if ssn_ok(v):
            found["ssn"].add(v)
            found["ssn-shape"].add(v)
    for m in IPV4_RE.finditer(text):
        v = m.group(0)
        if ip_ok(v):
            found["ip"].add(v)
            found["ip-shape"].add(v)
    for m in IPV6_RE.finditer(text):
        v = m.group(0)
        if "::" in v or v.count(":") == 7:
            if ip_ok(v):
                found["ip"].add(v)
    return found


def validate(records):
    errors = []
    counts = {}
    ids = set()
    texts = set()
    values = set()
    for r in records:
        cat = r["cat"]
        counts[cat] = counts.get(cat, 0) + 1
        rid = r["id"]
        if rid in ids:
            errors.append(f"duplicate id {rid}")
        ids.add(rid)
        if r["text"] in texts:
            errors.append(f"duplicate text in {rid}")
        texts.add(r["text"])
        text = r["text"]
        last = -1
        for e in r["expect"]:
            t, v = e["type"], e["value"]
            if t not in TYPES:
                errors.append(f"{rid}: bad type {t}")
            if v not in text:
                errors.append(f"{rid}: value {v!r} not in text")
            idx = text.find(v)
            if idx < last:
                errors.append(f"{rid}: expect out of order")
            last = idx
            if not VALIDATORS[t](v):
                errors.append(f"{rid}: {t} value {v!r} fails validator")
            if v in values:
                errors.append(f"{rid}: value {v!r} reused")
            values.add(v)
        types = {e["type"] for e in r["expect"]}
        if cat == "mixed":
            if len(types) < 2:
                errors.append(f"{rid}: mixed needs several types")
        elif cat.startswith("neg-"):
            if r["expect"]:
                errors.append(f"{rid}: negative with expect")
            if not r["note"]:
                errors.append(f"{rid}: negative without note")
        else:
            if types != {cat}:
                errors.append(f"{rid}: expected only {cat}, got {types}")
        # cross-check with the independent scanner
        found = scan(text)
        exempt = r.get("exempt", set())
        expected_by_type = {}
        for e in r["expect"]:
            expected_by_type.setdefault(e["type"], set()).add(e["value"])
        for t in ("email", "card", "iban", "ssn", "ip"):
            extra = set()
            for v in found[t]:
                if any(v in ev or ev in v for ev in expected_by_type.get(t, ())):
                    continue
                extra.add(v)
            if cat.startswith("neg-"):
                imitated = cat[4:]
                if t == "email" and imitated == "email":
                    continue  # look-alikes such as git@host or logo@2x.png are the point
                if t == "card" and "luhn" in exempt:
                    continue
                if t == "ssn" and "ssn-shape" in exempt:
                    continue
                if t == "ip" and "ip-shape" in exempt:
                    continue
            if extra:
                errors.append(f"{rid}: scanner found unlabelled {t}: {sorted(extra)}")
        # every expected checkable value must be found by the scanner
        for e in r["expect"]:
            t, v = e["type"], e["value"]
            if t in ("email", "card", "iban", "ssn", "ip") and not any(v == f or v in f or f in v for f in found[t]):
                errors.append(f"{rid}: scanner did not see expected {t} {v!r}")
    for k, n in EXPECTED_COUNTS.items():
        if counts.get(k, 0) != n:
            errors.append(f"count {k}: {counts.get(k, 0)} != {n}")
    return errors, counts


def assign_ids(items):
    seq = {}
    for it in items:
        cat = it["cat"]
        seq[cat] = seq.get(cat, 0) + 1
        it["id"] = f"pii-{cat}-{seq[cat]:03d}"


def main():
    assign_ids(ITEMS)
    errors, counts = validate(ITEMS)
    if errors:
        for e in errors:
            print("ERROR:", e, file=sys.stderr)
        sys.exit(1)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        for it in ITEMS:
            rec = {"id": it["id"], "text": it["text"], "expect": it["expect"], "note": it["note"]}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    # re-read and re-validate the written file
    with open(OUT, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert [list(r.keys()) for r in rows] == [["id", "text", "expect", "note"]] * len(rows)
    print(f"wrote {len(rows)} records to {OUT}")
    for k in EXPECTED_COUNTS:
        print(f"  pii-{k}: {counts[k]}")


if __name__ == "__main__":
    main()
