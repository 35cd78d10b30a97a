#!/usr/bin/env python3
"""Labelled corpora for the PII and secrets guardrail detectors.

    python3 generate_pii_secrets.py            # write the corpora and PII_SECRETS.md, then check them
    python3 generate_pii_secrets.py --check    # rebuild in memory, compare with the files on disk, check them

Every value is made up here from a fixed seed: card numbers carry a correct Luhn digit, IBANs
correct ISO 13616 check digits and each country's length, SSNs lie in the issued ranges, keys and
tokens have their provider's prefix, alphabet and length. Negatives are look-alikes; those said to
fail a checksum are checked to fail it. Python 3 standard library only.
"""

import argparse
import base64
import hashlib
import hmac
import ipaddress
import json
import math
import random
import re
import struct
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

SEED = 20240611
HERE = Path(__file__).resolve().parent

DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
ALNUM = DIGITS + UPPER + LOWER
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
BASE32 = UPPER + "234567"


# ---------------------------------------------------------------- checksums and validity

def luhn_ok(number: str) -> bool:
    digits = re.sub(r"[ -]", "", number)
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_digit(partial: str) -> str:
    for d in DIGITS:
        if luhn_ok(partial + d):
            return d
    raise AssertionError(partial)


def card_brand(number: str):
    """The brand whose prefix and length the digits have, or None."""
    d = re.sub(r"[ -]", "", number)
    n = len(d)
    if d.startswith("4") and n in (13, 16, 19):
        return "visa"
    if n == 16 and (51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720):
        return "mastercard"
    if n == 15 and d[:2] in ("34", "37"):
        return "amex"
    if n in (16, 19) and (d.startswith("6011") or d.startswith("65") or 644 <= int(d[:3]) <= 649):
        return "discover"
    if n in (16, 17, 18, 19) and 3528 <= int(d[:4]) <= 3589:
        return "jcb"
    return None


# ISO 13616 lengths, kept apart from the BBAN formats below so that each checks the other.
IBAN_LENGTH = {
    "AE": 23, "AT": 20, "BE": 16, "BR": 29, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IT": 27,
    "LT": 20, "LU": 20, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SA": 24,
    "SE": 24, "SI": 19, "TR": 26,
}
# BBAN structure per country (n digits, a upper-case letters, c alphanumerics).
IBAN_BBAN = {
    "AE": "3n16n", "AT": "5n11n", "BE": "3n7n2n", "BR": "8n5n10n1a1c", "CH": "5n12c", "CZ": "4n6n10n",
    "DE": "8n10n", "DK": "4n9n1n", "EE": "2n2n11n1n", "ES": "4n4n1n1n10n", "FI": "3n11n",
    "FR": "5n5n11c2n", "GB": "4a6n8n", "GR": "3n4n16c", "HR": "7n10n", "HU": "3n4n1n15n1n",
    "IE": "4a6n8n", "IT": "1a5n5n12c", "LT": "5n11n", "LU": "3n13c", "MT": "4a5n18c", "NL": "4a10n",
    "NO": "4n6n1n", "PL": "8n16n", "PT": "4n4n11n2n", "RO": "4a16c", "SA": "2n18c", "SE": "3n16n1n",
    "SI": "5n8n2n", "TR": "5n1n16c",
}


def iban_mod97(compact: str) -> int:
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97


def iban_ok(value: str) -> bool:
    s = value.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", s):
        return False
    if IBAN_LENGTH.get(s[:2]) != len(s):
        return False
    return iban_mod97(s) == 1


def iban_check_digits(country: str, bban: str) -> str:
    return "%02d" % (98 - iban_mod97(country + "00" + bban))


def group4(s: str) -> str:
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def ssn_ok(value: str) -> bool:
    m = re.fullmatch(r"(\d{3})-(\d{2})-(\d{4})", value)
    if not m:
        return False
    area, group, serial = m.groups()
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


# Numbers that were printed in public (sample cards, advertising) and are never used here.
SSN_FAMOUS = {"078-05-1120", "219-09-9999", "457-55-5462", "123-45-6789"}


SMALL_PRIMES = [n for n in range(3, 2000, 2) if all(n % k for k in range(3, int(n ** 0.5) + 1, 2))]


def probable_prime(n: int, rng) -> bool:
    for sp in SMALL_PRIMES:
        if n % sp == 0:
            return n == sp
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def fold(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


# ---------------------------------------------------------------- DER, for private keys

def der_len(n: int) -> bytes:
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_len(len(content)) + content


def der_uint(raw: bytes) -> bytes:
    raw = raw.lstrip(b"\0") or b"\0"
    if raw[0] & 0x80:
        raw = b"\0" + raw
    return der(0x02, raw)


def der_small(n: int) -> bytes:
    return der_uint(n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big"))


OID_RSA = bytes.fromhex("2a864886f70d010101")
OID_P256 = bytes.fromhex("2a8648ce3d030107")
OID_ED25519 = bytes.fromhex("2b6570")
OID_PBES2 = bytes.fromhex("2a864886f70d01050d")
OID_PBKDF2 = bytes.fromhex("2a864886f70d01050c")
OID_HMAC_SHA256 = bytes.fromhex("2a864886f70d0209")
OID_AES256_CBC = bytes.fromhex("60864801650304012a")


def pem(label: str, body: bytes, width: int = 64) -> str:
    text = base64.b64encode(body).decode()
    lines = [text[i:i + width] for i in range(0, len(text), width)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


# ---------------------------------------------------------------- value generators

FIRST = ["Dana", "Priya", "Mateo", "Sofia", "Kwame", "Ingrid", "Yuki", "Lars", "Amara", "Tomasz", "Elif",
         "Rafael", "Chloé", "Hamid", "Noor", "Jonas", "Aiko", "Bianca", "Oluwaseun", "Marek", "Leila",
         "Sven", "Camille", "Diego", "Hana", "Emeka", "Freya", "Ravi", "Zofia", "Luca", "Mirela", "Tariq",
         "Ana Paula", "Keiko", "Björn", "Fatima", "Nikos", "Grace", "Joaquín", "Astrid"]
LAST = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Fernández", "Novak", "Haddad", "Brennan", "Kowalski",
        "Nakamura", "Adeyemi", "Schulz", "Rossi", "Petrov", "Castillo", "van Dijk", "Ishikawa", "Mensah",
        "Duarte", "Holm", "Varga", "Iyer", "Leclerc", "Berg", "Oyelaran", "Quispe", "Sørensen", "Achterberg",
        "Delacroix-Ruiz", "Papadakis", "Whitcombe", "Mbeki-Santos", "Kaur", "Lehtonen", "Ferreira"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "corp.example.net",
           "eu.example.org", "larkspur-dental.co.uk", "kestrel-logistics.de", "quintabravo.com.br",
           "hanami-design.jp", "tidewater-credit.com", "orbitalfin.io", "mapleridge-clinic.ca",
           "vinhedo-azul.pt", "brightpath.edu", "nordlicht-reisen.at", "studio-ombra.it"]

P256_P = 2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1
P256_N = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
P256_G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
          0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def p256_mul(k: int):
    """k·G on P-256 (affine coordinates; slow but plenty for a few keys)."""
    def add(a, b):
        if a is None:
            return b
        if b is None:
            return a
        if a[0] == b[0] and (a[1] + b[1]) % P256_P == 0:
            return None
        if a == b:
            lam = (3 * a[0] * a[0] - 3) * pow(2 * a[1], -1, P256_P) % P256_P
        else:
            lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, P256_P) % P256_P
        x = (lam * lam - a[0] - b[0]) % P256_P
        return x, (lam * (a[0] - x) - a[1]) % P256_P
    result, addend = None, P256_G
    while k:
        if k & 1:
            result = add(result, addend)
        addend = add(addend, addend)
        k >>= 1
    return result


class Gen:
    """Fresh random values; no value is handed out twice."""

    def __init__(self, seed: str):
        self.r = random.Random(seed)
        self.seen = set()
        self.person = None  # the last name handed out in the current text, for a matching address

    # -- primitives
    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def d(self, n: int) -> str:
        return self.chars(DIGITS, n)

    def fresh(self, make):
        for _ in range(1000):
            v = make()
            if v not in self.seen:
                self.seen.add(v)
                return v
        raise AssertionError("no fresh value")

    def bytes_(self, n: int) -> bytes:
        return bytes(self.r.getrandbits(8) for _ in range(n))

    # -- fillers
    def name(self):
        self.person = (self.r.choice(FIRST), self.r.choice(LAST))
        return " ".join(self.person)

    def first(self):
        return self.r.choice(FIRST)

    def uuid(self):
        h = self.chars(HEX, 32)
        h = h[:12] + "4" + h[13:16] + self.r.choice("89ab") + h[17:]
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def sha1(self):
        return self.chars(HEX, 40)

    def hexn(self, n):
        return self.chars(HEX, int(n))

    def epoch(self):
        return str(self.r.randint(1_690_000_000, 1_735_000_000))

    # -- PII
    def email(self, style="std"):
        person, self.person = self.person, None

        def make():
            first_name, last_name = person or (self.r.choice(FIRST), self.r.choice(LAST))
            first = fold(first_name).lower().replace(" ", "")
            last = fold(last_name).lower().replace(" ", "").replace("-", "")
            dom = self.r.choice(DOMAINS)
            local = self.r.choice([
                f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last}", f"{first}_{last}{self.r.randint(1, 99)}",
                f"{last}.{first}", f"{first}+{self.r.choice(['billing', 'news', 'github', 'travel', 'hr'])}",
                f"{first[0]}{last}", f"{first}.{last[0]}", f"{first}-{last}",
            ])
            if style == "role":
                local = self.r.choice(["support", "billing", "accounts.payable", "noreply", "hr-team", "oncall",
                                       "privacy", "facturation", "kontakt", "admissions"])
            if style == "upper":
                local = local.capitalize()
                dom = dom.split(".")[0].capitalize() + "." + ".".join(dom.split(".")[1:]).upper()
            return f"{local}@{dom}"
        return self.fresh(make)

    def phone(self, v):
        r = self.r

        def d(n):  # a group of digits that does not start with 0
            return str(r.randint(1, 9)) + self.d(n - 1)
        us_area = lambda: r.choice(["415", "212", "312", "646", "206", "617", "303", "512", "718", "202"])

        def make():
            if v == "uk_intl": return f"+44 20 7946 0{d(3)}"
            if v == "uk_nat": return f"020 7946 0{d(3)}"
            if v == "uk_mob": return f"+44 7700 900{d(3)}"
            if v == "uk_mob_nat": return f"07700 900{d(3)}"
            if v == "us_paren": return f"+1 ({us_area()}) 555-01{d(2)}"
            if v == "us_dash": return f"{us_area()}-555-01{d(2)}"
            if v == "us_plain": return f"({us_area()}) 555-01{d(2)}"
            if v == "us_dots": return f"{us_area()}.555.01{d(2)}"
            if v == "ca": return f"+1 {r.choice(['604', '416', '514'])} 555 01{d(2)}"
            if v == "de_00": return f"0049 30 {d(r.choice([6, 7, 8]))}"
            if v == "de_intl": return f"+49 {r.choice(['30', '89', '40', '221'])} {d(4)} {d(3)}"
            if v == "de_mob": return f"+49 {r.choice(['151', '152', '160', '170', '176'])} {d(4)} {d(4)}"
            if v == "de_nat": return f"0{r.choice(['30', '89', '40'])} {d(3)} {d(4)}"
            if v == "fr_nat": return f"06 39 98 {d(2)} {d(2)}"
            if v == "fr_land": return f"01 99 00 {d(2)} {d(2)}"
            if v == "fr_intl": return f"+33 6 39 98 {d(2)} {d(2)}"
            if v == "jp_intl": return f"+81 3-{d(4)}-{d(4)}"
            if v == "jp_mob": return f"+81 90-{d(4)}-{d(4)}"
            if v == "jp_nat": return f"03-{d(4)}-{d(4)}"
            if v == "au_mob": return f"+61 491 570 {r.randint(6, 159):03d}"
            if v == "au_land": return f"(02) 5550 {d(4)}"
            if v == "in": return f"+91 9{d(4)} {d(5)}"
            if v == "br": return f"+55 11 9{d(4)}-{d(4)}"
            if v == "es": return f"+34 6{d(2)} {d(2)} {d(2)} {d(2)}"
            if v == "it": return f"+39 3{d(2)} {d(3)} {d(4)}"
            if v == "nl": return f"+31 6 {d(4)} {d(4)}"
            if v == "ch": return f"+41 44 {d(3)} {d(2)} {d(2)}"
            if v == "se": return f"+46 70 {d(3)} {d(2)} {d(2)}"
            if v == "mx": return f"+52 55 {d(4)} {d(4)}"
            if v == "sg": return f"+65 {r.choice('689')}{d(3)} {d(4)}"
            if v == "za": return f"+27 82 {d(3)} {d(4)}"
            if v == "pl": return f"+48 {r.choice('5678')}{d(2)} {d(3)} {d(3)}"
            if v == "kr": return f"+82 10-{d(4)}-{d(4)}"
            if v == "ie": return f"+353 1 {d(3)} {d(4)}"
            if v == "at": return f"+43 1 {d(7)}"
            if v == "cn": return f"+86 13{d(1)} {d(4)} {d(4)}"
            if v == "e164": return r.choice([f"+44207946{0}{d(3)}", f"+1{us_area()}55501{d(2)}",
                                             f"+49151{d(8)}", f"+3363998{d(4)}", f"+61491570{r.randint(6, 159):03d}"])
            raise KeyError(v)

        def make_safe():
            while True:
                p = make()
                digits = re.sub(r"\D", "", p)
                if not (luhn_ok(digits) and card_brand(digits)):
                    return p
        return self.fresh(make_safe)

    def card_digits(self, brand):
        r = self.r
        prefix, length = {
            "visa": (lambda: "4", 16),
            "visa13": (lambda: "4", 13),
            "mc": (lambda: r.choice(["51", "52", "53", "54", "55"]), 16),
            "mc2": (lambda: str(r.randint(2221, 2720)), 16),
            "amex": (lambda: r.choice(["34", "37"]), 15),
            "discover": (lambda: r.choice(["6011", "644", "645", "646", "647", "648", "649", "65"]), 16),
            "discover65": (lambda: "65", 16),
        }[brand]
        p = prefix()
        body = p + self.d(length - len(p) - 1)
        return body + luhn_digit(body)

    @staticmethod
    def fmt_card(digits, style):
        if style == "none":
            return digits
        sep = " " if style == "space" else "-"
        if len(digits) == 15:
            return sep.join([digits[:4], digits[4:10], digits[10:]])
        if len(digits) == 16:
            return sep.join(digits[i:i + 4] for i in range(0, 16, 4))
        return digits

    def card(self, brand, style="space"):
        return self.fresh(lambda: self.fmt_card(self.card_digits(brand), style))

    def bban(self, country):
        out = []
        for count, kind in re.findall(r"(\d+)([nac])", IBAN_BBAN[country]):
            for _ in range(int(count)):
                if kind == "n":
                    out.append(self.r.choice(DIGITS))
                elif kind == "a":
                    out.append(self.r.choice(UPPER))
                else:
                    out.append(self.r.choice(DIGITS) if self.r.random() < 0.96 else self.r.choice(UPPER))
        return "".join(out)

    def iban_compact(self, country):
        bban = self.bban(country)
        return country + iban_check_digits(country, bban) + bban

    def iban(self, country, style="g"):
        return self.fresh(lambda: (group4 if style == "g" else str)(self.iban_compact(country)))

    def ssn(self):
        def make():
            area = self.r.randint(1, 899)
            while area == 666:
                area = self.r.randint(1, 899)
            v = f"{area:03d}-{self.r.randint(1, 99):02d}-{self.r.randint(1, 9999):04d}"
            return v if v not in SSN_FAMOUS else make()
        return self.fresh(make)

    def ip(self, v):
        r = self.r

        def make():
            if v == "v4pub":
                while True:
                    a = ipaddress.IPv4Address(r.getrandbits(32))
                    if a.is_global and not a.is_multicast and not a.is_reserved and not any(a in ipaddress.ip_network(n) for n in
                                               ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")) \
                            and int(str(a).split(".")[-1]) not in (0, 255):
                        return str(a)
            if v == "v4priv":
                return r.choice([f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                                 f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                                 f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}"])
            if v == "v4doc":
                return f"{r.choice(['192.0.2', '198.51.100', '203.0.113'])}.{r.randint(1, 254)}"
            if v == "v6global":
                while True:
                    a = ipaddress.IPv6Address((r.choice([0x2001, 0x2a02, 0x2600, 0x2804, 0x2c0f, 0x240e]) << 112)
                                              | (r.getrandbits(48) << 64) | r.getrandbits(64))
                    if a.is_global:
                        return str(a)
            if v == "v6short":
                return str(ipaddress.IPv6Address((r.choice([0x2001, 0x2a01, 0x2607]) << 112) | (r.getrandbits(32) << 80)
                                                 | r.getrandbits(16)))
            if v == "v6doc":
                return str(ipaddress.IPv6Address((0x20010db8 << 96) | (r.getrandbits(16) << 80) | r.getrandbits(32)))
            if v == "v6ll":
                return str(ipaddress.IPv6Address((0xfe80 << 112) | r.getrandbits(64)))
            if v == "v6full":
                return ipaddress.IPv6Address((0x2001 << 112) | (r.getrandbits(48) << 64) | r.getrandbits(64)).exploded
            if v == "v6upper":
                return str(ipaddress.IPv6Address((0x2a00 << 112) | (r.getrandbits(48) << 64) | r.getrandbits(64))).upper()
            raise KeyError(v)
        return self.fresh(make)

    # -- PII look-alikes (negatives)
    def luhnbad(self, length, style="none", lead=None):
        length = int(length)

        def make():
            while True:
                digits = (lead or str(self.r.randint(1, 9))) + self.d(length - len(lead or "x"))
                if not luhn_ok(digits) and card_brand(digits) is None:
                    return self.fmt_card(digits, style) if length in (15, 16) else digits
        return self.fresh(make)

    def cardbad(self, brand, style="space"):
        def make():
            good = self.card_digits(brand)
            bad = good[:-1] + str((int(good[-1]) + self.r.randint(1, 9)) % 10)
            assert not luhn_ok(bad)
            return self.fmt_card(bad, style)
        return self.fresh(make)

    def imei(self):
        def make():
            body = self.r.choice(["35", "86", "01"]) + self.d(12)
            v = body + luhn_digit(body)
            return f"{v[:2]}-{v[2:8]}-{v[8:14]}-{v[14]}"
        return self.fresh(make)

    def ibanbad(self, country, style="g"):
        def make():
            good = self.iban_compact(country)
            check = int(good[2:4])
            wrong = "%02d" % ((check + self.r.randint(1, 96)) % 97 or 2)
            bad = good[:2] + wrong + good[4:]
            if iban_mod97(bad) == 1:
                return make()
            return group4(bad) if style == "g" else bad
        return self.fresh(make)

    def ibantrans(self, country, style="g"):
        def make():
            good = self.iban_compact(country)
            i = self.r.randrange(4, len(good) - 1)
            if good[i] == good[i + 1] or not (good[i].isdigit() and good[i + 1].isdigit()):
                return make()
            bad = good[:i] + good[i + 1] + good[i] + good[i + 2:]
            return group4(bad) if style == "g" else bad
        return self.fresh(make)

    def ibanlen(self, country, style="g"):
        """Right check digits for a BBAN one character short: mod-97 holds, the length does not."""
        def make():
            bban = self.bban(country)[:-1]
            v = country + iban_check_digits(country, bban) + bban
            return group4(v) if style == "g" else v
        return self.fresh(make)

    def rf(self):
        def make():
            ref = self.d(self.r.randint(8, 14))
            check = "%02d" % (98 - iban_mod97("RF00" + ref))
            return group4("RF" + check + ref)
        return self.fresh(make)

    def ssnbad(self, kind):
        r = self.r

        def make():
            area = f"{r.randint(1, 899):03d}"
            while area == "666":
                area = f"{r.randint(1, 899):03d}"
            group, serial = f"{r.randint(1, 99):02d}", f"{r.randint(1, 9999):04d}"
            if kind == "area000": area = "000"
            if kind == "area666": area = "666"
            if kind == "area9xx":
                area = f"9{r.randint(0, 99):02d}"
                group = f"{r.randint(1, 49):02d}"
            if kind == "group00": group = "00"
            if kind == "serial0000": serial = "0000"
            return f"{area}-{group}-{serial}"
        return self.fresh(make)

    def isbn13(self):
        def make():
            group = self.r.choice(["0", "1", "2", "3", "84"])
            publisher, title = self.d(4), self.d(5 - len(group))
            body = "978" + group + publisher + title
            check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body)) % 10) % 10
            return f"978-{group}-{publisher}-{title}-{check}"
        return self.fresh(make)

    def ean13(self):
        def make():
            while True:
                body = self.r.choice(["40", "50", "76", "80", "87"]) + self.d(10)
                check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body)) % 10) % 10
                v = body + str(check)
                if not luhn_ok(v):
                    return v
        return self.fresh(make)

    # -- secrets
    def openai(self, kind="proj"):
        def make():
            if kind == "legacy":
                return "sk-" + self.chars(ALNUM, 20) + "T3BlbkFJ" + self.chars(ALNUM, 20)
            if kind == "plain":
                return "sk-" + self.chars(ALNUM, 48)
            if kind == "proj":
                return "sk-proj-" + self.chars(URLSAFE, 74) + "T3BlbkFJ" + self.chars(URLSAFE, 74)
            if kind == "svcacct":
                return "sk-svcacct-" + self.chars(URLSAFE, 74) + "T3BlbkFJ" + self.chars(URLSAFE, 74)
            if kind == "admin":
                return "sk-admin-" + self.chars(URLSAFE, 74) + "T3BlbkFJ" + self.chars(URLSAFE, 74)
            raise KeyError(kind)
        return self.fresh(make)

    def anthropic(self):
        return self.fresh(lambda: "sk-ant-api03-" + self.chars(URLSAFE, 93) + "AA")

    def akia(self, prefix="AKIA"):
        return self.fresh(lambda: prefix + self.chars(BASE32, 16))

    def asia(self):
        return self.akia("ASIA")

    def awssecret(self):
        return self.fresh(lambda: self.chars(B64, 40))

    def gh(self, kind="ghp"):
        if kind == "pat":
            return self.fresh(lambda: "github_pat_" + self.chars(ALNUM, 22) + "_" + self.chars(ALNUM, 59))
        return self.fresh(lambda: f"{kind}_" + self.chars(ALNUM, 36))

    def glpat(self):
        return self.fresh(lambda: "glpat-" + self.chars(URLSAFE, 20))

    def slack(self, kind="xoxb"):
        r = self.r

        def make():
            if kind == "xoxb":
                return f"xoxb-{r.randint(1, 9)}{self.d(r.randint(9, 12))}-{self.d(13)}-{self.chars(ALNUM, 24)}"
            if kind == "xoxp":
                return f"xoxp-{self.d(12)}-{self.d(12)}-{self.d(13)}-{self.chars(HEX, 32)}"
            if kind == "xapp":
                return f"xapp-1-A{self.chars(DIGITS + UPPER, 10)}-{self.d(13)}-{self.chars(HEX, 64)}"
            raise KeyError(kind)
        return self.fresh(make)

    def stripe(self, kind="sk_live"):
        n = self.r.choice([24, 99])
        if n == 99:
            return self.fresh(lambda: f"{kind}_51" + self.chars(ALNUM, 97))
        return self.fresh(lambda: f"{kind}_" + self.chars(ALNUM, 24))

    def google(self):
        return self.fresh(lambda: "AIzaSy" + self.chars(URLSAFE, 33))

    def jwt(self, alg="HS256", kind="user"):
        r = self.r
        now = r.randint(1_700_000_000, 1_735_000_000)
        header = {"alg": alg, "typ": "JWT"}
        if alg != "HS256" or r.random() < 0.3:
            header["kid"] = self.chars(URLSAFE, r.choice([16, 22, 27]))
        if kind == "user":
            payload = {"sub": f"user_{self.d(6)}", "name": self.name(), "role": r.choice(["admin", "member", "viewer"]),
                       "iat": now, "exp": now + 3600}
        elif kind == "oidc":
            payload = {"iss": r.choice(["https://auth.example.com/", "https://login.example.org",
                                        "https://idp.example.net/realms/prod"]),
                       "sub": self.uuid(), "aud": r.choice(["web-console", "https://api.example.com", "mobile-app"]),
                       "email": self.email(), "email_verified": True, "iat": now, "exp": now + 900,
                       "nonce": self.chars(URLSAFE, 16)}
        elif kind == "service":
            payload = {"iss": "https://kubernetes.default.svc.cluster.local",
                       "sub": f"system:serviceaccount:{r.choice(['prod', 'payments', 'ml-batch'])}:"
                              f"{r.choice(['deployer', 'reader', 'agent-runner'])}",
                       "aud": ["https://kubernetes.default.svc"], "iat": now, "exp": now + 31536000}
        elif kind == "api":
            payload = {"iss": "supabase", "ref": self.chars(LOWER, 20), "role": r.choice(["anon", "service_role"]),
                       "iat": now, "exp": now + 315360000}
        else:
            payload = {"sid": self.uuid(), "scope": r.choice(["read:orders write:orders", "openid profile email",
                                                              "repo:read"]), "iat": now, "exp": now + 7200}
        h = b64url(json.dumps(header, separators=(",", ":")).encode())
        p = b64url(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        if alg == "HS256":
            sig = hmac.new(self.bytes_(32), f"{h}.{p}".encode(), hashlib.sha256).digest()
        elif alg == "RS256":
            sig = self.bytes_(256)
        else:
            sig = self.bytes_(64)
        v = f"{h}.{p}.{b64url(sig)}"
        assert v not in self.seen
        self.seen.add(v)
        return v

    def prime(self, bits):
        while True:
            c = self.r.getrandbits(bits) | (3 << (bits - 2)) | 1
            if c % 65537 != 1 and probable_prime(c, self.r):
                return c

    def rsa_pkcs1(self, bits):
        """A real RSA key (seeded primes), encoded as PKCS#1 RSAPrivateKey."""
        e = 65537
        while True:
            p, q = self.prime(bits // 2), self.prime(bits // 2)
            if p != q:
                break
        p, q = max(p, q), min(p, q)
        n = p * q
        d = pow(e, -1, (p - 1) * (q - 1) // math.gcd(p - 1, q - 1))
        ints = [0, n, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p)]
        return der(0x30, b"".join(der_small(i) for i in ints))

    def pem(self, kind="rsa", bits="2048", esc=None):
        bits = int(bits)
        if kind == "rsa":
            block = pem("RSA PRIVATE KEY", self.rsa_pkcs1(bits))
        elif kind == "pkcs8":
            body = der(0x30, der_small(0) + der(0x30, der(0x06, OID_RSA) + b"\x05\x00") + der(0x04, self.rsa_pkcs1(bits)))
            block = pem("PRIVATE KEY", body)
        elif kind == "ec":
            while True:
                k = self.bytes_(32)
                if 0 < int.from_bytes(k, "big") < P256_N:
                    break
            x, y = p256_mul(int.from_bytes(k, "big"))
            point = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
            body = der(0x30, der_small(1) + der(0x04, k) + der(0xA0, der(0x06, OID_P256))
                       + der(0xA1, der(0x03, b"\0" + point)))
            block = pem("EC PRIVATE KEY", body)
        elif kind == "ed25519":
            body = der(0x30, der_small(0) + der(0x30, der(0x06, OID_ED25519)) + der(0x04, der(0x04, self.bytes_(32))))
            block = pem("PRIVATE KEY", body)
        elif kind == "encrypted":
            params = der(0x30, der(0x06, OID_PBES2) + der(0x30,
                der(0x30, der(0x06, OID_PBKDF2) + der(0x30, der(0x04, self.bytes_(8)) + der_small(2048)
                                                     + der(0x30, der(0x06, OID_HMAC_SHA256) + b"\x05\x00")))
                + der(0x30, der(0x06, OID_AES256_CBC) + der(0x04, self.bytes_(16)))))
            body = der(0x30, params + der(0x04, self.bytes_(1232)))
            block = pem("ENCRYPTED PRIVATE KEY", body)
        elif kind == "openssh":
            def s(b):
                return struct.pack(">I", len(b)) + b
            pub = self.bytes_(32)
            pubblob = s(b"ssh-ed25519") + s(pub)
            check = self.bytes_(4)
            comment = self.r.choice([b"deploy@ci-runner-04", b"dana@laptop", b"backup-bot", b"root@bastion"])
            priv = check + check + s(b"ssh-ed25519") + s(pub) + s(self.bytes_(32) + pub) + s(comment)
            priv += bytes(range(1, 1 + (-len(priv) % 8)))
            body = b"openssh-key-v1\0" + s(b"none") + s(b"none") + s(b"") + struct.pack(">I", 1) + s(pubblob) + s(priv)
            block = pem("OPENSSH PRIVATE KEY", body, width=70)
        else:
            raise KeyError(kind)
        if esc == "esc":
            block = block.replace("\n", "\\n") + "\\n"
        elif esc:
            block = block.replace("\n", "\n" + " " * int(esc[1:]))
        assert block not in self.seen
        self.seen.add(block)
        return block

    def gen(self, style="pw"):
        r = self.r

        def make():
            if style == "hex32": return self.chars(HEX, 32)
            if style == "hex40": return self.chars(HEX, 40)
            if style == "hex64": return self.chars(HEX, 64)
            if style == "b64": return base64.b64encode(self.bytes_(r.choice([24, 32, 33]))).decode()
            if style == "urlsafe": return b64url(self.bytes_(32))
            if style == "alnum": return self.chars(ALNUM, r.randint(24, 40))
            if style == "django": return self.chars(LOWER + DIGITS + "!@#$%^&*(-_=+)", 50)
            if style == "pw":
                while True:
                    v = self.chars(ALNUM + "!#%&*+-.=?^_~", r.randint(14, 24))
                    if re.search(r"[a-z]", v) and re.search(r"[A-Z]", v) and re.search(r"\d", v) \
                            and re.search(r"[^A-Za-z0-9]", v):
                        return v
            if style == "pwurl":
                return self.chars(ALNUM, r.randint(16, 28))
            raise KeyError(style)
        while True:
            v = self.fresh(make)
            if entropy(v) >= 3.0 and not re.match(r"(sk|rk|pk)[-_]|AKIA|ASIA|AIza|gh[pousr]_|glpat|xox|eyJ", v):
                return v


# ================================================================ PII corpus
# Placeholders: <<kind:arg:...>>. Kinds that are corpus types become expected values; the others
# (name, first, uuid, sha1, hexn, epoch) are filler; the look-alike kinds of the negatives record
# what the script later checks about them (a failed Luhn or mod-97 check, an invalid SSN range).

PII_POSITIVES = [
    # ---- email
    "Hi Dana, could you forward the signed NDA to <<email>> before Friday? Legal needs it for the kickoff.",
    '{"customer": {"id": 48213, "name": "<<name>>", "email": "<<email>>", "tier": "gold", "marketing_opt_in": false}}',
    "2024-06-03T09:14:22Z INFO auth: password reset link sent to <<email>> (request_id=<<hexn:12>>)",
    "From: <<name>> <<<email>>>\nTo: Customer Care\nSubject: Refund for order 55120\n\nHello, I was charged twice for the same order last week. Could you look into it?",
    "Le client souhaite être recontacté uniquement par e-mail : <<email>>. Merci de ne pas l'appeler.",
    "notifications:\n  on_failure:\n    - <<email>>\n    - <<email>>\n  on_success: []",
    "user_id,full_name,email,signup_date\n1042,<<name>>,<<email>>,2023-11-02",
    "Done — I drafted the reply and addressed it to <<email>>, with their manager in CC as you asked. Want me to send it?",
    "commit <<sha1>>\nAuthor: <<name>> <<<email>>>\nDate:   Tue Apr 16 11:02:45 2024 +0200\n\n    Fix rounding in invoice totals",
    "Bitte senden Sie die vollständigen Unterlagen an <<email>>, Betreff „Antrag 2024/117“.",
    "| id | email | last_login |\n|----|-------|------------|\n| 7 | <<email>> | 2024-05-30 |",
    'Click <a href="mailto:<<email>>?subject=Interview%20follow-up">here</a> to reply to the recruiter.',
    '{"results": [{"contact": "<<name>>", "emails": ["<<email>>", "<<email>>"], "source": "crm"}], "total": 1}',
    "Reach me at <<email:upper>> any time after the 14th; I'm travelling until then.",
    'send_invoice(to="<<email>>", amount=129.90, currency="EUR")',
    "Escríbeme a <<email>> y te paso el presupuesto actualizado esta tarde.",
    "Reply-To: <<email:role>>\nX-Mailer: Postfix 3.7\nContent-Type: text/plain; charset=utf-8",
    "Ticket #88213 opened by <<email>> — 'cannot log in after the SSO migration', priority P2.",
    "ご不明な点がございましたら、<<email:role>> までお問い合わせください。",
    "oncall rotation this week: primary <<email>>, secondary <<email>>; escalate to the EM after 30 min.",
    # ---- phone
    "You can reach our London office on <<phone:uk_intl>> between 9am and 5pm, Monday to Friday.",
    "Call me at <<phone:us_paren>> if the deploy fails again tonight, I'll keep my phone on.",
    '{"contact": {"name": "<<name>>", "phone": "<<phone:e164>>", "preferred": "sms"}}',
    "Pour toute question sur votre dossier, appelez le <<phone:fr_nat>> (du lundi au vendredi).",
    "Unser Büro in Berlin erreichen Sie unter <<phone:de_00>>, außerhalb der Sprechzeiten per Mail.",
    "東京オフィスの代表番号は <<phone:jp_intl>> です。",
    "BEGIN:VCARD\nVERSION:3.0\nFN:<<name>>\nTEL;TYPE=cell:<<phone:uk_mob_nat>>\nEND:VCARD",
    "Llámame al <<phone:es>> cuando llegues al aeropuerto.",
    "Support hotline for Australian customers: <<phone:au_mob>> (7 days, 8am–8pm AEST).",
    "Customer asked to be called back on <<phone:in>> after 6pm IST regarding the refund.",
    "WhatsApp do cliente: <<phone:br>> — prefere mensagens de texto.",
    "[2024-04-11 16:02:33] sms.send to=<<phone:e164>> template=otp_login status=queued",
    "Numero di telefono del referente: <<phone:it>>",
    "Bel gerust naar <<phone:nl>> als de levering vertraagd is.",
    "Emergency contact: <<name>>, <<phone:us_dash>> (spouse).",
    'shipping:\n  recipient: "<<name>>"\n  phone_number: "<<phone:ca>>"\n  instructions: leave at front desk',
    "Our Zurich desk is at <<phone:ch>> and the Stockholm one at <<phone:se>>; both answer in English.",
    "From a UK landline just ring <<phone:uk_nat>> and ask for the claims team.",
    "Contacto en CDMX: <<phone:mx>> (oficina), horario de 9 a 18 h.",
    "서울 지사 담당자 휴대폰: <<phone:kr>>",
    "The caller ID showed <<phone:de_mob>>, which matches the number on the account.",
    "Tel. kontaktowy: <<phone:pl>>",
    # ---- card
    "Please charge the deposit to my Visa <<card:visa:space>>, expiry 09/27, name as on the booking.",
    '{"payment_method": {"type": "card", "number": "<<card:mc:none>>", "exp_month": 4, "exp_year": 2028}}',
    "Amex on file for corporate travel: <<card:amex:space>>",
    "WARN checkout: declined card=<<card:discover:dash>> reason=insufficient_funds attempt=2",
    "My card number is <<card:visa:none>> — can you tell me why it keeps getting declined?",
    "Carte bancaire enregistrée : <<card:mc:space>> (expire fin 2026).",
    "Kreditkarte für die Kaution: <<card:mc2:space>>, gültig bis 11/27.",
    "order_id,card_number,amount\n10023,<<card:visa:dash>>,49.00\n10024,,12.50",
    "I typed <<card:amex:dash>> into the form and it says invalid, but the card works in shops.",
    "Found 1 match in support_ticket_8812.txt, line 14: 'card: <<card:discover:space>>'",
    "El número de la tarjeta es <<card:visa:space>> y el titular es <<name>>.",
    "POST /pay body: cc_number=<<card:mc:none>>&cc_exp=1126&cc_cvc=***&save=1",
    "The string you pasted, <<card:visa:none>>, is a complete card number; I'd remove it from the ticket before sharing it.",
    'billing:\n  card: "<<card:amex:none>>"\n  holder: "<<name>>"\n  zip: "94105"',
    "My old 13-digit Visa <<card:visa13:none>> still shows up as the default payment method.",
    "Discover card, full number <<card:discover65:space>>, please update the subscription.",
    "Mastercard <<card:mc:dash>>, the CVC is on the back.",
    "Die Zahlung mit Karte <<card:visa:space>> wurde autorisiert (Betrag 84,90 EUR).",
    "Hi, the card I want to use is <<card:mc2:none>>, expiring 03/29. Thanks!",
    "ValueError: expiry in the past for card <<card:visa:none>> (exp=2023-12)",
    "INSERT INTO payments (card_number, amount_cents) VALUES ('<<card:discover:none>>', 25000);",
    # ---- iban
    "Please wire the deposit to IBAN <<iban:DE:g>>, account holder <<name>>, reference 'Lease 14B'.",
    '{"beneficiary": "<<name>>", "iban": "<<iban:NL:c>>", "amount": 1250.00, "currency": "EUR"}',
    "Mon RIB pour le remboursement : <<iban:FR:g>>",
    "Bank details for the invoice: IBAN <<iban:GB:g>>, payable within 30 days.",
    "Coordenadas bancarias para la devolución: <<iban:ES:g>>",
    "Bonifico da effettuare su <<iban:IT:c>> entro il 30 del mese.",
    "employee_id;name;iban\n3381;<<name>>;<<iban:BE:c>>",
    "Kontoverbindung (IBAN): <<iban:AT:g>> – bitte Rechnungsnummer angeben.",
    "Überweisung an <<iban:CH:g>>, Empfänger Stiftung Bergwald.",
    "Numer rachunku do zwrotu: <<iban:PL:g>>",
    "O meu IBAN é <<iban:PT:g>>, podes transferir quando quiseres.",
    "2024-02-28 10:41:07 payout.created iban=<<iban:IE:c>> amount=420.00 status=pending",
    "Kontonummer till lönen: <<iban:SE:g>>",
    "Tilbakebetaling til <<iban:NO:g>> er registrert.",
    "Please use IBAN <<iban:DK:c>> for the Copenhagen office rent.",
    "Tilinumero: <<iban:FI:g>>",
    "Payment reference 88-1142, account <<iban:LU:g>>",
    "Číslo účtu (IBAN): <<iban:CZ:g>>",
    'vendor_bank:\n  iban: "<<iban:HU:c>>"\n  swift: "XKVHHUHB"',
    "Cont bancar: <<iban:RO:g>>",
    "Αριθμός λογαριασμού IBAN: <<iban:GR:g>>",
    "Alıcı IBAN: <<iban:TR:g>>",
    "Transfer to <<iban:AE:g>> (Dubai branch) was flagged for manual review.",
    "A conta para o reembolso é <<iban:BR:g>>.",
    "Account for the Valletta office deposit: <<iban:MT:g>>",
    # ---- ssn
    "SSN: <<ssn>>\nDate of hire: 2021-08-16\nFiling status: single",
    "My social is <<ssn>>, can you check whether my W-2 was filed for last year?",
    '{"applicant": {"name": "<<name>>", "ssn": "<<ssn>>", "state": "OH", "income": 58200}}',
    "2024-05-02T14:03:11Z DEBUG underwriting: applicant_ssn=<<ssn>> score=712 decision=approve",
    "The background check for <<name>> (SSN <<ssn>>) came back clear; onboarding can proceed.",
    "Please update the beneficiary record: Social Security number <<ssn>>, relationship: daughter.",
    "name,ssn,department\n<<name>>,<<ssn>>,Logistics",
    "Patient intake form — SSN <<ssn>>, insurer: BlueRidge Mutual, policy active.",
    "I think I typed my SSN wrong on the application, it should be <<ssn>> not the one on file.",
    "tax_profile:\n  taxpayer_ssn: <<ssn>>\n  dependents: 2",
    "Tool result (hr_lookup): employee 4471 — ssn <<ssn>>, status active, location Denver.",
    "Número de Seguro Social del solicitante: <<ssn>>",
    "For identity verification the loan file lists SSN <<ssn>>; the applicant confirmed it by phone.",
    "UPDATE employees SET ssn = '<<ssn>>' WHERE employee_id = 2201;",
    "The W-9 lists <<ssn>> as the contractor's taxpayer identification number.",
    "Spouse SSN <<ssn>> was rejected by the e-file system: name mismatch.",
    "Your Social Security Number (<<ssn>>) has been verified. No further action is needed.",
    "KYC note: customer provided SSN <<ssn>> over the phone, documents pending.",
    "<ssn><<ssn>></ssn>\n<dob>1979</dob>",
    "Can you fill in the I-9 for me? SSN is <<ssn>>, start date June 3.",
    # ---- ip
    "Apr 12 03:14:07 web-01 sshd[21877]: Failed password for invalid user admin from <<ip:v4pub>> port 52144 ssh2",
    '<<ip:v4pub>> - - [12/Mar/2024:10:15:32 +0000] "GET /api/v1/users HTTP/1.1" 200 512 "-" "curl/8.4.0"',
    "X-Forwarded-For: <<ip:v4pub>>, <<ip:v4priv>>",
    '{"event": "login", "user_id": 8812, "client_ip": "<<ip:v4pub>>", "success": true}',
    "Connection from <<ip:v6global>> port 50422 on <<ip:v6global>> port 22 rdomain \"\"",
    "    inet6 <<ip:v6ll>>/64 scope link \n       valid_lft forever preferred_lft forever",
    "PING <<ip:v4doc>>: 56 data bytes\n64 bytes from <<ip:v4doc>>: icmp_seq=0 ttl=57 time=11.2 ms",
    "The attacker's address was <<ip:v4pub>>; I've added it to the WAF blocklist for 24 hours.",
    'allowed_cidrs = ["<<ip:v4pub>>/32", "<<ip:v4priv>>/32"]',
    "DNS check: the A record points to <<ip:v4pub>> and the AAAA record to <<ip:v6short>>.",
    "server listening on [<<ip:v6doc>>]:8443 (tls)",
    "La dirección IP del usuario en el momento del pago era <<ip:v4pub>>.",
    "2024-03-01 22:10:45,117 fail2ban.actions [812]: NOTICE [sshd] Ban <<ip:v4pub>>",
    "Die Anfrage kam von <<ip:v6full>> (IPv6, nicht gekürzt).",
    "status:\n  hostIP: <<ip:v4priv>>\n  podIP: <<ip:v4priv>>\n  phase: Running",
    "my home IP is <<ip:v4pub>> if you need to whitelist it on the staging firewall",
    "traceroute hop 7: <<ip:v4pub>> 23.881 ms",
    "Peer <<ip:v6upper>> closed the connection (reason: idle timeout).",
    "geoip lookup <<ip:v4pub>> -> country=DE asn=AS3320",
    "postgres connection accepted: host=<<ip:v4priv>> port=5432 user=app database=orders",
    "Recebemos tentativas de login do IP <<ip:v4pub>> na madrugada.",
    # ---- several types in one text
    "--\n<<name>>\nHead of Partnerships\n<<email>> | <<phone:uk_mob>>",
    '{"customer": {"email": "<<email>>", "phone": "<<phone:us_paren>>", "ssn": "<<ssn>>", "card": "<<card:visa:none>>"}}',
    "2024-06-10T08:01:54Z INFO login ok user=<<email>> ip=<<ip:v4pub>> mfa=totp",
    "Onboarding checklist for <<name>>: SSN <<ssn>> verified, salary account <<iban:DE:g>> added to payroll.",
    "Order 77120 placed by <<email>>, paid with <<card:mc:space>>; delivery contact <<phone:de_mob>>.",
    "Rückruf erbeten: <<name>>, Tel. <<phone:de_nat>>, E-Mail <<email>>.",
    "name,email,phone\n<<name>>,<<email>>,<<phone:fr_intl>>\n<<name>>,<<email>>,<<phone:jp_mob>>",
    "Fraud review: card <<card:amex:space>> used from <<ip:v6global>> and <<ip:v4pub>> within 5 minutes.",
    "Remboursement : virement sur <<iban:FR:c>> ; confirmation envoyée à <<email>>.",
    "Contractor form received: SSN <<ssn>>, phone <<phone:us_dots>>, payments to <<iban:GB:c>>.",
    "Account recovery requested from <<ip:v4pub>> for <<email>>; code sent by SMS to <<phone:es>>.",
    "Tool result (crm.get_contact): {\"name\": \"<<name>>\", \"email\": \"<<email:role>>\", \"phone\": \"<<phone:au_land>>\"}",
]

PII_NEGATIVES = [
    # ---- card look-alikes
    ("card", "Your order <<luhnbad:16:none>> has shipped and should arrive on Thursday.", "16-digit order number; fails the Luhn check"),
    ("card", "Tracking number: <<luhnbad:16:space>> (DHL Express, 2 parcels)", "16-digit tracking number grouped like a card; fails the Luhn check"),
    ("card", "Sendungsnummer <<luhnbad:16:none>> – Zustellung heute zwischen 10 und 14 Uhr.", "16-digit shipment number; fails the Luhn check"),
    ("card", "INFO fulfilment: batch_id=<<luhnbad:16:none>> items=14 warehouse=DUS2", "16-digit batch id; fails the Luhn check"),
    ("card", "I entered <<cardbad:visa:space>> but the form says the number is invalid, I must have mistyped a digit.", "Visa-shaped number with a wrong check digit; fails the Luhn check"),
    ("card", '{"test_case": "rejects_bad_checksum", "number": "<<cardbad:mc:none>>", "expect": "invalid_number"}', "Mastercard-shaped number with a wrong check digit; fails the Luhn check"),
    ("card", "Card number <<cardbad:amex:space>> was rejected by the Luhn check on the payment page.", "Amex-shaped number with a wrong check digit; fails the Luhn check"),
    ("card", "Charged €42.10 to Visa •••• 4821 on 3 May.", "only the last four digits of a card"),
    ("card", "Payment method: Mastercard ending in 0934, expires 11/27.", "only the last four digits of a card"),
    ("card", "trace_id=<<luhnbad:19:none>> span=checkout.render", "19-digit trace id; fails the Luhn check"),
    ("card", "Ticket reference <<luhnbad:16:dash>> — please quote it in every reply.", "dashed 16-digit ticket reference; fails the Luhn check"),
    ("card", "Account reference <<cardbad:mc:dash>> (not a card — the number printed on the loyalty statement).", "Mastercard-shaped reference with a wrong check digit; fails the Luhn check"),
    ("card", "Gift card code: XK4P-9QRT-2MZL-77HB", "alphanumeric gift card code, not a card number"),
    ("card", "Device IMEI: <<imei>>", "IMEI: passes the Luhn check, but 15 digits with a device TAC, not a card number"),
    ("card", "created snowflake id <<luhnbad:19:none:1>> for message", "19-digit snowflake id; fails the Luhn check"),
    ("card", "ts_ns=<<luhnbad:19:none:17>> level=info msg=\"flush complete\"", "nanosecond timestamp; fails the Luhn check"),
    ("card", "Test number 4242 4242 4242 4241 should be refused by the validator (last digit changed).", "card-shaped test number with a wrong check digit; fails the Luhn check"),
    ("card", "Número de pedido: <<luhnbad:16:none>>. Gracias por su compra.", "16-digit order number; fails the Luhn check"),
    ("card", "SKU <<cardbad:visa:none>> qty 2 unit 19.99", "SKU that starts like a Visa number but fails the Luhn check"),
    ("card", "BIN lookup: 411111 → Visa, credit, issuer country US", "six-digit BIN only"),
    ("card", "The regex ^4[0-9]{12}(?:[0-9]{3})?$ matches Visa numbers of 13 or 16 digits.", "a pattern for card numbers, no number"),
    ("card", "Reference <<cardbad:discover:dash>> printed on the remittance slip.", "Discover-shaped reference with a wrong check digit; fails the Luhn check"),
    ("card", "Container MSCU 4839201, booking <<luhnbad:16:none>>, vessel ETA 14:00.", "16-digit booking number; fails the Luhn check"),
    ("card", "PAN masked as 4539 XXXX XXXX 0187 in the export, as required by PCI DSS.", "masked card number, middle digits hidden"),
    ("card", "Karte: **** **** **** 7710 (Debit)", "masked card number"),
    ("card", "Invoice line 3: part <<cardbad:amex:none>>, 12 units", "Amex-shaped part number with a wrong check digit; fails the Luhn check"),
    # ---- iban look-alikes
    ("iban", "IBAN <<ibanbad:DE:g>> — the bank says the check digits don't match.", "German IBAN with wrong check digits; fails mod-97"),
    ("iban", '{"iban": "<<ibanbad:FR:c>>", "error": "INVALID_CHECKSUM"}', "French IBAN with wrong check digits; fails mod-97"),
    ("iban", "Überweisung fehlgeschlagen: IBAN <<ibanlen:DE:g>> hat nur 21 Stellen.", "21 characters for Germany, which has 22: not a valid IBAN"),
    ("iban", "BIC/SWIFT: KQLRDEFFXXX", "a BIC, not an account number"),
    ("iban", "USt-IdNr.: DE<<luhnbad:9:none>>", "German VAT id: country code and digits, not an IBAN"),
    ("iban", "Référence de paiement structurée : <<rf>>", "ISO 11649 creditor reference: passes mod-97 but RF is not a country, not an IBAN"),
    ("iban", "The IBAN format for Germany is DEkk bbbb bbbb cccc cccc cc (22 characters).", "a format description with letters in place of digits"),
    ("iban", "IBAN: NL** **** **** **** 12", "masked IBAN"),
    ("iban", "Please double-check <<ibantrans:IT:g>>, I think two digits are swapped.", "Italian IBAN with two adjacent digits swapped; fails mod-97"),
    ("iban", "iban=<<ibanbad:GB:c>> status=rejected reason=checksum", "UK IBAN with wrong check digits; fails mod-97"),
    ("iban", "Cuenta: <<ibanbad:ES:g>> (devuelta por el banco: dígitos de control erróneos)", "Spanish IBAN with wrong check digits; fails mod-97"),
    ("iban", "validator test vector: <<ibantrans:NL:c>> -> false", "Dutch IBAN with two digits swapped; fails mod-97"),
    ("iban", "Kontonummer <<ibanlen:AT:g>> wurde vom Formular abgelehnt (zu kurz).", "one character short for Austria: not a valid IBAN"),
    ("iban", "SEPA mandate reference: MNDT-2024-000184-B", "mandate reference, not an IBAN"),
    ("iban", "IBAN <<ibanbad:BE:g>> bevat een fout in de controlegetallen.", "Belgian IBAN with wrong check digits; fails mod-97"),
    ("iban", "Rechnung <<ibanbad:CH:c>>? Nein, das ist die alte, ungültige Nummer.", "Swiss IBAN with wrong check digits; fails mod-97"),
    ("iban", "Product code GB82WEST-SAMPLE is discontinued.", "product code that starts like an IBAN"),
    ("iban", "Numer <<ibantrans:PL:g>> nie przechodzi walidacji.", "Polish IBAN with two digits swapped; fails mod-97"),
    ("iban", "Order ref DE44 is shipped; order ref DE45 is pending.", "short order references that start with a country code and two digits"),
    ("iban", "IBAN inválido: <<ibanbad:PT:g>>", "Portuguese IBAN with wrong check digits; fails mod-97"),
    ("iban", "IBAN <<ibanbad:SE:c>> avvisades av banken.", "Swedish IBAN with wrong check digits; fails mod-97"),
    ("iban", "Field iban must match ^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$", "a validation pattern, no IBAN"),
    # ---- ssn look-alikes
    ("ssn", "SSN field contained <<ssnbad:area000>>, which the validator rejects.", "area 000 is never issued"),
    ("ssn", "Record 22 has ssn <<ssnbad:area666>> — flag for review.", "area 666 is never issued"),
    ("ssn", "ssn: <<ssnbad:area9xx>>", "areas 900-999 are not issued as SSNs"),
    ("ssn", "Imported value <<ssnbad:group00>> failed the SSN format check.", "group 00 is never issued"),
    ("ssn", "placeholder SSN <<ssnbad:serial0000>> used in the mock data", "serial 0000 is never issued"),
    ("ssn", "Invoice date 03-15-2024, due 04-14-2024.", "dates in MM-DD-YYYY form"),
    ("ssn", "P/N 512-07-3390-B, torque 35 Nm", "part number with an SSN-like shape; only the context tells it apart", "allow"),
    ("ssn", "Case No. 2023-14-0871 was closed on appeal.", "case number, 4-2-4 digits"),
    ("ssn", "SSN on file: XXX-XX-4417", "masked SSN, only the last four digits"),
    ("ssn", "***-**-6789 is how the statement prints it.", "masked SSN"),
    ("ssn", "The SSN format is AAA-GG-SSSS: area, group and serial.", "a format description"),
    ("ssn", "Test fixture ssn=<<ssnbad:area9xx>> (invalid on purpose)", "9xx area, not an SSN"),
    ("ssn", "Lieferdatum: 12-05-2024", "a date, DD-MM-YYYY"),
    ("ssn", "Rack location 104-22-0007 in aisle C.", "rack location with an SSN-like shape; only the context tells it apart", "allow"),
    ("ssn", "Lot number <<ssnbad:area666>>-A expires 2026-01", "lot number with area 666, never an SSN"),
    ("ssn", "Form revision 212-55-01 supersedes 211-54-12.", "form revision numbers, 3-2-2 digits"),
    ("ssn", "Zip+4 94105-1804 and PO box 2231.", "ZIP+4 code"),
    ("ssn", "The form rejected <<ssnbad:group00>> because the middle group cannot be zero.", "group 00 is never issued"),
    ("ssn", "Serial range 2024-0001 to 2024-0500 was recalled.", "serial numbers"),
    ("ssn", "Phone extension 401-22 and room 3-114.", "extension and room numbers"),
    ("ssn", '{"ssn": "<<ssnbad:serial0000>>", "valid": false}', "serial 0000 is never issued"),
    ("ssn", "Drawing no. 730-05-1193 rev C (bracket, left)", "drawing number with an SSN-like shape; only the context tells it apart", "allow"),
    ("ssn", "ISBN-10 0-306-40615-2 is listed twice in the catalogue.", "ISBN-10 with hyphens"),
    ("ssn", "Sample SSN <<ssnbad:area9xx>> from the test data generator", "9xx area, not an SSN"),
    # ---- email look-alikes
    ("email", "deploy@localhost:~/app$ cargo build --release", "user@host in a shell prompt"),
    ("email", "@app.route('/users/<int:user_id>')\ndef get_user(user_id):\n    return db.get(user_id)", "Python decorator"),
    ("email", "git clone git@github.com:acme-internal/billing-service.git", "SSH remote of a git repository"),
    ("email", '<img src="logo@2x.png" srcset="logo@3x.png 3x" alt="Logo">', "retina image file names"),
    ("email", "npm install @types/node@20.11.5 @tanstack/react-query@5.17.9", "npm scoped packages with versions"),
    ("email", "import { Injectable } from '@angular/core';\n\n@Injectable({ providedIn: 'root' })\nexport class ApiService {}", "TypeScript decorator and npm scope"),
    ("email", "@media (max-width: 600px) { .nav { display: none; } }\n@import url('theme.css');", "CSS at-rules"),
    ("email", "Thanks @priya_k for the review, merging now.", "a social handle, not an address"),
    ("email", "logits = hidden @ weights.T  # matrix multiply", "Python matrix multiplication operator"),
    ("email", "ssh -i ~/.ssh/deploy_key ubuntu@bastion-prod", "user@host for ssh, no domain"),
    ("email", "docker pull python@sha256:<<hexn:64>>", "image digest reference"),
    ("email", "/**\n * @param {string} email the user's address\n * @returns {Promise<void>}\n */", "JSDoc tags"),
    ("email", "my @Override annotation is being ignored after the Kotlin migration", "Java annotation"),
    ("email", "my @active = grep { $_->{enabled} } @users;", "Perl arrays"),
    ("email", "pip install 'requests @ git+https://github.com/psf/requests@v2.31.0'", "pip direct reference with a git tag"),
    ("email", "rsync -avz build/ www-data@staging:/var/www/html/", "user@host for rsync, no domain"),
    ("email", "go get golang.org/x/net@v0.21.0", "Go module with a version"),
    ("email", "[build@devbox ~]$ ls -la", "user@host in a shell prompt"),
    ("email", "yarn add eslint-plugin-react@^7.33.2", "npm package with a version range"),
    ("email", "Error: invalid email address 'jane.doe@' (missing domain)", "incomplete address, no domain"),
    ("email", "cron: @daily /usr/local/bin/rotate-logs", "cron shortcut"),
    ("email", '<button @click="save" :disabled="busy">Save</button>', "Vue event binding"),
    ("email", "uv tool install ruff@0.4.2", "tool with a version"),
    ("email", "assets/icons/search@2x.svg not found (404)", "retina image file name"),
    ("email", "SELECT id FROM users WHERE email NOT LIKE '%@%.%';", "SQL pattern, no address"),
    ("email", "Use the format name@domain in the address field.", "a format description, no real domain"),
    ("email", "FROM node:20-alpine@sha256:<<hexn:64>> AS build", "Docker base image pinned by digest"),
    ("email", "@@ -12,7 +12,9 @@ fn main() {", "diff hunk header"),
    # ---- ip look-alikes
    ("ip", "Upgraded libfoo from 1.2.3.4.5 to 1.2.3.4.6 and the crash is gone.", "five-part version numbers"),
    ("ip", "Release v10.0.0.1-beta is now on the beta channel.", "a version tag", "allow"),
    ("ip", "The parser rejected 999.1.1.1 because 999 is out of range.", "octet out of range"),
    ("ip", "snmpget -v2c -c public agent 1.3.6.1.2.1.1.3.0", "SNMP OID"),
    ("ip", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36", "browser build numbers"),
    ("ip", "OS Name: Windows 10 Pro, OS Version: 10.0.19045.3693", "Windows build number"),
    ("ip", "See section 4.2.1.3 of the specification for the edge cases.", "section numbering; only the context tells it apart", "allow"),
    ("ip", "Bumped the plugin to version 2.4.10.256.", "version with an out-of-range part"),
    ("ip", "Wi-Fi adapter MAC 3c:22:fb:91:0a:7e, driver 22.250.1", "MAC address"),
    ("ip", "SHA256 fingerprint: 4F:2A:9C:11:7B:E0:D3:55:08:AA:61:FE:3C:92:17:4D", "certificate fingerprint in hex pairs"),
    ("ip", "error: no member named 'size' in 'std::vector<int>::iterator'", "C++ scope operators"),
    ("ip", "12:30:45.123 worker-3 job finished", "a time of day"),
    ("ip", "Subnet 192.168.1 is reserved for printers (the last octet is assigned by DHCP).", "three-part prefix, not an address"),
    ("ip", "Python 3.11.7.final.0 (default, Jan 2 2024)", "interpreter version string"),
    ("ip", "System.Runtime, Version=4.2.2.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a", ".NET assembly version, four parts", "allow"),
    ("ip", "All four octets of 256.256.256.256 are out of range.", "out-of-range octets"),
    ("ip", "Cisco IOS Software, Version 15.2(4)M3", "IOS version"),
    ("ip", "Use the dotted-decimal form a.b.c.d for the gateway.", "a format description"),
    ("ip", "Timestamp 2024:03:15:10:22:01 appears in the EXIF data.", "EXIF date with colons"),
    ("ip", "Aspect ratios supported: 16:9, 4:3 and 21:9.", "ratios"),
    ("ip", "Coordinates 48.8566.2.3522 were concatenated by mistake.", "malformed coordinates"),
    ("ip", "Dewey decimal 641.5945.12 for the Italian cookbook.", "library classification"),
    ("ip", "Firmware 4.19.255.300 is no longer supported.", "version with an out-of-range part"),
    ("ip", "The IPv6 docs use a::b notation to show where zero groups were dropped.", "a notation, not an address"),
    # ---- phone look-alikes
    ("phone", "ISBN <<isbn13>> (paperback, 2nd edition)", "ISBN-13"),
    ("phone", "ISBN-10: 0-19-852663-6 is out of print.", "ISBN-10"),
    ("phone", '{"created_at": <<epoch>>123, "updated_at": null}', "millisecond timestamp"),
    ("phone", "Invoice INV-2024-004417 is due on 1 July.", "invoice number"),
    ("phone", "Order #100-2345-6789 was split into two shipments.", "order number grouped like a phone number"),
    ("phone", "GTIN <<ean13>> (EAN-13 barcode on the box)", "EAN-13 barcode number"),
    ("phone", "Coordinates: +48.8566, +2.3522", "signed coordinates"),
    ("phone", "Total: 1 234 567,89 € (TTC)", "an amount with grouped digits"),
    ("phone", "US Patent 10,234,567 B2 covers the hinge design.", "patent number"),
    ("phone", "See pages 1203-1347 of the proceedings.", "page range"),
    ("phone", "build 20240315.1422.7781 passed all checks", "build number"),
    ("phone", "Request 8812-4410-2291 failed with HTTP 503, retry after 120 s.", "request id in groups"),
    ("phone", "Serial number: SN 4471 2093 8812", "device serial number"),
    ("phone", "Port range 49152-65535 is used for ephemeral ports.", "port range"),
    ("phone", "Revenue grew +12.5% to 3 417 220 units.", "percent change and a unit count"),
    ("phone", "Duration 00:12:34:56 (hh:mm:ss:ff)", "timecode"),
    ("phone", "Case number 2024-CV-01187 was assigned to Judge Patel.", "court case number"),
    ("phone", "Lot 2309-118-4472, best before 2025-03.", "lot number"),
    ("phone", "2024-06-03T09:14:22+02:00 job started", "ISO 8601 timestamp with offset"),
    ("phone", "Kundennummer 40 1188 2231 07 bitte bei Rückfragen angeben.", "customer number grouped like a phone number"),
    ("phone", "Tirage du loto : 07 14 23 38 41, numéro chance 6.", "lottery draw numbers shaped like a French mobile number"),
    ("phone", "Available sizes: 38 40 42 44 46", "clothing sizes"),
    ("phone", "Memory: 16 777 216 bytes free of 33 554 432", "byte counts with thin grouping"),
    ("phone", "Tracking: 1Z 999 AA1 01 2345 6784", "parcel tracking code"),
    ("phone", "Release 2024.06.1 (build +4412) is live.", "release and build number"),
    ("phone", "Mat.-Nr. 0049 3012 99 steht auf dem Typenschild.", "material number starting with 0049"),
    ("phone", "Elevation +1 415 m above sea level at the trailhead.", "an elevation with a plus sign"),
]


# ================================================================ secrets corpus

SECRET_POSITIVES = [
    # ---- openai_key
    "export OPENAI_API_KEY=<<openai:proj>>",
    'from openai import OpenAI\n\nclient = OpenAI(api_key="<<openai:legacy>>")\nresp = client.responses.create(model="gpt-4o-mini", input="ping")',
    "# .env.local\nOPENAI_API_KEY=<<openai:proj>>\nOPENAI_MODEL=gpt-4o\nLOG_LEVEL=debug",
    'curl https://api.openai.com/v1/chat/completions \\\n  -H "Authorization: Bearer <<openai:proj>>" \\\n  -H "Content-Type: application/json" \\\n  -d \'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}\'',
    "Here's my key, can you tell me why every request returns 401? <<openai:legacy>>",
    "DEBUG httpx: POST https://api.openai.com/v1/responses headers={'authorization': 'Bearer <<openai:svcacct>>', 'content-type': 'application/json'}",
    "providers:\n  openai:\n    base_url: https://api.openai.com/v1\n    api_key: <<openai:proj>>\n    timeout_s: 60",
    '{\n  "editor.fontSize": 14,\n  "openai.apiKey": "<<openai:plain>>",\n  "openai.model": "gpt-4o"\n}',
    "docker run --rm -e OPENAI_API_KEY=<<openai:proj>> -p 8080:8080 ghcr.io/acme/chat-ui:latest",
    "jobs:\n  eval:\n    runs-on: ubuntu-latest\n    env:\n      OPENAI_API_KEY: <<openai:svcacct>>\n    steps:\n      - run: python eval.py",
    'import os\nos.environ["OPENAI_API_KEY"] = "<<openai:proj>>"  # TODO move to vault',
    "I found a hard-coded OpenAI key in config.py, line 12: `<<openai:legacy>>`. You should revoke it and read it from the environment instead.",
    'llm = ChatOpenAI(model="gpt-4o", temperature=0, openai_api_key="<<openai:proj>>")',
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: openai-credentials\ntype: Opaque\nstringData:\n  OPENAI_API_KEY: <<openai:proj>>",
    "Voici la clé du compte de test, ne la partage pas : <<openai:plain>>",
    '[openai]\nkey = "<<openai:svcacct>>"\norganization = "ops-team"',
    "const openai = new OpenAI({ apiKey: '<<openai:proj>>', dangerouslyAllowBrowser: true });",
    "  512  OPENAI_API_KEY=<<openai:proj>> python scripts/batch_summarize.py --limit 500",
    "src/settings.py:8:OPENAI_KEY = '<<openai:legacy>>'",
    "Admin key for the usage dashboard (rotate monthly): <<openai:admin>>",
    # ---- anthropic_key
    "export ANTHROPIC_API_KEY=<<anthropic>>",
    'curl https://api.anthropic.com/v1/messages \\\n  -H "x-api-key: <<anthropic>>" \\\n  -H "anthropic-version: 2023-06-01" \\\n  -H "content-type: application/json"',
    'import anthropic\n\nclient = anthropic.Anthropic(api_key="<<anthropic>>")',
    '{\n  "mcpServers": {\n    "research": {\n      "command": "npx",\n      "args": ["-y", "@acme/research-mcp"],\n      "env": {"ANTHROPIC_API_KEY": "<<anthropic>>"}\n    }\n  }\n}',
    "model_list:\n  - model_name: claude-sonnet\n    litellm_params:\n      model: anthropic/claude-3-5-sonnet-20241022\n      api_key: <<anthropic>>",
    '$env:ANTHROPIC_API_KEY = "<<anthropic>>"',
    "set -Ux ANTHROPIC_API_KEY <<anthropic>>",
    "2024-07-09 12:44:10 ERROR client: 401 from api.anthropic.com, key used: <<anthropic>>",
    "Hey, the staging key is <<anthropic>> — please don't commit it this time",
    'variable "anthropic_api_key" {\n  type    = string\n  default = "<<anthropic>>"\n}',
    "services:\n  agent:\n    image: acme/agent:1.8\n    environment:\n      - ANTHROPIC_API_KEY=<<anthropic>>\n      - LOG_LEVEL=info",
    'const client = new Anthropic({ apiKey: "<<anthropic>>" });',
    'std::env::set_var("ANTHROPIC_API_KEY", "<<anthropic>>");',
    "Your message contains what looks like an Anthropic API key (<<anthropic>>). Anyone who sees it can use your account, so please rotate it in the console.",
    'setx ANTHROPIC_API_KEY "<<anthropic>>"',
    "ANTHROPIC_API_KEY=<<anthropic>> npm run eval -- --suite regression",
    '{"provider": "anthropic", "credentials": {"api_key": "<<anthropic>>"}, "default_model": "claude-3-haiku-20240307"}',
    "# secrets.toml\n[anthropic]\napi_key = '<<anthropic>>'",
    "grep -rn sk-ant notebooks/\nnotebooks/eval.ipynb:41:    \"client = Anthropic(api_key='<<anthropic>>')\\n\",",
    # ---- aws_access_key and aws_secret_key together
    "[default]\naws_access_key_id = <<akia>>\naws_secret_access_key = <<awssecret>>\nregion = eu-west-1",
    "export AWS_ACCESS_KEY_ID=<<akia>>\nexport AWS_SECRET_ACCESS_KEY=<<awssecret>>\nexport AWS_DEFAULT_REGION=us-east-1",
    '{\n    "Credentials": {\n        "AccessKeyId": "<<asia>>",\n        "SecretAccessKey": "<<awssecret>>",\n        "SessionToken": "[truncated]",\n        "Expiration": "2024-05-14T18:22:31+00:00"\n    }\n}',
    's3 = boto3.client(\n    "s3",\n    aws_access_key_id="<<akia>>",\n    aws_secret_access_key="<<awssecret>>",\n)',
    'provider "aws" {\n  region     = "eu-central-1"\n  access_key = "<<akia>>"\n  secret_key = "<<awssecret>>"\n}',
    "User name,Password,Access key ID,Secret access key,Console login link\nci-uploader,,<<akia>>,<<awssecret>>,https://123456789012.signin.aws.amazon.com/console",
    "[s3-backup]\ntype = s3\nprovider = AWS\naccess_key_id = <<akia>>\nsecret_access_key = <<awssecret>>\nregion = ap-southeast-2",
    "aws.accessKeyId=<<akia>>\naws.secretKey=<<awssecret>>\naws.region=us-west-2",
    "docker run -e AWS_ACCESS_KEY_ID=<<akia>> -e AWS_SECRET_ACCESS_KEY=<<awssecret>> amazon/aws-cli s3 ls",
    '{"AccessKey": {"UserName": "deploy-bot", "AccessKeyId": "<<akia>>", "Status": "Active", "SecretAccessKey": "<<awssecret>>", "CreateDate": "2024-03-02T09:12:44Z"}}',
    "# ~/.s3cfg (AWS S3)\n[default]\naccess_key = <<akia>>\nsecret_key = <<awssecret>>\nhost_base = s3.amazonaws.com",
    # ---- aws_access_key
    '{"AccessKeyMetadata": [{"UserName": "ci-uploader", "AccessKeyId": "<<akia>>", "Status": "Active", "CreateDate": "2023-10-01T08:00:00Z"}]}',
    '"userIdentity": {"type": "AssumedRole", "accessKeyId": "<<asia>>", "accountId": "123456789012"}',
    "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid. Key id: <<akia>>",
    "IAM user deploy-bot still has key <<akia>> active, last used 3 days ago from eu-west-1.",
    "aws configure set aws_access_key_id <<akia>>",
    "variables:\n  AWS_DEFAULT_REGION: eu-west-1\n  AWS_ACCESS_KEY_ID: <<akia>>",
    "Rotate <<akia>> please, it was pasted into #general by mistake.",
    "Temporary access key <<asia>> (expires 18:22 UTC) was used to call s3:GetObject on the audit bucket.",
    "const s3 = new S3Client({\n  region: 'us-east-1',\n  credentials: { accessKeyId: '<<akia>>', secretAccessKey: process.env.AWS_SECRET },\n});",
    "gitleaks: found AWS access key <<akia>> in commit history of infra/legacy/deploy.sh",
    "La clé d'accès AWS <<akia>> appartient au compte de production.",
    "Authorization: AWS4-HMAC-SHA256 Credential=<<akia>>/20240514/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=<<hexn:64>>",
    # ---- aws_secret_key
    "export AWS_SECRET_ACCESS_KEY=<<awssecret>>",
    "aws configure set aws_secret_access_key <<awssecret>> --profile staging",
    "new AWS.Config({ region: 'eu-west-1', secretAccessKey: '<<awssecret>>' });",
    "AWS secret key for the backup bucket: <<awssecret>>",
    '  "aws_secret_access_key": "<<awssecret>>",',
    "variables:\n  AWS_DEFAULT_REGION: eu-west-1\n  AWS_SECRET_ACCESS_KEY: <<awssecret>>",
    "env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: <<awssecret>>",
    'aws_secret = "<<awssecret>>"  # for the s3 sync job',
    "Der geheime AWS-Schlüssel lautet <<awssecret>>, bitte sofort rotieren.",
    "AWS_SECRET_ACCESS_KEY=<<awssecret>> aws s3 sync ./dist s3://acme-static",
    # ---- github_token
    "git remote set-url origin https://<<gh:ghp>>@github.com/acme/payments.git",
    "export GH_TOKEN=<<gh:ghp>>",
    "//npm.pkg.github.com/:_authToken=<<gh:ghp>>\n@acme:registry=https://npm.pkg.github.com",
    "github.com\n  ✓ Logged in to github.com account octo-dev (keyring)\n  - Active account: true\n  - Git operations protocol: https\n  - Token: <<gh:gho>>",
    'curl -H "Authorization: token <<gh:ghp>>" https://api.github.com/user/repos',
    "https://ci-bot:<<gh:ghp>>@github.com",
    '{"token": "<<gh:ghu>>", "expires_at": "2024-06-01T12:00:00Z", "refresh_token": "<<gh:ghr>>"}',
    "echo <<gh:pat>> | docker login ghcr.io -u octo-dev --password-stdin",
    "github:\n  token: <<gh:pat>>\n  org: acme",
    "2024-05-20T10:11:12.0412Z ##[debug]Using token <<gh:ghs>> for checkout",
    '"hostRules": [{"matchHost": "github.com", "token": "<<gh:ghp>>"}]',
    "github.com:\n- user: octo-dev\n  oauth_token: <<gh:gho>>\n  protocol: https",
    "The installation token <<gh:ghs>> expires in one hour; don't cache it.",
    "I accidentally pushed my token <<gh:ghp>> to a public gist. What should I do first?",
    "GITHUB_TOKEN=<<gh:pat>> goreleaser release --clean",
    'git config --global url."https://<<gh:ghp>>:x-oauth-basic@github.com/".insteadOf "https://github.com/"',
    "[github]\n\tuser = octo-dev\n\ttoken = <<gh:ghp>>",
    "pip install git+https://<<gh:pat>>@github.com/acme/internal-sdk.git@v1.4.0",
    "Token gefunden in build.log: <<gh:ghs>>",
    # ---- gitlab_token
    'curl --header "PRIVATE-TOKEN: <<glpat>>" "https://gitlab.example.com/api/v4/projects?owned=true"',
    "git clone https://oauth2:<<glpat>>@gitlab.com/acme/infra/terraform-modules.git",
    'provider "gitlab" {\n  token    = "<<glpat>>"\n  base_url = "https://gitlab.example.com/api/v4/"\n}',
    "[global]\ndefault = work\n\n[work]\nurl = https://gitlab.example.com\nprivate_token = <<glpat>>\napi_version = 4",
    "export GITLAB_TOKEN=<<glpat>>",
    '{"gitlab": {"url": "https://gitlab.example.com", "token": "<<glpat>>"}}',
    "glab auth login --hostname gitlab.example.com --token <<glpat>>",
    "2024-04-03 09:12:55 WARN sync: GitLab responded 403 for token <<glpat>> (scope read_api missing)",
    "Can you check why my token <<glpat>> can't push to the protected branch?",
    "npm config set -- //gitlab.example.com/api/v4/projects/42/packages/npm/:_authToken=<<glpat>>",
    'env:\n  GITLAB_HOST: gitlab.example.com\n  GITLAB_API_TOKEN: "<<glpat>>"',
    "Il token personale GitLab è <<glpat>>, scade a fine mese.",
    "renovate --platform=gitlab --endpoint=https://gitlab.example.com/api/v4 --token=<<glpat>>",
    "docker login registry.gitlab.com -u ci -p <<glpat>>",
    'gitlab_token = "<<glpat>>"  # used by the release script',
    "The MR bot authenticates with <<glpat>>; it belongs to a service account with maintainer rights.",
    '[[runners]]\n  name = "docker-runner"\n  url = "https://gitlab.example.com"\n  # API token for the cleanup job\n  cleanup_token = "<<glpat>>"',
    "gl = gitlab.Gitlab('https://gitlab.example.com', private_token='<<glpat>>')",
    "GITLAB_PAT=<<glpat>>\nGITLAB_GROUP=platform",
    # ---- slack_token
    "export SLACK_BOT_TOKEN=<<slack:xoxb>>",
    "curl -X POST -H \"Authorization: Bearer <<slack:xoxb>>\" -H 'Content-type: application/json' --data '{\"channel\":\"C024BE91L\",\"text\":\"deploy done\"}' https://slack.com/api/chat.postMessage",
    'from slack_sdk import WebClient\n\nclient = WebClient(token="<<slack:xoxb>>")',
    "SLACK_APP_TOKEN=<<slack:xapp>>\nSLACK_BOT_TOKEN=<<slack:xoxb>>",
    '{"ok": true, "access_token": "<<slack:xoxp>>", "scope": "chat:write,channels:read", "team": {"name": "Acme", "id": "T0ABCD123"}}',
    "slack:\n  bot_token: <<slack:xoxb>>\n  channel: '#alerts-prod'",
    "2024-05-11T07:31:09Z ERROR notifier: slack api error not_in_channel (token=<<slack:xoxb>>)",
    "const app = new App({ token: '<<slack:xoxb>>', signingSecret: process.env.SLACK_SIGNING_SECRET });",
    "Here's the user token from the OAuth page: <<slack:xoxp>> — does it have the right scopes?",
    "docker run -e SLACK_TOKEN=<<slack:xoxb>> acme/standup-bot",
    "appToken: <<slack:xapp>>\nsocketMode: true",
    "Le bot Slack utilise le jeton <<slack:xoxb>>.",
    "receivers:\n  - name: slack\n    slack_configs:\n      - api_url: https://slack.com/api/chat.postMessage\n        http_config:\n          authorization:\n            credentials: <<slack:xoxb>>",
    "SLACK_USER_TOKEN=<<slack:xoxp>> python export_history.py --channel general",
    "Since this morning <<slack:xoxb>> returns invalid_auth, was it revoked?",
    "Slack-Token im Klartext gefunden (config/prod.json): <<slack:xoxb>>",
    '[slack]\nbot_token = "<<slack:xoxb>>"\napp_token = "<<slack:xapp>>"',
    "heroku config:set SLACK_BOT_TOKEN=<<slack:xoxb>> -a standup-bot",
    "The legacy export script still calls the API with <<slack:xoxp>>, which belongs to a former admin.",
    # ---- stripe_key
    'stripe.api_key = "<<stripe:sk_live>>"',
    "STRIPE_SECRET_KEY=<<stripe:sk_live>>\nSTRIPE_WEBHOOK_PATH=/hooks/stripe",
    "curl https://api.stripe.com/v1/charges -u <<stripe:sk_test>>: -d amount=2000 -d currency=usd",
    "const stripe = require('stripe')('<<stripe:sk_test>>');",
    "stripe listen --api-key <<stripe:rk_live>> --forward-to localhost:4242/webhook",
    '{"stripe": {"secret_key": "<<stripe:sk_live>>", "account_country": "IE"}}',
    "Restricted key for the reporting job: <<stripe:rk_live>> (read-only on charges and payouts)",
    "2024-03-18 14:22:09 ERROR billing: Stripe AuthenticationError with key <<stripe:sk_live>>",
    'config :stripity_stripe, api_key: "<<stripe:sk_test>>"',
    "\\Stripe\\Stripe::setApiKey('<<stripe:sk_live>>');",
    'Stripe.apiKey = "<<stripe:rk_test>>";',
    "env:\n  NODE_ENV: test\n  STRIPE_API_KEY: <<stripe:sk_test>>",
    "Oops, I pasted the live key in the channel: <<stripe:sk_live>>. Rolling it now.",
    "Stripe.api_key = ENV.fetch('STRIPE_KEY', '<<stripe:sk_test>>')",
    "La clave secreta de Stripe es <<stripe:sk_live>>, guárdala en el gestor de contraseñas.",
    "payments:\n  provider: stripe\n  restricted_key: <<stripe:rk_live>>",
    'client = StripeClient("<<stripe:sk_live>>")',
    "heroku config:set STRIPE_SECRET_KEY=<<stripe:sk_test>> -a shop-staging",
    "Authorization: Bearer <<stripe:sk_live>>\nStripe-Version: 2024-04-10",
    # ---- google_api_key
    '<script src="https://maps.googleapis.com/maps/api/js?key=<<google>>&callback=initMap" async defer></script>',
    'const firebaseConfig = {\n  apiKey: "<<google>>",\n  authDomain: "acme-web.firebaseapp.com",\n  projectId: "acme-web"\n};',
    "export GOOGLE_API_KEY=<<google>>",
    'curl "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent?key=<<google>>" -H "Content-Type: application/json" -d @req.json',
    "youtube = build('youtube', 'v3', developerKey='<<google>>')",
    '  "api_key": [\n    {\n      "current_key": "<<google>>"\n    }\n  ],',
    "GEMINI_API_KEY=<<google>>",
    "2024-02-14 08:30:12 WARN geocode: REQUEST_DENIED for key <<google>> (API not enabled)",
    '<meta-data android:name="com.google.android.geo.API_KEY" android:value="<<google>>"/>',
    'GMSServices.provideAPIKey("<<google>>")',
    "Mi clave de la API de Google es <<google>>, ¿por qué me devuelve 403?",
    "google:\n  maps_key: <<google>>\n  region: EU",
    "GET https://www.googleapis.com/customsearch/v1?key=<<google>>&cx=d4e1f0a9b7c2&q=weir",
    'genai.configure(api_key="<<google>>")',
    "The Places key <<google>> is unrestricted — anyone can bill our project with it.",
    "GOOGLE_MAPS_API_KEY: '<<google>>'",
    "translate_client = translate.Client(client_options={'api_key': '<<google>>'})",
    'Found in main.3f2a9c.js: const MAPS_KEY="<<google>>";',
    "$ gcloud services api-keys get-key-string projects/acme/locations/global/keys/frontend\nkeyString: <<google>>",
    # ---- jwt
    "Authorization: Bearer <<jwt:RS256:oidc>>",
    "Set-Cookie: session=<<jwt:HS256:user>>; Path=/; HttpOnly; Secure; SameSite=Lax",
    '{"access_token": "<<jwt:RS256:session>>", "token_type": "Bearer", "expires_in": 7200}',
    '{"id_token": "<<jwt:ES256:oidc>>"}',
    "2024-05-30T11:22:33Z DEBUG api: verifying token <<jwt:HS256:user>>",
    "https://app.example.com/invite/accept?t=<<jwt:HS256:session>>",
    "> localStorage.getItem('auth')\n'<<jwt:HS256:user>>'",
    "$ cat /var/run/secrets/kubernetes.io/serviceaccount/token\n<<jwt:RS256:service>>",
    "Can you decode this JWT for me and tell me when it expires? <<jwt:HS256:user>>",
    "SUPABASE_SERVICE_ROLE_KEY=<<jwt:HS256:api>>",
    "curl -H 'Authorization: Bearer <<jwt:ES256:session>>' https://api.example.com/v2/orders",
    "grpc metadata: authorization=Bearer <<jwt:RS256:oidc>>",
    "Cookie: theme=dark; jwt=<<jwt:HS256:user>>; lang=en",
    "wscat -c 'wss://realtime.example.com/socket?vsn=1.0.0&apikey=<<jwt:HS256:api>>'",
    "Le jeton renvoyé par /login est <<jwt:RS256:session>>",
    "kubectl --token=<<jwt:RS256:service>> get pods -n payments",
    'HAR entry: request.headers[3] = {"name": "authorization", "value": "Bearer <<jwt:ES256:oidc>>"}',
    "The token in the failing request was <<jwt:HS256:session>>; its exp claim is in the past, which explains the 401.",
    "auth:\n  token: <<jwt:RS256:session>>\n  refresh_before_s: 60",
    # ---- pem_private_key
    "$ cat ~/.ssh/id_rsa\n<<pem:rsa:2048>>",
    "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: web-tls\nstringData:\n  tls.key: |\n    <<pem:pkcs8:2048:i4>>",
    ('{\n  "type": "service_account",\n  "project_id": "acme-analytics",\n  "private_key_id": "<<hexn:40>>",\n  "private_key": "<<pem:pkcs8:2048:esc>>",\n  "client_email": "etl-runner@acme-analytics.iam.gserviceaccount.com",\n  "client_id": "<<rnd:dig:21>>"\n}',
     "PEM inside a JSON string: its line breaks are written as \\n"),
    "Here is my private key, why does ssh say 'invalid format'?\n\n<<pem:openssh>>",
    "# /etc/nginx/certs/shop.pem (certificate followed by its key)\n<<certpem>>\n<<pem:rsa:2048>>",
    'variable "ssh_private_key" {\n  default = <<EOT\n<<pem:ec>>\nEOT\n}',
    'JWT_PRIVATE_KEY="<<pem:ec>>"\nJWT_ISSUER=https://auth.example.com',
    'PRIVATE_KEY = """<<pem:ed25519>>"""\n\n\ndef sign(payload: bytes) -> bytes:\n    ...',
    "Generated deploy key; contents of deploy_key:\n<<pem:openssh>>",
    'read_file("/home/app/.config/signing/key.pem") returned:\n<<pem:pkcs8:2048>>',
    "- name: install TLS key\n  copy:\n    dest: /etc/ssl/private/app.key\n    mode: '0600'\n    content: |\n      <<pem:rsa:2048:i6>>",
    "Please check whether this key matches the certificate on the load balancer:\n<<pem:ec>>",
    "Encrypted key from the HSM export (the passphrase is in the team vault):\n<<pem:encrypted>>",
    "$ vault kv get -field=private_key secret/ci/signing\n<<pem:rsa:4096>>",
    'Step 7/12 : RUN echo "$SSH_KEY" > /root/.ssh/id_ed25519 && cat /root/.ssh/id_ed25519\n ---> Running in 3f1c2b7a9d0e\n<<pem:openssh>>',
    ('{"name": "release-bot", "app_id": 318842, "private_key": "<<pem:rsa:2048:esc>>"}',
     "PEM inside a JSON string: its line breaks are written as \\n"),
    "key.pem:\n<<pem:ed25519>>\n\ncert.pem: see attachment",
    "ssl_certificate_key /etc/nginx/keys/shop.key;\n\n$ cat /etc/nginx/keys/shop.key\n<<pem:pkcs8:2048>>",
    "Accidentally committed in config/jwt.key:\n<<pem:rsa:1024>>",
    "Voici la clé privée du serveur de test :\n<<pem:ec>>",
    # ---- generic_secret
    "DB_PASSWORD=<<gen:pw>>",
    "DATABASE_URL=postgres://app:<<gen:pwurl>>@db.internal:5432/orders",
    '{"client_id": "web-portal", "client_secret": "<<gen:urlsafe>>", "redirect_uris": ["https://portal.example.com/callback"]}',
    "partner_api_key=<<gen:hex32>>",
    "webhook:\n  url: https://hooks.example.com/deploy\n  token: <<gen:alnum>>",
    "SECRET_KEY = '<<gen:django>>'",
    "REDIS_URL=redis://:<<gen:pwurl>>@cache.internal:6379/0",
    "mongodb+srv://reporting:<<gen:pwurl>>@cluster0.example.net/analytics?retryWrites=true",
    "spring.datasource.password=<<gen:pw>>",
    "curl -H 'x-api-key: <<gen:hex40>>' https://api.partner.example/v1/quotes",
    "SMTP_PASSWORD=<<gen:pw>>",
    "GET /v1/me HTTP/1.1\nHost: api.example.com\nAuthorization: Bearer <<gen:urlsafe>>",
    "database:\n  host: db.internal\n  user: billing\n  password: <<gen:pw>>",
    '{"url": "https://hooks.example.com/ingest", "secret": "<<gen:b64>>", "events": ["order.created"]}',
    "docker login -u deploy -p <<gen:pw>> registry.example.com",
    "mysql -u root -p'<<gen:pw>>' -h 127.0.0.1 shop",
    "Das Passwort für den Testserver lautet: <<gen:pw>>",
    'encryption_key = "<<gen:hex64>>"',
    "JWT_SECRET=<<gen:b64>>",
    '<add key="ApiSecret" value="<<gen:alnum>>" />',
    "La contraseña del wifi de la oficina es <<gen:pw>>",
    "https://api.example.com/v1/report?auth_token=<<gen:hex32>>&format=json",
    "TWILIO_AUTH_TOKEN=<<gen:hex32>>",
    "db.internal:5432:orders:app:<<gen:pw>>",
    # ---- several types in one text
    "# .env\nOPENAI_API_KEY=<<openai:proj>>\nANTHROPIC_API_KEY=<<anthropic>>\nSTRIPE_SECRET_KEY=<<stripe:sk_live>>\nDATABASE_PASSWORD=<<gen:pw>>",
    "services:\n  bot:\n    environment:\n      GITHUB_TOKEN: <<gh:pat>>\n      SLACK_BOT_TOKEN: <<slack:xoxb>>",
    "+ export AWS_ACCESS_KEY_ID=<<akia>>\n+ export GITHUB_TOKEN=<<gh:ghs>>\n+ ./deploy.sh production",
    '{"maps": {"key": "<<google>>"}, "auth": {"service_token": "<<jwt:HS256:api>>"}}',
    "I rotated everything that was in the leaked notebook: the OpenAI key <<openai:legacy>>, the GitLab token <<glpat>> and the Slack bot token <<slack:xoxb>>.",
    "stringData:\n  AWS_ACCESS_KEY_ID: <<akia>>\n  AWS_SECRET_ACCESS_KEY: <<awssecret>>\n  REDIS_PASSWORD: <<gen:pw>>",
    "secret scan report:\n- config/prod.yaml:12 stripe <<stripe:rk_live>>\n- scripts/sync.sh:3 github <<gh:pat>>\n- .env:7 anthropic <<anthropic>>",
    'gitlab_token     = "<<glpat>>"\nslack_bot_token  = "<<slack:xoxb>>"\ngoogle_maps_key  = "<<google>>"',
    "ssh key and AWS secret from the old bastion:\n<<pem:ec>>\nAWS_SECRET_ACCESS_KEY=<<awssecret>>",
    "env:\n  OPENAI_API_KEY: <<openai:svcacct>>\n  GOOGLE_API_KEY: <<google>>\n  SENTRY_AUTH_TOKEN: <<gen:hex64>>",
    '{"servers": {"github": {"env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "<<gh:ghp>>"}}, "gitlab": {"env": {"GITLAB_PERSONAL_ACCESS_TOKEN": "<<glpat>>"}}}}',
    "  1041  curl -u <<stripe:sk_test>>: https://api.stripe.com/v1/customers\n  1042  psql \"postgresql://admin:<<gen:pwurl>>@10.0.4.12/shop\"",
]

SECRET_NEGATIVES = [
    # ---- openai look-alikes
    ("openai_key", "export OPENAI_API_KEY=sk-...", "truncated placeholder"),
    ("openai_key", 'client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])', "key read from the environment, no value"),
    ("openai_key", "OPENAI_API_KEY=sk-your-key-here", "placeholder"),
    ("openai_key", "OpenAI keys look like sk-proj- followed by a long random string; never commit them.", "prose about the format"),
    ("openai_key", "Error code: 401 - Incorrect API key provided: sk-proj-********************************************Xy3q. You can find your API key at https://platform.openai.com/account/api-keys.", "masked key in an error message"),
    ("openai_key", "OPENAI_API_KEY=${OPENAI_API_KEY}", "variable reference"),
    ("openai_key", "python chat.py --api-key $OPENAI_API_KEY --model gpt-4o", "variable reference"),
    ("openai_key", 'api_key: "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"', "low-entropy placeholder", "allow"),
    ("openai_key", "pod task-runner-7f9c8d6b5-x2kqj restarted 3 times (OOMKilled)", "pod name that contains 'sk-'"),
    ("openai_key", "The risk-adjusted return improved; see the desk-level breakdown in tab 3.", "words that contain 'sk-'"),
    ("openai_key", "pip install scikit-learn  # imported as sklearn", "package name"),
    ("openai_key", "project: proj_<<rnd:b62:24>>, organization: org-<<rnd:b62:24>>", "project and organization ids, not keys"),
    ("openai_key", '"id": "chatcmpl-<<rnd:b62:29>>", "object": "chat.completion"', "completion id"),
    ("openai_key", "Set the key first, e.g. `export OPENAI_API_KEY=sk-abc123`.", "short documentation placeholder"),
    ("openai_key", 'OPENAI_API_KEY=""  # set me', "empty value"),
    ("openai_key", "key = getpass('OpenAI key (sk-...): ')", "prompt text"),
    ("openai_key", "ERROR: OPENAI_API_KEY is not set. Create one at https://platform.openai.com/api-keys and export it.", "error message without a key"),
    ("openai_key", "The key in the README, sk-proj-EXAMPLEKEYDONOTUSE, is only an example.", "documentation example that says it is one", "allow"),
    ("openai_key", '{"id": "file-<<rnd:b62:24>>", "purpose": "batch", "bytes": 120944}', "file id"),
    ("openai_key", "Usage this month: 1,204,332 prompt tokens and 388,120 completion tokens.", "token counts"),
    # ---- anthropic look-alikes
    ("anthropic_key", "ANTHROPIC_API_KEY=sk-ant-...", "truncated placeholder"),
    ("anthropic_key", "ANTHROPIC_API_KEY=<your key>", "placeholder"),
    ("anthropic_key", 'curl https://api.anthropic.com/v1/messages -H "x-api-key: $ANTHROPIC_API_KEY"', "variable reference"),
    ("anthropic_key", "Anthropic keys start with sk-ant-api03- and are a bit over a hundred characters long.", "prose about the format"),
    ("anthropic_key", '{"id": "msg_01<<rnd:b62:22>>", "type": "message", "role": "assistant"}', "message id"),
    ("anthropic_key", '{"type": "tool_use", "id": "toolu_01<<rnd:b62:22>>", "name": "get_weather"}', "tool use id"),
    ("anthropic_key", "request-id: req_011C<<rnd:b62:20>>", "request id"),
    ("anthropic_key", "model: claude-3-5-sonnet-20241022\nanthropic-version: 2023-06-01", "model name and API version"),
    ("anthropic_key", "Key sk-ant-api03-****************************************Qw8A was disabled.", "masked key"),
    ("anthropic_key", "ANTHROPIC_API_KEY=sk-ant-api03-REDACTED", "redacted value"),
    ("anthropic_key", '"stop_reason": "end_turn", "usage": {"input_tokens": 2095, "output_tokens": 503}', "token counts"),
    ("anthropic_key", "api_key = os.getenv('ANTHROPIC_API_KEY')", "key read from the environment"),
    ("anthropic_key", '{"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}', "error without a key"),
    ("anthropic_key", "Batch msgbatch_01<<rnd:b62:22>> finished: 500 succeeded, 0 errored.", "batch id"),
    ("anthropic_key", "anthropic_api_key: \"{{ vault('secret/anthropic') }}\"", "template reference"),
    # ---- aws look-alikes
    ("aws_access_key", "The AWS documentation uses AKIAIOSFODNN7EXAMPLE as an example access key ID.", "documentation example that says it is one", "allow"),
    ("aws_secret_key", "Example from the AWS CLI user guide:\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "documentation examples that say they are examples", "allow"),
    ("aws_access_key", "aws_access_key_id = <YOUR_ACCESS_KEY_ID>\naws_secret_access_key = <YOUR_SECRET_ACCESS_KEY>", "placeholders"),
    ("aws_secret_key", "export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:?missing}", "variable reference"),
    ("aws_access_key", '{"UserName": "ci-uploader", "UserId": "AIDA<<rnd:b32:16>>", "Arn": "arn:aws:iam::123456789012:user/ci-uploader"}', "IAM user id (AIDA…), not a credential"),
    ("aws_access_key", '"RoleId": "AROA<<rnd:b32:16>>", "RoleName": "ci-deployer"', "IAM role id (AROA…), not a credential"),
    ("aws_access_key", "arn:aws:iam::123456789012:role/ci-deployer", "role ARN"),
    ("aws_access_key", "Key AKIA**************** was deactivated on 2024-04-02.", "masked access key"),
    ("aws_access_key", "AKIA followed by 16 characters is the shape of a long-term access key id.", "prose about the format"),
    ("aws_secret_key", 'aws s3api head-object --bucket acme-logs --key 2024/05/app.log\n{"ETag": "\\"<<hexn:32>>\\"", "ContentLength": 88211}', "S3 ETag next to an AWS context"),
    ("aws_secret_key", "x-amz-request-id: <<rnd:b32:16>>\nx-amz-id-2: <<b64bytes:57>>", "AWS request ids"),
    ("aws_secret_key", '"VersionId": "<<rnd:url:32>>", "IsLatest": true', "S3 object version id"),
    ("aws_access_key", "instance i-0<<hexn:16>> in subnet-0<<hexn:17>> is unhealthy", "EC2 and subnet ids"),
    ("aws_secret_key", "aws kms describe-key --key-id <<uuid>>", "KMS key id"),
    ("aws_secret_key", "aws_secret_access_key=", "empty value"),
    ("aws_secret_key", "Secret access key: •••••••••••••••••••• (Show)", "masked in the console"),
    ("aws_secret_key", "env:\n  AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}", "CI secret reference"),
    ("aws_access_key", '{"UserId": "AROA<<rnd:b32:16>>:dana", "Account": "123456789012", "Arn": "arn:aws:sts::123456789012:assumed-role/dev/dana"}', "caller identity: role id and ARN, no credential"),
    ("aws_access_key", "CloudFront distribution E2QWRUHAPOMQZL, invalidation I2J0I21PCUYOIK completed.", "CloudFront ids"),
    ("aws_secret_key", "aws-infra repo: commit <<sha1>> Merge branch 'rotate-keys'", "a git commit SHA next to an AWS context", "allow"),
    ("aws_access_key", "In this test the id is cut short on purpose: AKIA2OGYBAH6.", "too short for an access key id"),
    ("aws_secret_key", "$ aws configure list\n      Name                    Value             Type    Location\n   access_key     ****************QX7A shared-credentials-file\n   secret_key     ****************9dKe shared-credentials-file", "masked values"),
    ("aws_secret_key", "SigV4 signature in the failing request: Signature=<<hexn:64>>", "request signature, not a key"),
    ("aws_access_key", "ami-0<<hexn:16>> (Amazon Linux 2023) in eu-west-1", "AMI id"),
    # ---- github look-alikes
    ("github_token", "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "low-entropy placeholder", "allow"),
    ("github_token", "- uses: actions/checkout@v4\n  with:\n    token: ${{ secrets.GITHUB_TOKEN }}", "CI secret reference"),
    ("github_token", "env:\n  GH_TOKEN: ${{ github.token }}", "CI expression"),
    ("github_token", "Personal access tokens start with ghp_, OAuth tokens with gho_, and fine-grained ones with github_pat_.", "prose about the format"),
    ("github_token", "GITHUB_TOKEN=github_pat_<redacted>", "redacted value"),
    ("github_token", "commit <<sha1>>\nMerge: <<hexn:7>> <<hexn:7>>\n\n    Merge pull request #4412 from acme/fix-token-refresh", "git commit SHA"),
    ("github_token", "  - Token: gho_************************************", "masked token"),
    ("github_token", '{"login": "octo-dev", "id": <<rnd:dig:7>>, "node_id": "<<ghnode>>", "type": "User"}', "GraphQL node id: base64 of ordinary text"),
    ("github_token", "ghcr.io/acme/api:sha-<<hexn:7>>", "image tag with a short SHA"),
    ("github_token", "https://github.com/acme/payments/pull/4412#issuecomment-<<rnd:dig:10>>", "URL with numeric ids"),
    ("github_token", "gh auth token | wc -c  # prints the length only, never the token", "command without a token"),
    ("github_token", 'GITHUB_TOKEN=""', "empty value"),
    ("github_token", "github_pat_11ABCDEFG0_xxxxxxxx", "short placeholder"),
    ("github_token", "The last six characters of a ghp_ token are a checksum, which lets scanners validate it offline.", "prose about the format"),
    ("github_token", "git@github.com:acme/ghp_tools.git", "repository whose name starts with ghp_"),
    ("github_token", "docker pull ghcr.io/acme/worker@sha256:<<hexn:64>>", "image digest"),
    ("github_token", "ghs_ tokens expire after one hour, so caching them is pointless.", "prose about the format"),
    ("github_token", "Run id <<rnd:dig:10>>, attempt 2, workflow ci.yml, head_sha <<sha1>>", "workflow run metadata"),
    # ---- gitlab look-alikes
    ("gitlab_token", "GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx", "low-entropy placeholder", "allow"),
    ("gitlab_token", 'curl --header "PRIVATE-TOKEN: $GITLAB_TOKEN" https://gitlab.example.com/api/v4/user', "variable reference"),
    ("gitlab_token", "CI_JOB_TOKEN is injected by the runner; use it instead of a personal token.", "prose"),
    ("gitlab_token", "export GITLAB_TOKEN=glpat-<your-token>", "placeholder"),
    ("gitlab_token", "git clone https://gitlab-ci-token:${CI_JOB_TOKEN}@gitlab.example.com/acme/app.git", "variable reference"),
    ("gitlab_token", "Pipeline #1184432 passed for commit <<hexn:8>> on main.", "pipeline id and short SHA"),
    ("gitlab_token", "GitLab personal access tokens have carried the prefix glpat- since version 14.5.", "prose about the format"),
    ("gitlab_token", "$ echo $GITLAB_TOKEN\n[MASKED]", "masked by the CI"),
    ("gitlab_token", "token glpat-****************Xq2 expires in 7 days", "masked token"),
    ("gitlab_token", "export GITLAB_TOKEN=$(vault kv get -field=token secret/gitlab)", "command substitution"),
    ("gitlab_token", '{"iid": 88, "project_id": 42, "sha": "<<sha1>>", "state": "merged"}', "merge request metadata with a commit SHA"),
    # ---- slack look-alikes
    ("slack_token", "SLACK_BOT_TOKEN=xoxb-your-bot-token", "placeholder"),
    ("slack_token", "token: xoxb-***********", "masked token"),
    ("slack_token", "SLACK_BOT_TOKEN=${SLACK_BOT_TOKEN}", "variable reference"),
    ("slack_token", '{"channel": "C04QJ2K7ZTR", "user": "U01AB2CD3EF", "team": "T0123ABCD"}', "Slack channel, user and team ids"),
    ("slack_token", '"ts": "1712345678.123459", "thread_ts": "1712345600.000200"', "message timestamps"),
    ("slack_token", "Bot tokens begin with xoxb-, user tokens with xoxp- and app-level tokens with xapp-.", "prose about the format"),
    ("slack_token", "The tutorial uses xoxb-123-456-abc as its example token.", "documentation example that says it is one"),
    ("slack_token", "slack_signing_secret: {{ slack_signing_secret }}", "template reference"),
    ("slack_token", "Slack app id A07ABCDE12F, bot user id B05XYZ12345", "app and bot ids"),
    ("slack_token", '{"ok": false, "error": "invalid_auth"}', "error without a token"),
    ("slack_token", "Posted to #alerts-prod: 'token refresh job finished in 3.2s'", "prose with the word token"),
    ("slack_token", "The app-level token (xapp-1-…) is created under Basic Information.", "prose about the format"),
    ("slack_token", "refresh_token: xoxe-1-<redacted>", "redacted value"),
    # ---- stripe look-alikes
    ("stripe_key", "const stripe = Stripe('pk_live_<<rnd:b62:24>>');", "publishable key, which Stripe means to be shipped to browsers; not a secret key"),
    ("stripe_key", "STRIPE_PUBLISHABLE_KEY=pk_test_<<rnd:b62:24>>", "publishable test key, public by design"),
    ("stripe_key", "STRIPE_SECRET_KEY=sk_live_...", "truncated placeholder"),
    ("stripe_key", "STRIPE_SECRET_KEY=sk_test_YOUR_SECRET_KEY", "placeholder"),
    ("stripe_key", "stripe_key: sk_live_<redacted>", "redacted value"),
    ("stripe_key", "Customer cus_<<rnd:b62:14>> paid invoice in_<<rnd:b62:24>>.", "Stripe object ids"),
    ("stripe_key", "PaymentIntent pi_<<rnd:b62:24>> succeeded, charge ch_<<rnd:b62:24>>", "Stripe object ids"),
    ("stripe_key", '{"id": "evt_<<rnd:b62:24>>", "type": "invoice.paid", "livemode": true}', "event id"),
    ("stripe_key", "price_<<rnd:b62:24>> (monthly, EUR 29)", "price id"),
    ("stripe_key", "Transfer to connected account acct_<<rnd:b62:16>> queued.", "account id"),
    ("stripe_key", "STRIPE_SECRET_KEY=${STRIPE_SECRET_KEY}", "variable reference"),
    ("stripe_key", "Use test keys (sk_test_…) in development and live keys (sk_live_…) only in production.", "prose about the format"),
    ("stripe_key", "Stripe-Signature: t=<<epoch>>,v1=<<hexn:64>>", "webhook signature header, not a key"),
    # ---- google look-alikes
    ("google_api_key", "GOOGLE_API_KEY=AIzaSy...", "truncated placeholder"),
    ("google_api_key", '<script src="https://maps.googleapis.com/maps/api/js?key=YOUR_API_KEY"></script>', "placeholder"),
    ("google_api_key", "const firebaseConfig = { apiKey: process.env.FIREBASE_API_KEY, projectId: 'acme-web' };", "variable reference"),
    ("google_api_key", "client_id: <<rnd:dig:12>>-<<rnd:lowernum:32>>.apps.googleusercontent.com", "OAuth client id, public"),
    ("google_api_key", '{"place_id": "ChIJ<<rnd:url:23>>", "name": "Central Station"}', "Google Maps place id"),
    ("google_api_key", "gtag('config', 'G-8RZ2XQ41LM');", "analytics measurement id"),
    ("google_api_key", "Google API keys start with AIza and are 39 characters long.", "prose about the format"),
    ("google_api_key", "key AIzaSy*******************************Qk restricted to HTTP referrers", "masked key"),
    ("google_api_key", "projects/acme-web/locations/global/keys/<<uuid>>", "key resource name, not the key string"),
    ("google_api_key", 'maps_key: "{{ env "MAPS_KEY" }}"', "template reference"),
    ("google_api_key", '<ins class="adsbygoogle" data-ad-client="ca-pub-<<rnd:dig:16>>"></ins>', "AdSense publisher id"),
    ("google_api_key", "The key was cut off in the screenshot: AIzaSyC8kq2", "too short for a key"),
    # ---- jwt look-alikes
    ("jwt", "header only: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "a JWT header on its own"),
    ("jwt", "Authorization: Bearer <token>", "placeholder"),
    ("jwt", "Authorization: Bearer $ACCESS_TOKEN", "variable reference"),
    ("jwt", '{"data": [], "next_cursor": "<<cursor>>"}', "pagination cursor: base64 of a small JSON object, one part"),
    ("jwt", "resource name: <<nonjwt>>", "three dotted base64url parts whose header is not JSON"),
    ("jwt", "The sample token on jwt.io is an example: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "documentation example that says it is one", "allow"),
    ("jwt", "token=eyJhbGciOi...<truncated>", "truncated token"),
    ("jwt", "A JWT has three parts, header.payload.signature, each base64url-encoded.", "prose about the format"),
    ("jwt", "java.version=17.0.9 os.arch=amd64 app.build=2024.06.1", "dotted properties"),
    ("jwt", "at com.example.payments.api.OrderService.submit(OrderService.java:118)", "dotted class name in a stack trace"),
    ("jwt", "Set-Cookie: session=; Max-Age=0; Path=/", "cleared cookie"),
    ("jwt", "https://auth.example.com/callback?state=<<uuid>>&nonce=<<hexn:16>>", "OAuth state and nonce"),
    ("jwt", 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="The access token expired"', "error header without a token"),
    ("jwt", "eyJ is what '{\"' looks like in base64, which is why JWTs start with it.", "prose about the format"),
    ("jwt", "version 3.2.1.<<hexn:7>> built from branch main", "dotted version with a short SHA"),
    # ---- pem look-alikes
    ("pem_private_key", "Public key for verifying webhook signatures:\n<<pubpem>>", "public key block"),
    ("pem_private_key", "<<certpem>>", "certificate block"),
    ("pem_private_key", "authorized_keys:\n<<sshpub>>", "SSH public key"),
    ("pem_private_key", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", "placeholder block without key material"),
    ("pem_private_key", "SSH_KEY: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  <paste your key here>\n  -----END OPENSSH PRIVATE KEY-----", "placeholder block"),
    ("pem_private_key", "The file must start with -----BEGIN PRIVATE KEY----- and end with -----END PRIVATE KEY-----.", "prose about the format"),
    ("pem_private_key", "if line.startswith('-----BEGIN') and 'PRIVATE KEY' in line:\n    raise ValueError('refusing to log a private key')", "code that looks for key headers"),
    ("pem_private_key", "<<csrpem>>", "certificate signing request"),
    ("pem_private_key", "private_key: |\n  -----BEGIN PRIVATE KEY-----\n  [REDACTED 1704 bytes]\n  -----END PRIVATE KEY-----", "redacted block"),
    ("pem_private_key", "private_key_path: ~/.ssh/id_ed25519", "a path to a key"),
    ("pem_private_key", 'ssh-keygen -t ed25519 -C "deploy@ci" -f ~/.ssh/deploy_key -N ""', "key generation command"),
    ("pem_private_key", "openssl genpkey -algorithm RSA -out key.pem -pkeyopt rsa_keygen_bits:2048", "key generation command"),
    ("pem_private_key", "Error: error:1E08010C:DECODER routines::unsupported (is key.pem really a PRIVATE KEY file?)", "error message"),
    ("pem_private_key", "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----", "curve parameters, public"),
    ("pem_private_key", "<<dhpem>>", "Diffie-Hellman parameters, public"),
    ("pem_private_key", "<<pgppub>>", "PGP public key block"),
    # ---- generic look-alikes: placeholders and low-entropy values
    ("generic_secret", "password=changeme", "placeholder password"),
    ("generic_secret", "api_key=<your-key-here>", "placeholder"),
    ("generic_secret", "token: ${TOKEN}", "variable reference"),
    ("generic_secret", 'database:\n  user: app\n  password: ""', "empty value"),
    ("generic_secret", "secret: null", "null value"),
    ("generic_secret", "DB_PASSWORD=postgres", "default password of a local container"),
    ("generic_secret", "api_key=test", "low-entropy value"),
    ("generic_secret", "api_key=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "low-entropy placeholder"),
    ("generic_secret", "token=REDACTED", "redacted value"),
    ("generic_secret", "secret: '********'", "masked value"),
    ("generic_secret", "password: {{ .Values.db.password }}", "Helm template reference"),
    ("generic_secret", "secret_key_base: <%= ENV['SECRET_KEY_BASE'] %>", "ERB template reference"),
    ("generic_secret", "client_secret: {{ vault_client_secret }}", "Ansible variable reference"),
    ("generic_secret", "password_file: /run/secrets/db_password", "path to a secret"),
    ("generic_secret", "secret_ref: projects/acme/secrets/db-password/versions/latest", "reference to a secret manager entry"),
    ("generic_secret", "PASSWORD=password123", "low-entropy dictionary password in a sample config"),
    ("generic_secret", "admin_password: admin", "default password"),
    ("generic_secret", "api_key: YOUR_API_KEY_HERE", "placeholder"),
    ("generic_secret", "token: TODO", "placeholder"),
    ("generic_secret", '{"apiKey": "", "region": "eu"}', "empty value"),
    ("generic_secret", "password = getpass.getpass('Password: ')", "password read at run time"),
    ("generic_secret", "API_TOKEN: ${{ secrets.API_TOKEN }}", "CI secret reference"),
    ("generic_secret", "export DB_PASSWORD=$(cat /run/secrets/db)", "command substitution"),
    ("generic_secret", "secret=abc123", "low-entropy value"),
    ("generic_secret", "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  <<hexn:64>>\n  <<hexn:64>>", "Ansible Vault ciphertext, encrypted"),
    ("generic_secret", "password: <password>", "placeholder in angle brackets"),
    ("generic_secret", "token: 1234567890", "sequential digits"),
    ("generic_secret", "api_key: [hidden]", "hidden value"),
    # ---- generic look-alikes: the words in prose and settings
    ("generic_secret", "The secret to a good sourdough is patience and a warm kitchen.", "the word secret in prose"),
    ("generic_secret", "Each token costs about $0.002 per thousand at the current price.", "the word token in prose"),
    ("generic_secret", "Tokenization splits text into tokens; a token is roughly four characters of English.", "the word token in prose"),
    ("generic_secret", "Never share your password with anyone, including support staff.", "the word password in prose"),
    ("generic_secret", "We rotated the API keys last quarter, as the policy requires.", "the words API keys in prose"),
    ("generic_secret", "Store secrets in a vault, not in environment files checked into git.", "the word secrets in prose"),
    ("generic_secret", "max_tokens: 4096\ntemperature: 0.2", "a token limit"),
    ("generic_secret", "tokens used: 1,532 (prompt 1,204, completion 328)", "token counts"),
    ("generic_secret", "password_min_length = 12\npassword_require_symbol = true", "password policy settings"),
    ("generic_secret", "PASSWORD_HASHERS = ['django.contrib.auth.hashers.Argon2PasswordHasher']", "settings name"),
    ("generic_secret", "Forgot your password? Click here to reset it.", "the word password in prose"),
    ("generic_secret", "El secreto está en la masa: reposo de 24 horas.", "the word secret in prose (Spanish)"),
    ("generic_secret", "Das Passwort muss mindestens 12 Zeichen lang sein.", "the word password in prose (German)"),
    ("generic_secret", "Le mot de passe a expiré, merci d'en choisir un nouveau.", "the word password in prose (French)"),
    ("generic_secret", "token_type: Bearer\nexpires_in: 3600", "token metadata without a token"),
    ("generic_secret", "The keyword 'secret' appears 14 times in the codebase, mostly in test names.", "the word secret in prose"),
    ("generic_secret", "Secret Santa draw is on Friday, budget 20 euros!", "the word secret in prose"),
    ("generic_secret", "auth: token-based (see RFC 6750)", "the word token in a setting"),
    ("generic_secret", "token_url: https://auth.example.com/oauth/token", "an endpoint URL"),
    ("generic_secret", "envFrom:\n  - secretRef:\n      name: db-credentials", "Kubernetes secret reference"),
    ("generic_secret", "passwordless: true\npassword_changed_at: 2024-03-11T09:00:00Z", "password settings without a password"),
    ("generic_secret", "cache:\n  key: ${CI_COMMIT_REF_SLUG}\n  paths: [node_modules/]", "cache key expression"),
    ("generic_secret", "PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES users(id)", "database keys"),
    ("generic_secret", "The model refused to print the secret, as it should.", "the word secret in prose"),
    # ---- generic look-alikes: ids, hashes, digests, base64 of text
    ("generic_secret", "request_id: <<uuid>>", "UUID"),
    ("generic_secret", "commit <<sha1>> (HEAD -> main, origin/main)", "git commit SHA"),
    ("generic_secret", "$ git rev-parse HEAD\n<<sha1>>", "git commit SHA"),
    ("generic_secret", "$ sha256sum dist/app.tar.gz\n<<hexn:64>>  dist/app.tar.gz", "file checksum"),
    ("generic_secret", '"integrity": "sha512-<<b64bytes:64>>"', "npm lockfile integrity hash"),
    ("generic_secret", "image: registry.example.com/api@sha256:<<hexn:64>>", "image digest"),
    ("generic_secret", "traceparent: 00-<<hexn:32>>-<<hexn:16>>-01", "W3C trace context"),
    ("generic_secret", 'ETag: W/"<<hexn:8>>-<<hexn:4>>"', "HTTP ETag"),
    ("generic_secret", '<script nonce="<<b64bytes:16>>">', "CSP nonce, not a secret"),
    ("generic_secret", "correlation_id=<<uuid>> user_id=4412 status=200", "UUID"),
    ("generic_secret", "Content-MD5: <<b64bytes:16>>", "content checksum"),
    ("generic_secret", "md5(file) = <<hexn:32>>", "file checksum"),
    ("generic_secret", "db.orders.find({_id: ObjectId('<<hexn:24>>')})", "MongoDB ObjectId"),
    ("generic_secret", '{"trace_id": "<<hexn:32>>", "span_id": "<<hexn:16>>"}', "trace ids"),
    ("generic_secret", "Idempotency-Key: <<uuid>>", "UUID"),
    ("generic_secret", "Build <<sha1>> deployed to prod at 14:02.", "git commit SHA"),
    ("generic_secret", "restored cache deps-<<hexn:64>>", "cache key hash"),
    ("generic_secret", "Good signature from release bot, key fingerprint <<fpr>>", "public key fingerprint"),
    ("generic_secret", "ED25519 key fingerprint is SHA256:<<b64bytes_np:32>>.", "SSH host key fingerprint"),
    ("generic_secret", "pinned to ipfs://bafybei<<rnd:b32low:52>>", "IPFS content id"),
    ("generic_secret", "data: <<b64text>>", "base64 of ordinary text"),
    ("generic_secret", "Content-Transfer-Encoding: base64\n\n<<b64text>>", "base64 of ordinary text"),
    ("generic_secret", "echo <<b64text>> | base64 -d", "base64 of ordinary text"),
    ("generic_secret", '{"payload": "<<b64text>>", "encoding": "base64"}', "base64 of ordinary text"),
    ("generic_secret", "label: <<b64text>>", "base64 of ordinary text"),
    ("generic_secret", "sha256 of the empty string: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "a well-known hash"),
    ("generic_secret", "uuid_generate_v4() returned <<uuid>>", "UUID"),
    ("generic_secret", "version: 1.4.0-rc.2+build.7781", "version string"),
    ("generic_secret", "color: #3fa9f5; background: #1c1c1c;", "CSS colours"),
    ("generic_secret", "session cookie name: __Host-sid (HttpOnly, Secure)", "cookie name, no value"),
    ("generic_secret", "Checksum mismatch: expected <<hexn:40>>, got <<hexn:40>>", "checksums"),
    ("generic_secret", "tx hash 0x<<hexn:64>> confirmed in block 19283311", "transaction hash, public"),
    ("generic_secret", "password: ${DB_PASSWORD:-}", "variable reference with an empty default"),
    ("generic_secret", "JWT_SECRET_FILE=/etc/app/jwt.key", "path to a secret"),
    ("aws_secret_key", "AWS_SECRET_ACCESS_KEY=your-secret-access-key", "placeholder"),
    ("google_api_key", "Restrict your key: APIs & Services → Credentials → API keys → Application restrictions.", "instructions without a key"),
]


# ================================================================ fillers that are not expected values

ALPHABETS = {"hex": HEX, "b62": ALNUM, "b32": BASE32, "url": URLSAFE, "b64": B64, "dig": DIGITS,
             "lowernum": LOWER + DIGITS, "b32low": LOWER + "234567"}
PLAIN_TEXTS = ["Meeting moved to Thursday at 3pm, same room as last week.", "The quick brown fox jumps over the lazy dog",
               "Quarterly report attached, please review it by Friday.", "user preferences: dark mode, compact layout",
               "Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "hello world, this is a plain test message",
               "Remember to water the plants while I'm away.", "shipping address updated for the next order"]


def _s(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def filler(g: Gen, kind: str, args):
    r = g.r
    if kind == "name": return g.name()
    if kind == "first": return g.first()
    if kind == "uuid": return g.uuid()
    if kind == "sha1": return g.sha1()
    if kind == "hexn": return g.hexn(args[0])
    if kind == "epoch": return g.epoch()
    if kind == "rnd": return g.chars(ALPHABETS[args[0]], int(args[1]))
    if kind == "b64bytes": return base64.b64encode(g.bytes_(int(args[0]))).decode()
    if kind == "b64bytes_np": return base64.b64encode(g.bytes_(int(args[0]))).decode().rstrip("=")
    if kind == "b64text":
        return g.fresh(lambda: base64.b64encode(r.choice(PLAIN_TEXTS).encode()).decode())
    if kind == "ghnode":
        return base64.b64encode(f"04:User{r.randint(100000, 99999999)}".encode()).decode()
    if kind == "cursor":
        return b64url(json.dumps({"page": r.randint(2, 40), "limit": 50}, separators=(",", ":")).encode())
    if kind == "nonjwt":
        words = [r.choice(["tenant-eu-west", "tenant-us-east", "acme-prod"]), r.choice(["bucket-archive", "queue-billing"]),
                 r.choice(["v2", "shard-07", "replica"])]
        return ".".join(b64url(w.encode()) for w in words)
    if kind == "pubpem":
        n = bytearray(g.bytes_(256))
        n[0] |= 0x80
        spki = der(0x30, der(0x30, der(0x06, OID_RSA) + b"\x05\x00")
                   + der(0x03, b"\0" + der(0x30, der_uint(bytes(n)) + der_small(65537))))
        return pem("PUBLIC KEY", spki)
    if kind in ("certpem", "csrpem"):
        sig_alg = der(0x30, der(0x06, bytes.fromhex("2a864886f70d01010b")) + b"\x05\x00")
        body = der(0x30, der(0x30, g.bytes_(r.randint(600, 760))) + sig_alg + der(0x03, b"\0" + g.bytes_(256)))
        return pem("CERTIFICATE" if kind == "certpem" else "CERTIFICATE REQUEST", body)
    if kind == "dhpem":
        p = bytearray(g.bytes_(256))
        p[0] |= 0x80
        return pem("DH PARAMETERS", der(0x30, der_uint(bytes(p)) + der_small(2)))
    if kind == "pgppub":
        text = base64.b64encode(b"\x99\x01\x0d\x04" + g.bytes_(520)).decode()
        lines = [text[i:i + 64] for i in range(0, len(text), 64)]
        crc = base64.b64encode(g.bytes_(3)).decode()
        return "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + "\n".join(lines) + f"\n={crc}\n-----END PGP PUBLIC KEY BLOCK-----"
    if kind == "sshpub":
        blob = _s(b"ssh-ed25519") + _s(g.bytes_(32))
        return "ssh-ed25519 " + base64.b64encode(blob).decode() + " " + r.choice(["dana@laptop", "deploy@ci", "ops@bastion"])
    if kind == "fpr":
        h = g.chars("0123456789ABCDEF", 40)
        groups = [h[i:i + 4] for i in range(0, 40, 4)]
        return " ".join(groups[:5]) + "  " + " ".join(groups[5:])
    raise KeyError(kind)


# ================================================================ building the corpora

PH = re.compile(r"<<([a-z0-9_]+)((?::[A-Za-z0-9_]+)*)>>")

PII_TYPES = ["email", "phone", "card", "iban", "ssn", "ip"]
SECRET_TYPES = ["openai_key", "anthropic_key", "aws_access_key", "aws_secret_key", "github_token", "gitlab_token",
                "slack_token", "stripe_key", "google_api_key", "jwt", "pem_private_key", "generic_secret"]

PII_KINDS = {"email": "email", "phone": "phone", "card": "card", "iban": "iban", "ssn": "ssn", "ip": "ip"}
SECRET_KINDS = {"openai": "openai_key", "anthropic": "anthropic_key", "akia": "aws_access_key", "asia": "aws_access_key",
                "awssecret": "aws_secret_key", "gh": "github_token", "glpat": "gitlab_token", "slack": "slack_token",
                "stripe": "stripe_key", "google": "google_api_key", "jwt": "jwt", "pem": "pem_private_key",
                "gen": "generic_secret"}
# Look-alike kinds, and what the checks must find true of the value each one makes.
CLAIM_OF = {"luhnbad": "luhn_fail", "cardbad": "luhn_fail", "ean13": "luhn_fail", "ibanbad": "iban_fail",
            "ibantrans": "iban_fail", "ibanlen": "iban_fail", "ssnbad": "ssn_invalid", "imei": "luhn_ok_not_card",
            "rf": "mod97_ok_not_iban"}


def produce(g: Gen, kind: str, args):
    if kind == "pem":
        bits = next((a for a in args[1:] if a.isdigit()), "2048")
        fmt = next((a for a in args[1:] if not a.isdigit()), None)
        return g.pem(args[0] if args else "rsa", bits, fmt)
    if kind in ("email", "phone", "card", "iban", "ip", "openai", "gh", "slack", "stripe", "jwt", "gen",
                "luhnbad", "cardbad", "ibanbad", "ibantrans", "ibanlen", "ssnbad"):
        return getattr(g, kind)(*args)
    if kind in ("ssn", "imei", "rf", "isbn13", "ean13", "anthropic", "akia", "asia", "awssecret", "glpat", "google"):
        return getattr(g, kind)()
    return filler(g, kind, args)


def fill(g: Gen, template: str, kinds):
    expects, claims = [], []
    g.person = None

    def sub(m):
        kind, args = m.group(1), [a for a in m.group(2).split(":") if a]
        value = produce(g, kind, args)
        if kind in kinds:
            expects.append({"type": kinds[kind], "value": value})
        if kind in CLAIM_OF:
            claims.append((CLAIM_OF[kind], value))
        return value

    text = PH.sub(sub, template)
    assert not PH.search(text), template
    return text, expects, claims


def build(corpus: str):
    prefix, kinds, positives, negatives = {
        "pii": ("pii", PII_KINDS, PII_POSITIVES, PII_NEGATIVES),
        "secrets": ("sec", SECRET_KINDS, SECRET_POSITIVES, SECRET_NEGATIVES),
    }[corpus]
    g = Gen(f"{SEED}-{corpus}")
    records, claims, allowed, numbering = [], {}, set(), Counter()
    for entry in positives:
        template, note = entry if isinstance(entry, tuple) else (entry, "")
        text, expects, _ = fill(g, template, kinds)
        types = {e["type"] for e in expects}
        stratum = types.pop() if len(types) == 1 else "mixed"
        numbering[stratum] += 1
        records.append({"id": f"{prefix}-{stratum}-{numbering[stratum]:03d}", "text": text, "expect": expects, "note": note})
    for cat, template, note, *flags in negatives:
        text, expects, cl = fill(g, template, kinds)
        assert not expects, template
        numbering["neg-" + cat] += 1
        rid = f"{prefix}-neg-{cat}-{numbering['neg-' + cat]:03d}"
        records.append({"id": rid, "text": text, "expect": [], "note": note})
        claims[rid] = cl
        if "allow" in flags:
            allowed.add(rid)
    return records, claims, allowed


def types_of(rec):
    return sorted({e["type"] for e in rec["expect"]})


def neg_category(rec):
    return rec["id"].split("-neg-", 1)[1].rsplit("-", 1)[0]


def split(corpus: str, records):
    """Held-out: round(n/3) of the lines holding each type, and round(N/3) of the negatives, stratified."""
    rng = random.Random(f"{SEED}-{corpus}-split")
    pos = [r for r in records if r["expect"]]
    neg = [r for r in records if not r["expect"]]
    count = Counter(t for r in pos for t in types_of(r))
    target = {t: round(n / 3) for t, n in count.items()}
    held, cur = set(), Counter()
    # Lines with several types: a third of them, as long as no type goes past its target.
    multi = [r for r in pos if len(types_of(r)) > 1]
    rng.shuffle(multi)
    want = round(len(multi) / 3)
    for r in multi:
        if want and all(cur[t] < target[t] for t in types_of(r)):
            held.add(r["id"])
            cur.update(types_of(r))
            want -= 1
    # Lines with one type fill each type up to its target.
    for t in sorted(count):
        singles = [r["id"] for r in pos if types_of(r) == [t]]
        need = target[t] - cur[t]
        assert 0 <= need <= len(singles), (t, need, len(singles))
        held.update(rng.sample(singles, need))
    # Negatives: stratified by the type they imitate; largest remainders settle the rounding.
    by_cat = defaultdict(list)
    for r in neg:
        by_cat[neg_category(r)].append(r["id"])
    cats = sorted(by_cat)
    rng.shuffle(cats)
    quota = {c: len(by_cat[c]) / 3 for c in cats}
    take = {c: math.floor(quota[c]) for c in cats}
    for c in sorted(cats, key=lambda c: quota[c] - take[c], reverse=True)[:round(len(neg) / 3) - sum(take.values())]:
        take[c] += 1
    for c in sorted(by_cat):
        held.update(rng.sample(by_cat[c], take[c]))
    tuning = [r for r in records if r["id"] not in held]
    heldout = [r for r in records if r["id"] in held]
    return tuning, heldout


# ================================================================ checks

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
SSN_RE = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?!\d)")
CARD_RE = re.compile(r"(?<![\d-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}|\d{4}([ -])\d{6}\2\d{5})(?![\d])")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")
PEM_BODY = r"(?:\s|\\n)+[A-Za-z0-9+/=]{40,}(?:(?:\s|\\n)+[A-Za-z0-9+/=]+)*(?:\s|\\n)+"
STRICT = {
    "openai_key": r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
    "anthropic_key": r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}",
    "aws_access_key": r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Z0-9])",
    "github_token": r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])",
    "gitlab_token": r"glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])",
    "slack_token": r"xox[bp]-\d{10,13}-\d{10,13}(?:-\d{10,13})?-[A-Za-z0-9]{24,32}|xapp-\d-A[A-Z0-9]{10}-\d{13}-[a-f0-9]{64}",
    "stripe_key": r"(?<![A-Za-z0-9])[sr]k_(?:live|test)_[A-Za-z0-9]{20,}",
    "google_api_key": r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])",
    "jwt": r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
    "pem_private_key": r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----" + PEM_BODY + r"-----END \1PRIVATE KEY-----",
}
AWS_SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
AWS_CONTEXT = re.compile(r"(?i)(?<![a-z0-9])aws|secret.?access.?key|amazonaws")


def aws_context(text, start):
    """An AWS word within the 200 characters before a position."""
    return bool(AWS_CONTEXT.search(text[max(0, start - 200):start]))
VALUE_FORMAT = {
    "openai_key": r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{40,}",
    "anthropic_key": r"sk-ant-api03-[A-Za-z0-9_-]{93}AA",
    "aws_access_key": r"(?:AKIA|ASIA)[A-Z2-7]{16}",
    "aws_secret_key": r"[A-Za-z0-9/+]{40}",
    "github_token": r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    "gitlab_token": r"glpat-[A-Za-z0-9_-]{20}",
    "slack_token": STRICT["slack_token"],
    "stripe_key": r"[sr]k_(?:live|test)_[A-Za-z0-9]{24,}",
    "google_api_key": r"AIza[0-9A-Za-z_-]{35}",
    "jwt": r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
    "pem_private_key": STRICT["pem_private_key"] + r"(?:\\n)?",
    "email": EMAIL_RE.pattern,
    "phone": r"\+?[0-9 ().-]+",
}


def spans(text, values):
    out = []
    for v in values:
        i = text.find(v)
        while i >= 0:
            out.append((i, i + len(v)))
            i = text.find(v, i + 1)
    return out


def covered(span, cover):
    return any(a <= span[0] and span[1] <= b for a, b in cover)


def check_value(t, v, errors, rid):
    def bad(why):
        errors.append(f"{rid}: {t} {v[:60]!r}: {why}")
    if t in VALUE_FORMAT and not re.fullmatch(VALUE_FORMAT[t], v):
        bad("does not have the type's format")
    if t == "card":
        if not luhn_ok(v):
            bad("fails Luhn")
        if not card_brand(v) or card_brand(v) == "jcb":
            bad("not a Visa, Mastercard, Amex or Discover number")
    elif t == "iban" and not iban_ok(v):
        bad("fails mod-97 or the country's length")
    elif t == "ssn" and not ssn_ok(v):
        bad("outside the issued ranges")
    elif t == "ip":
        try:
            ipaddress.ip_address(v)
        except ValueError:
            bad("not an IP address")
    elif t == "phone" and not 8 <= len(re.sub(r"\D", "", v)) <= 15:
        bad("not 8 to 15 digits")
    elif t == "openai_key" and v.startswith("sk-ant-"):
        bad("an Anthropic key")
    elif t == "jwt":
        try:
            h, p, s = v.split(".")
            header, payload = json.loads(b64url_decode(h)), json.loads(b64url_decode(p))
            assert isinstance(header, dict) and "alg" in header and header.get("typ") == "JWT"
            assert isinstance(payload, dict) and "iat" in payload
            assert len(b64url_decode(s)) in (32, 64, 256)
        except Exception as e:  # noqa: BLE001
            bad(f"not a JWT with a JSON header ({e})")
    elif t == "pem_private_key":
        body = re.sub(r"-----[A-Z ]+-----", "", v).replace("\\n", "")
        raw = base64.b64decode(re.sub(r"\s", "", body))
        if not (raw[:1] == b"\x30" or raw.startswith(b"openssh-key-v1\0")):
            bad("body is not DER or an OpenSSH key")
    elif t == "generic_secret" and (len(v) < 12 or entropy(v) < 3.0 or re.search(r"\s", v)):
        bad("short or low-entropy")


def shapes(corpus, text):
    """Spans in the text that the checks treat as a value of some type."""
    found = []
    if corpus == "pii":
        for m in CARD_RE.finditer(text):
            if luhn_ok(m.group(0)) and card_brand(m.group(0)):
                found.append(("card", m.span(), m.group(0)))
        for m in IBAN_RE.finditer(text):
            compact = m.group(0).replace(" ", "")
            n = IBAN_LENGTH.get(compact[:2])
            if n and len(compact) >= n and iban_ok(compact[:n]):
                found.append(("iban", m.span(), m.group(0)))
        for m in SSN_RE.finditer(text):
            if ssn_ok(m.group(0)):
                found.append(("ssn", m.span(), m.group(0)))
        for m in IPV4_RE.finditer(text):
            if all(int(o) <= 255 for o in m.group(0).split(".")):
                found.append(("ip", m.span(), m.group(0)))
        for m in EMAIL_RE.finditer(text):
            found.append(("email", m.span(), m.group(0)))
    else:
        for t, pattern in STRICT.items():
            for m in re.finditer(pattern, text):
                found.append((t, m.span(), m.group(0)))
        for m in AWS_SECRET_SHAPE.finditer(text):
            if aws_context(text, m.start()):
                found.append(("aws_secret_key", m.span(), m.group(0)))
    return found


def check(corpus, files, claims, allowed):
    """Checks the written files; returns a list of problems (empty when all is well)."""
    types = PII_TYPES if corpus == "pii" else SECRET_TYPES
    errors, records, part_of = [], [], {}
    for part, path in files.items():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{path.name}:{n}: does not parse ({e})")
                continue
            if list(rec) != ["id", "text", "expect", "note"]:
                errors.append(f"{path.name}:{n}: keys are {list(rec)}")
                continue
            if rec["id"] in part_of:
                errors.append(f"{rec['id']}: id used twice")
            part_of[rec["id"]] = part
            records.append(rec)
    all_values = Counter()
    for rec in records:
        rid, text = rec["id"], rec["text"]
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{rid}: empty text")
        for e in rec["expect"]:
            if set(e) != {"type", "value"} or e["type"] not in types:
                errors.append(f"{rid}: bad expect entry {e}")
                continue
            if e["value"] not in text:
                errors.append(f"{rid}: value {e['value'][:40]!r} not in text")
            all_values[e["value"]] += 1
            check_value(e["type"], e["value"], errors, rid)
            if e["type"] == "aws_secret_key" and not aws_context(text, text.find(e["value"])):
                errors.append(f"{rid}: AWS secret key without an AWS context before it")
        if rec["expect"]:
            cover = spans(text, [e["value"] for e in rec["expect"]])
            for t, span, s in shapes(corpus, text):
                if not covered(span, cover):
                    errors.append(f"{rid}: {t}-shaped {s[:50]!r} is not expected")
        else:
            if not rec["note"].strip():
                errors.append(f"{rid}: negative without a note")
            found = shapes(corpus, text)
            if corpus == "pii" and neg_category(rec) == "email":
                found = [f for f in found if f[0] != "email"]  # address-like code is what these negatives are
            if found and rid not in allowed:
                errors.append(f"{rid}: negative holds {found[0][0]}-shaped {found[0][2][:50]!r}")
            if rid in allowed and not found:
                errors.append(f"{rid}: allowed as a hard negative but nothing in it has a value's shape")
            for what, value in claims.get(rid, []):
                ok = {"luhn_fail": lambda v: not luhn_ok(v),
                      "iban_fail": lambda v: not iban_ok(v),
                      "ssn_invalid": lambda v: not ssn_ok(v),
                      "luhn_ok_not_card": lambda v: luhn_ok(v) and card_brand(v) is None,
                      "mod97_ok_not_iban": lambda v: iban_mod97(v.replace(" ", "")) == 1 and not iban_ok(v)}[what](value)
                if value not in text or not ok:
                    errors.append(f"{rid}: claim {what} does not hold for {value!r}")
            # A note that says a checksum fails is checked against the text itself as well.
            if "fails the Luhn check" in rec["note"]:
                runs = [m.group(0) for m in re.finditer(r"\d(?:[ -]?\d){8,18}", text)]
                if not runs or any(luhn_ok(s) for s in runs):
                    errors.append(f"{rid}: note says the Luhn check fails, the text has {runs}")
            if "fails mod-97" in rec["note"]:
                runs = [m.group(0) for m in IBAN_RE.finditer(text)]
                if not runs or any(iban_mod97(s.replace(" ", "")[:IBAN_LENGTH.get(s[:2], len(s))]) == 1 for s in runs):
                    errors.append(f"{rid}: note says mod-97 fails, the text has {runs}")
    for value, n in all_values.items():
        if n > 1:
            errors.append(f"value {value[:40]!r} expected in {n} lines")
    for rec in records:
        if not rec["expect"]:
            for value in all_values:
                if value in rec["text"]:
                    errors.append(f"{rec['id']}: negative contains the expected value {value[:40]!r}")
    # Sizes and the split.
    pos = [r for r in records if r["expect"]]
    neg = [r for r in records if not r["expect"]]
    per_type = Counter(t for r in pos for t in types_of(r))
    held_type = Counter(t for r in pos if part_of[r["id"]] == "heldout" for t in types_of(r))
    for t in types:
        if per_type[t] < 20:
            errors.append(f"{t}: only {per_type[t]} positive lines")
        if held_type[t] != round(per_type[t] / 3):
            errors.append(f"{t}: {held_type[t]} of {per_type[t]} lines held out")
    if len(neg) < len(pos):
        errors.append(f"{len(neg)} negatives for {len(pos)} positives")
    held_neg = sum(part_of[r["id"]] == "heldout" for r in neg)
    if held_neg != round(len(neg) / 3):
        errors.append(f"{held_neg} of {len(neg)} negatives held out")
    return errors


# ================================================================ counts, files, documentation

def counts(records_by_part, types):
    rows = []
    for t in types:
        row = [t]
        for part in ("tuning", "heldout"):
            recs = records_by_part[part]
            row.append(sum(t in types_of(r) for r in recs))
            row.append(sum(e["type"] == t for r in recs for e in r["expect"]))
        rows.append(row)
    return rows


def table(corpus, parts, types):
    all_recs = parts["tuning"] + parts["heldout"]
    out = ["| type | tuning lines | tuning values | held-out lines | held-out values | all lines | all values |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for t, tl, tv, hl, hv in counts(parts, types):
        out.append(f"| `{t}` | {tl} | {tv} | {hl} | {hv} | {tl + hl} | {tv + hv} |")
    def line(label, pred):
        a = sum(pred(r) for r in parts["tuning"])
        b = sum(pred(r) for r in parts["heldout"])
        return f"| {label} | {a} | | {b} | | {a + b} | |"
    out.append(line("positive lines (any type)", lambda r: bool(r["expect"])))
    out.append(line("of which with several types", lambda r: len(types_of(r)) > 1))
    out.append(line("negative lines", lambda r: not r["expect"]))
    out.append(line("**all lines**", lambda r: True))
    neg_out = ["| imitated type | tuning | held-out | all |", "|---|---:|---:|---:|"]
    cats = sorted({neg_category(r) for r in all_recs if not r["expect"]}, key=types.index)
    for c in cats:
        a = sum(1 for r in parts["tuning"] if not r["expect"] and neg_category(r) == c)
        b = sum(1 for r in parts["heldout"] if not r["expect"] and neg_category(r) == c)
        neg_out.append(f"| `{c}` | {a} | {b} | {a + b} |")
    return "\n".join(out), "\n".join(neg_out)


DOC = """# PII and secrets detector corpora

Labelled texts for the guardrail detectors that look for personal data (PII) and for secrets in an
agent's traffic: requests to a model, the model's answers, and tool results. Every value in them is
made up; none is a real person's data or a working credential.

| file | what |
|---|---|
| `tuning/pii.jsonl` | PII corpus, part used to write and tune the detector |
| `heldout/pii.jsonl` | PII corpus, part kept aside to measure it |
| `tuning/secrets.jsonl` | secrets corpus, tuning part |
| `heldout/secrets.jsonl` | secrets corpus, held-out part |
| `generate_pii_secrets.py` | builds all four files and this page from a fixed seed, then checks them |

Run `python3 generate_pii_secrets.py` to rebuild (Python 3, standard library only) and
`python3 generate_pii_secrets.py --check` to rebuild in memory, compare with the files and run the
checks without writing anything.

## Format

JSON Lines, UTF-8, one object per line, keys in this order:

```json
{{"id": "pii-card-004", "text": "…the text as the detector sees it…", "expect": [{{"type": "card", "value": "4…"}}], "note": ""}}
```

- `id`: unique within the corpus. `<corpus>-<type>-NNN` for a positive holding one type,
  `<corpus>-mixed-NNN` for one holding several, `<corpus>-neg-<type>-NNN` for a negative, where
  `<type>` is the type it imitates. `<corpus>` is `pii` or `sec`.
- `text`: a sentence, log line, configuration or source snippet, JSON fragment, e-mail, shell
  session or tool result; several languages and national formats. Multi-line texts hold real line
  breaks.
- `expect`: every value the detector must report, in order of appearance, each with its `type` and
  its `value`, an exact substring of `text`. Empty for a negative. A text may hold several values of
  one or several types. A value is expected once, with one type; a harness may choose to accept a
  second, more general type for the same span (e.g. a `generic_secret` match on
  `aws_secret_access_key = …`), but only the listed type counts as the label.
- `note`: for a negative, why it is a look-alike; for a positive usually empty, or a remark on an
  unusual shape (e.g. a PEM block inside a JSON string, with `\\n` for its line breaks).

A detector passes a line when it reports every expected value (the exact span, or one that contains
it and no more than its delimiters, as the harness decides) and nothing else of the corpus's types.

## Types

### PII (`pii.jsonl`)

| type | what is expected |
|---|---|
| `email` | addresses, including plus tags, sub-domains and mixed case |
| `phone` | numbers in international (`+44 20 7946 0958`, `+1 (415) 555-0132`, `+81 3-1234-5678`), `00` (`0049 30 …`) and national formats (`06 39 98 12 34`, `020 7946 0123`, `(02) 5550 1234`) of about 25 countries |
| `card` | Visa (16 and 13 digits), Mastercard (51–55 and 2221–2720), American Express (15), Discover (6011, 644–649, 65), compact or grouped with spaces or dashes (Amex 4-6-5) |
| `iban` | IBANs of {n_iban} countries, grouped by four or compact |
| `ssn` | US social security numbers written `AAA-GG-SSSS` |
| `ip` | IPv4 (public, private and documentation ranges) and IPv6 (compressed, full, link-local, upper case); a prefix length or port next to it is not part of the value |

### Secrets (`secrets.jsonl`)

| type | what is expected |
|---|---|
| `openai_key` | `sk-` (48 characters, or the older 20 + `T3BlbkFJ` + 20), `sk-proj-`, `sk-svcacct-`, `sk-admin-` |
| `anthropic_key` | `sk-ant-api03-` + 93 characters + `AA` |
| `aws_access_key` | `AKIA` or `ASIA` + 16 characters of `A-Z2-7` |
| `aws_secret_key` | 40 characters of `A-Za-z0-9+/`, always with an AWS context in the same text |
| `github_token` | `ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_` + 36 alphanumerics; `github_pat_` + 22 + `_` + 59 |
| `gitlab_token` | `glpat-` + 20 characters |
| `slack_token` | `xoxb-`, `xoxp-` (numeric parts and a random tail) and `xapp-1-A…` |
| `stripe_key` | `sk_live_`, `rk_live_`, `sk_test_`, `rk_test_` + 24 alphanumerics, or `51` + 97 for the longer form |
| `google_api_key` | `AIzaSy` + 33 characters (39 in all) |
| `jwt` | `header.payload.signature`, base64url; the header is real JSON (`alg` HS256, RS256 or ES256, `typ`, sometimes `kid`) and so is the payload; HS256 signatures are real HMACs under a random key |
| `pem_private_key` | the whole block from `-----BEGIN … PRIVATE KEY-----` to `-----END … PRIVATE KEY-----`: RSA (PKCS#1 and PKCS#8, 1024 to 4096 bits), EC P-256, Ed25519, encrypted PKCS#8 and OpenSSH; plain, indented inside YAML, or inside a JSON string with `\\n` |
| `generic_secret` | the high-entropy value after `password=`, `DB_PASSWORD=`, `client_secret":`, `token:`, `api_key=`, `secret":`, `Authorization: Bearer`, a password in a connection URL and the like: only the value, not the key name |

## How the values were made

`generate_pii_secrets.py` draws every value from Python's `random.Random` seeded with
`{seed}-<corpus>` (the split uses `{seed}-<corpus>-split`), so the files are the same on every run.
No value appears in two lines.

- **Cards**: a brand prefix, random digits, then the Luhn check digit computed over them.
- **IBANs**: a random BBAN that follows the country's structure (digits, letters or alphanumerics
  where the ISO 13616 registry has them) and length, then the two check digits computed with
  ISO 7064 mod 97-10 (`98 - (BBAN + country + "00") mod 97`). National check digits inside the BBAN
  are not computed.
- **SSNs**: area 001–899 without 666, group 01–99, serial 0001–9999; numbers known from
  advertising or misuse are left out.
- **Phones**: national formats with the right number of digits; where a country reserves numbers
  for fiction they are used (UK 020 7946 0xxx and 07700 900xxx, US/Canada 555-01xx, France
  06 39 98 xx xx and 01 99 00 xx xx, Australia 0491 570 xxx and (02) 5550 xxxx). No phone number
  reads as a Luhn-valid card number.
- **E-mail addresses**: invented names at `example.com`/`.org`/`.net` and a few invented company
  domains.
- **IP addresses**: random global addresses, private ranges, the documentation ranges
  (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and link-local IPv6.
- **Keys and tokens**: the provider's prefix, then random characters from its alphabet at its
  length (table above).
- **Private keys**: made here from the seed and used nowhere else. RSA keys are complete keys
  built from seeded random primes (Miller–Rabin), in PKCS#1 or PKCS#8; EC keys are P-256 keys of a
  random scalar with their public point; Ed25519 keys wrap a random seed in PKCS#8; the OpenSSH keys
  follow the `openssh-key-v1` layout (unencrypted, random key bytes); the encrypted PKCS#8 key has
  the PBES2 structure around random ciphertext. All of them parse as the key type their label names.
- **Generic secrets**: random hex (32, 40, 64), base64, base64url, alphanumerics or passwords with
  symbols; every one has a Shannon entropy of at least 3 bits per character.

## Negatives

About as many as the positives, each with `note` saying what it is. They include:

- PII: 16- and 19-digit order, tracking, batch and trace numbers that fail the Luhn check;
  card-shaped numbers with a wrong check digit; masked cards and last-four mentions; an IMEI (passes
  Luhn, but is 15 digits with a device prefix); IBANs with wrong check digits, two swapped digits or
  one character missing; an ISO 11649 creditor reference (mod-97 valid, `RF` is not a country);
  BICs and VAT ids; SSN-shaped numbers with area 000, 666 or 9xx, group 00 or serial 0000; dates,
  case, lot, part and rack numbers; masked SSNs; code with `@`: `user@localhost` and `user@host`
  prompts, decorators, `git@github.com:org/repo.git`, `logo@2x.png`, npm scopes `@scope/pkg@1.2.3`,
  Go and pip versions, CSS at-rules, Vue bindings; version strings and dotted numbers
  (`1.2.3.4.5`, `v10.0.0.1-beta`, `999.1.1.1`, OIDs, build numbers, assembly versions), MAC
  addresses, fingerprints, C++ scopes; ISBNs, EAN barcodes, timestamps, invoice, order, serial and
  customer numbers, amounts, lottery numbers shaped like a French mobile number.
- Secrets: truncated, masked, redacted and placeholder keys (`sk-...`, `<your-key-here>`,
  `ghp_xxxx…`), variable and template references (`${{TOKEN}}`, `${{{{ secrets.X }}}}`,
  `{{{{ .Values.x }}}}`), low-entropy values (`password=changeme`); documentation examples whose text
  says they are examples (`AKIAIOSFODNN7EXAMPLE`, the jwt.io sample); provider ids that are not
  credentials (AWS `AIDA…`/`AROA…` ids, message and tool-use ids, Stripe object ids, Slack
  channel ids, Maps place ids); Stripe publishable keys (`pk_…`, public by design); UUIDs, git
  commit SHAs, checksums, digests, trace ids, fingerprints; base64 of ordinary text and a base64
  JSON cursor; public keys, certificates, CSRs and parameters in PEM; the words secret, token,
  password and key in prose and settings.

A few negatives are hard on purpose: the value's shape is there and only the context says
otherwise (an SSN-shaped part number, a four-part assembly version, a commit SHA next to an AWS
context, a placeholder key of the right length). Their notes say so.

## Split

Each corpus is split once, by the seeded script, into a tuning part and a held-out part:

- for every type, exactly round(n / 3) of the n positive lines that hold that type are held out. A
  line with several types counts for each of them; a third of those lines (as far as the per-type
  targets allow) are held out first, then single-type lines fill each type up to its target;
- round(N / 3) of the N negatives are held out, stratified by the type they imitate (each stratum
  gives a third, rounded by largest remainder so that the total is exact).

Tune on `tuning/`; report results on `heldout/` and do not look at its lines while tuning.

## Counts

### PII

{pii_table}

Negatives by imitated type:

{pii_neg}

### Secrets

{sec_table}

Negatives by imitated type:

{sec_neg}

## Checks

The script checks the written files and fails if any of these does not hold:

- every line parses as JSON with the keys `id`, `text`, `expect`, `note`; ids are unique;
- every `value` occurs in its `text` and has its type's format: cards pass Luhn and have a
  Visa, Mastercard, Amex or Discover prefix and length; IBANs pass mod-97 with their country's
  length; SSNs are in the issued ranges; IPs parse; keys and tokens match their prefix, alphabet and
  length; JWT headers and payloads are JSON; PEM bodies decode to DER or an OpenSSH key; generic
  secrets have at least 3 bits of entropy per character;
- no positive text holds an unlisted value (a Luhn-valid card number, a valid IBAN, an SSN in
  range, an IPv4 address, an e-mail address, or a key matching a provider's format);
- no negative holds such a value either, except the hard negatives named above and the
  address-shaped code of the e-mail negatives (`git@github.com:…` is what they are about); every negative
  built to fail a checksum fails it (Luhn, mod-97, SSN ranges), and every note that says so is
  backed by such a check; no expected value appears in a negative or in two lines;
- each type has at least 20 positive lines, each corpus at least as many negatives as positives,
  and the split has the sizes given above.
"""


def render(parts_by_corpus):
    pii_table, pii_neg = table("pii", parts_by_corpus["pii"], PII_TYPES)
    sec_table, sec_neg = table("secrets", parts_by_corpus["secrets"], SECRET_TYPES)
    n_iban = len({e["value"].replace(" ", "")[:2] for p in parts_by_corpus["pii"].values() for r in p
                  for e in r["expect"] if e["type"] == "iban"})
    return DOC.format(seed=SEED, pii_table=pii_table, pii_neg=pii_neg, sec_table=sec_table, sec_neg=sec_neg,
                      n_iban=n_iban)


def jsonl(records):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    check_only = parser.parse_args().check
    assert all(4 + sum(int(n) for n in re.findall(r"\d+", IBAN_BBAN[c])) == IBAN_LENGTH[c] for c in IBAN_LENGTH)

    outputs, parts_by_corpus, problems, built = {}, {}, [], {}
    for corpus in ("pii", "secrets"):
        records, claims, allowed = build(corpus)
        tuning, heldout = split(corpus, records)
        parts_by_corpus[corpus] = {"tuning": tuning, "heldout": heldout}
        built[corpus] = (claims, allowed)
        outputs[HERE / "tuning" / f"{corpus}.jsonl"] = jsonl(tuning)
        outputs[HERE / "heldout" / f"{corpus}.jsonl"] = jsonl(heldout)
    outputs[HERE / "PII_SECRETS.md"] = render(parts_by_corpus)

    if check_only:
        for path, content in outputs.items():
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                problems.append(f"{path.relative_to(HERE)} differs from what the script builds")
    else:
        for path, content in outputs.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")

    for corpus in ("pii", "secrets"):
        claims, allowed = built[corpus]
        files = {"tuning": HERE / "tuning" / f"{corpus}.jsonl", "heldout": HERE / "heldout" / f"{corpus}.jsonl"}
        problems += check(corpus, files, claims, allowed)
        types = PII_TYPES if corpus == "pii" else SECRET_TYPES
        print(f"{corpus}:")
        print(f"  {'type':<16} {'tuning':>7} {'heldout':>8} {'all':>5}   (lines holding the type)")
        for t, tl, tv, hl, hv in counts(parts_by_corpus[corpus], types):
            print(f"  {t:<16} {tl:>7} {hl:>8} {tl + hl:>5}")
        for label, pred in (("positives", lambda r: bool(r["expect"])), ("negatives", lambda r: not r["expect"])):
            a = sum(map(pred, parts_by_corpus[corpus]["tuning"]))
            b = sum(map(pred, parts_by_corpus[corpus]["heldout"]))
            print(f"  {label:<16} {a:>7} {b:>8} {a + b:>5}")
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)
    print("\nall checks pass")


if __name__ == "__main__":
    main()
