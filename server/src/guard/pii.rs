//! Personal data: email addresses, phone numbers, payment cards, IBANs, US social security
//! numbers and IP addresses. A candidate is found by its shape and kept only when it checks
//! out as the real thing would (Luhn for cards, mod-97 for IBANs, the SSN's valid ranges, an
//! address's octets), so an order number or a version string is not taken for one.
//!
//! Ordinary prose costs little: the patterns run only on the stretches that can hold a value —
//! around a digit (found eight bytes at a time), an `@` or a `:` — never over the whole text,
//! and every step is linear in the length of the text.

use std::sync::LazyLock;

use regex::Regex;

use super::{Finding, Kind};

fn pattern(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| unreachable!("static pattern: {e}"))
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| pattern(r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"));

/// Digits in groups, with the separators people write cards, phones and SSNs with. Every byte
/// it takes is a [`number_byte`].
static DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?:\+|\b00)?\(?\d[\d \-.()/]{5,28}\d\b"));

static IBAN: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"));

/// The longest an [`IBAN`] match can be: 4 + 7 × 5 + 5.
const IBAN_MAX: usize = 44;

static IPV4: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"));

static IPV6: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:%[0-9a-z]+)?"));

/// Finds personal data in `text`.
pub fn scan(text: &str, out: &mut Vec<Finding>) {
    let first = out.len();
    let bytes = text.as_bytes();
    if memchr::memchr(b'@', bytes).is_some() {
        for m in EMAIL.find_iter(text) {
            if email_ok(text, m.start(), m.end()) {
                out.push(Finding::new(Kind::Email, m.start(), m.end()));
            }
        }
    }
    numbers(text, out);
    if memchr::memchr(b':', bytes).is_some() {
        ipv6(text, out);
    }
    let found = &mut out[first..];
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    // An address inside a longer one (`192.0.2.1` in `::ffff:192.0.2.1`) is that one.
    let mut keep = first;
    for i in first..out.len() {
        let f = out[i];
        if keep > first && out[keep - 1].kind == f.kind && out[keep - 1].end >= f.end {
            continue;
        }
        out[keep] = f;
        keep += 1;
    }
    out.truncate(keep);
    // A number inside an IBAN (`NL35 GCLA 0717 7384 95`) is part of the account, not a phone.
    let ibans: Vec<(usize, usize)> = out[first..].iter().filter(|f| f.kind == Kind::Iban).map(|f| (f.start, f.end)).collect();
    if !ibans.is_empty() {
        out.retain(|f| f.kind == Kind::Iban || !ibans.iter().any(|&(a, b)| f.start >= a && f.end <= b));
    }
}

/// Bytes a card, phone or SSN is written with: what [`DIGIT_RUN`] and [`IPV4`] can take.
fn number_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'/' | b'+')
}

fn hex_or_colon(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':'
}

/// The first ASCII digit at or after `from`, eight bytes at a time.
fn next_digit(b: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while from + 8 <= b.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&b[from..from + 8]);
        let x = u64::from_le_bytes(word);
        // The high bit of each byte strictly between b'/' and b':' (no carries between bytes).
        let low7 = x & (ONES * 127);
        let digits = (ONES * (127 + u64::from(b':')) - low7) & !x & (low7 + ONES * (127 - u64::from(b'/'))) & HIGH;
        if digits != 0 {
            return Some(from + digits.trailing_zeros() as usize / 8);
        }
        from += 8;
    }
    b[from.min(b.len())..].iter().position(u8::is_ascii_digit).map(|i| from + i)
}

/// The start of the run of `class` bytes that holds `at`.
fn run_start(b: &[u8], at: usize, class: fn(u8) -> bool) -> usize {
    b[..at].iter().rposition(|&x| !class(x)).map_or(0, |i| i + 1)
}

/// The end of the run of `class` bytes from `at`.
fn run_end(b: &[u8], at: usize, class: fn(u8) -> bool) -> usize {
    b[at..].iter().position(|&x| !class(x)).map_or(b.len(), |i| at + i)
}

/// `end` and the character after it: what a pattern needs to see to decide a `\b` at `end`.
fn with_next_char(text: &str, end: usize) -> usize {
    text[end..].chars().next().map_or(end, |c| end + c.len_utf8())
}

/// Cards, phones, SSNs, IPv4 addresses and IBANs: each starts at a digit or just before one. A
/// number lies within one run of [`number_byte`]s, so each run is searched on its own, and an
/// IBAN starts with two capitals right before such a run.
fn numbers(text: &str, out: &mut Vec<Finding>) {
    let b = text.as_bytes();
    let mut at = 0;
    let mut iban_end = 0;
    while let Some(digit) = next_digit(b, at) {
        let start = run_start(b, digit, number_byte);
        let end = run_end(b, digit, number_byte);
        at = end;
        if start >= 2 && start >= iban_end + 2 && b[start].is_ascii_digit() && b[start - 1].is_ascii_uppercase() && b[start - 2].is_ascii_uppercase() {
            let from = start - 2;
            let hay = &text[..with_next_char(text, ceil_char(text, (from + IBAN_MAX).min(text.len())))];
            if let Some(m) = IBAN.find_at(hay, from).filter(|m| m.start() == from) {
                iban_end = m.end();
                if iban_ok(m.as_str()) {
                    out.push(Finding::new(Kind::Iban, m.start(), m.end()));
                }
            }
        }
        let digits = b[start..end].iter().filter(|x| x.is_ascii_digit()).count();
        let hay = &text[..with_next_char(text, end)];
        // A card, phone or SSN has at least eight digits.
        if digits >= 8 {
            let mut pos = start;
            while let Some(m) = DIGIT_RUN.find_at(hay, pos).filter(|m| m.start() < end) {
                // A bracket opened after the number and not closed in the run is the text's
                // (`+420 601 123 456 (24/7)`): the number ends before it.
                let to = m.as_str().rfind(" (").filter(|&i| !m.as_str()[i..].contains(')')).map_or(m.end(), |i| m.start() + i);
                if let Some((kind, from)) = digits_kind(text, m.start(), to) {
                    out.push(Finding::new(kind, from, to));
                }
                pos = m.end();
            }
        }
        if digits >= 4 && b[start..end].iter().filter(|&&x| x == b'.').count() >= 3 {
            let mut pos = start;
            while let Some(m) = IPV4.find_at(hay, pos).filter(|m| m.start() < end) {
                if ipv4_ok(text, m.start(), m.end()) {
                    out.push(Finding::new(Kind::IpAddress, m.start(), m.end()));
                }
                pos = m.end();
            }
        }
    }
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// IPv6 addresses: runs of hex digits and colons (and a zone, `%eth0`) with two colons or more.
fn ipv6(text: &str, out: &mut Vec<Finding>) {
    let b = text.as_bytes();
    let mut done = 0;
    for colon in memchr::memchr_iter(b':', b) {
        if colon < done {
            continue;
        }
        let start = run_start(b, colon, hex_or_colon).max(done);
        let mut end = run_end(b, colon, hex_or_colon);
        if b.get(end) == Some(&b'%') {
            end = run_end(b, end + 1, |x| x.is_ascii_alphanumeric());
        }
        done = end;
        if memchr::memchr_iter(b':', &b[start..end]).nth(1).is_none() {
            continue;
        }
        let hay = &text[..with_next_char(text, end)];
        let mut pos = start;
        while let Some(m) = IPV6.find_at(hay, pos).filter(|m| m.start() < end) {
            pos = m.end();
            let mut stop = m.end();
            // The IPv4 form of the last 32 bits (`::ffff:192.0.2.1`).
            let tail_start = m.as_str().rfind(':').map_or(m.start(), |i| m.start() + i + 1);
            let tail_end = run_end(b, tail_start, |x| x.is_ascii_digit() || x == b'.');
            let tail = text[tail_start..tail_end].trim_end_matches('.');
            if byte_at(text, stop) == Some(b'.') && tail.parse::<std::net::Ipv4Addr>().is_ok() && text[m.start()..tail_start + tail.len()].parse::<std::net::Ipv6Addr>().is_ok() {
                stop = tail_start + tail.len();
            } else if !m.as_str().split('%').next().unwrap_or("").parse::<std::net::Ipv6Addr>().is_ok_and(|a| !a.is_unspecified() && !a.is_loopback()) {
                // Not an address, or `::` (`without ::`) and `::1`, which point at no one.
                continue;
            }
            // Eight pairs of hex digits are a hardware address (EUI-64: `00:12:4b:00:1c:a7:3e:59`).
            if m.as_str().split(':').all(|g| g.len() == 2) {
                continue;
            }
            if !neighbours_word(text, m.start(), stop) {
                out.push(Finding::new(Kind::IpAddress, m.start(), stop));
            }
        }
    }
}

fn byte_before(text: &str, i: usize) -> Option<u8> {
    i.checked_sub(1).map(|j| text.as_bytes()[j])
}

fn byte_at(text: &str, i: usize) -> Option<u8> {
    text.as_bytes().get(i).copied()
}

/// An address glued to more word characters (`a::b::c` in code) is not one.
fn neighbours_word(text: &str, start: usize, end: usize) -> bool {
    let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
    word(byte_before(text, start)) || word(byte_at(text, end))
}

/// Emails, less what code and package names look like: `git@github.com:org/repo`,
/// `@scope/pkg@1.2.3`, `icon@2x.png`, `user@localhost`, a shell prompt `user@host.lan:~$`.
fn email_ok(text: &str, start: usize, end: usize) -> bool {
    let s = &text[start..end];
    let Some((_, domain)) = s.rsplit_once('@') else { return false };
    // A file name after the @ (`icon@2x.png`) or an SSH remote (`git@host:org/repo`).
    let tld = domain.rsplit('.').next().unwrap_or("");
    let file_like = matches!(tld.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" | "js" | "ts" | "css" | "json" | "md" | "txt" | "py" | "rs" | "git");
    let ssh_remote = byte_at(text, end) == Some(b':') && byte_at(text, end + 1).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'~' || b == b'/');
    // `@scope/pkg`, and the user of a URL (`ssh://git@host/…`).
    let scoped_package = byte_before(text, start) == Some(b'/');
    !(file_like || ssh_remote || scoped_package)
}

/// Words that label the number after them as an identifier of something (an order, a part, a
/// place in a warehouse, a book, a draw), not a way to reach a person.
const ID_LABELS: &[&str] = &[
    "order", "invoice", "inv", "receipt", "ref", "reference", "serial", "sn", "s/n", "lot", "batch", "part", "p/n", "pn", "ticket", "tracking", "isbn",
    "isbn-10", "isbn-13", "issn", "ean", "gtin", "upc", "imei", "imsi", "iccid", "sku", "id", "account", "acct", "case", "docket", "claim", "policy", "mat",
    "item", "model", "build", "version", "ver", "rev", "revision", "form", "location", "loc", "rack", "bin", "shelf", "slot", "aisle", "bay", "room", "gate",
    "platform", "seat", "pallet", "container", "shipment", "sendung", "sendungsnummer", "waybill", "awb", "vin", "job", "run", "task", "issue", "release",
    "patch", "commit", "catalog", "catalogue", "product", "artikel", "zip", "postcode", "plz", "page", "pages", "pp", "port", "ports", "range", "pid", "uid",
    "gid", "booking", "reservation", "confirmation", "pnr", "flight", "loto", "lotto", "lottery", "tirage", "draw", "drawn", "winning", "jackpot", "numbers",
    "sizes", "size", "score", "scores", "results", "route", "line", "track", "dock", "door", "terminal", "locker", "cabinet", "drawer", "box", "station",
    "asset", "device", "sample", "specimen", "kit", "vial", "tube", "doi", "pmid", "arxiv", "cve", "kb", "customer", "client", "member", "membership",
    "loyalty", "kunde", "kunden", "patient", "employee", "student", "subscriber", "contract", "vertrag", "mandate", "abn", "acn", "siret", "siren", "nhs",
    "aadhaar", "matricule", "insee", "nir", "pesel", "bsn", "cpf", "cnpj", "dni", "nie", "nif", "steuer-id", "steuerid", "tax", "vat", "ust", "ird", "sin",
    "ssn", "passport", "licence", "license", "permit", "nino", "utr", "personnummer", "fødselsnummer", "henkilötunnus", "fiscale", "rut", "curp", "rfc",
    "nric", "hkid", "iqama", "kimlik", "commande", "bestellung", "bestelling", "pedido", "ordine", "encomenda", "omb", "reg", "registration",
    "art", "artikelnummer",
];

/// Words that say the dotted numbers after them are a version or a section, not an address.
const NUMBERING_LABELS: &[&str] = &[
    "version", "ver", "v", "section", "sec", "§", "chapter", "release", "build", "rule", "step", "clause", "article", "firmware", "fw", "bios", "kernel", "driver",
    "sdk",
];

/// Words that say the dotted numbers after them name a thing sold or filed (`P/N 12.4.110.3`).
const PART_LABELS: &[&str] = &[
    "part", "p/n", "pn", "sku", "item", "art", "artikel", "artikelnummer", "mat", "catalog", "catalogue", "product", "model", "serial", "sn", "s/n", "lot", "batch",
    "order", "invoice", "ref", "reference", "isbn", "ean", "gtin", "upc", "patent", "tariff", "hts", "cas",
];

/// Words for "number", which leave saying what kind to the word before them (`Order no.`,
/// `Phone no.`, `Part number`, `Rack #`).
const NUMBER_WORDS: &[&str] = &["number", "nummer", "numero", "número", "num", "no", "nr", "nº", "n°", "code", "#", "番号", "号码", "號碼", "编号", "編號", "번호"];

/// What may stand between a label and its number: `Order: `, `"version": "`, `<version>`,
/// `AssemblyVersion("`.
const LABEL_GAP: [char; 10] = [' ', ':', '=', '\t', '(', '"', '\'', '<', '>', '['];

/// The word just before `start` (letters, digits and `/-._§`, lowercased), skipping
/// [`LABEL_GAP`]; a `#` right before the number is a word of its own.
fn label_before(text: &str, start: usize) -> String {
    let head = text[..start].trim_end_matches(LABEL_GAP);
    if head.ends_with('#') {
        return "#".into();
    }
    let word: String = head.chars().rev().take(32).take_while(|&c| label_char(c)).collect();
    word.chars().rev().collect::<String>().trim_end_matches('.').to_lowercase()
}

fn label_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '§')
}

/// Where the label before `start` begins.
fn label_start(text: &str, start: usize) -> usize {
    let head = text[..start].trim_end_matches(LABEL_GAP);
    if let Some(h) = head.strip_suffix('#') {
        return h.len();
    }
    let word = head.chars().rev().take(32).take_while(|&c| label_char(c)).map(char::len_utf8).sum::<usize>();
    head.len() - word
}

fn labelled(text: &str, start: usize, labels: &[&str]) -> bool {
    let label = label_before(text, start);
    // The whole word (`p/n`), or the last part of a compound, which says what it is
    // (`order_id`, but `customer_phone`; `AssemblyVersion`).
    let mut parts = label.split(|c: char| !c.is_alphanumeric() && c != '§' && c != '#').filter(|p| !p.is_empty());
    let last = parts.next_back().unwrap_or("");
    if labels.contains(&label.as_str()) || labels.contains(&last) || (last.len() > 7 && last.ends_with("version") && labels.contains(&"version")) {
        return true;
    }
    // `no.` says nothing: the part or the word before it does (`Mat.-Nr.`, `Order no.`,
    // `Tel.-Nr.`).
    if NUMBER_WORDS.contains(&last) {
        if let Some(before) = parts.next_back() {
            return labels.contains(&before);
        }
        let before = label_before(text, label_start(text, start));
        return labels.contains(&before.as_str()) || before.rsplit(|c: char| !c.is_alphanumeric()).next().is_some_and(|p| labels.contains(&p));
    }
    false
}

/// Labelled as an identifier: by a word of [`ID_LABELS`], or by a compound of a word for
/// "number" (`Kontonummer`, `Kundennr.`) that is not a card's, a phone's or an SSN's
/// (`Kartennummer`, `Telefonnummer`).
fn id_labelled(text: &str, start: usize) -> bool {
    const PERSONAL: &[&str] = &[
        "card", "kart", "carte", "tarjeta", "cartao", "cartão", "kaart", "kredit", "credit", "tel", "telef", "phone", "fon", "handy", "mobil", "fax", "ruf", "ssn",
        "social", "sozial", "電話", "电话", "携帯", "전화",
    ];
    // A country prefix (`VAT No. GB 314 1592 65`) leaves saying what it is to the label before it.
    let head = text[..start].trim_end().as_bytes();
    let start = match head.len().checked_sub(2) {
        Some(i) if head[i..].iter().all(u8::is_ascii_uppercase) && (i == 0 || !head[i - 1].is_ascii_alphanumeric()) && !ID_LABELS.iter().any(|l| l.as_bytes().eq_ignore_ascii_case(&head[i..])) => i,
        _ => start,
    };
    let label = label_before(text, start);
    let last = label.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    // A short stem only at the compound's start: `Telefonnummer`, but `Bestelnummer` (an order).
    let personal = |p: &&str| if p.len() <= 3 { last.starts_with(p) } else { last.contains(p) };
    labelled(text, start, ID_LABELS) || (NUMBER_WORDS.iter().any(|n| last.len() >= n.len() + 3 && last.ends_with(n)) && !PERSONAL.iter().any(personal))
}

/// The last few words before `start`, lowercased.
fn words_before(text: &str, start: usize, n: usize) -> Vec<String> {
    let from = text[..start].char_indices().rev().nth(48).map_or(0, |(i, _)| i);
    let head = text[from..start].to_lowercase();
    let mut words: Vec<String> = head.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).map(str::to_string).collect();
    words.drain(..words.len().saturating_sub(n));
    words
}

/// Words that say a phone number follows (`Tel.`, `call me on`, `appelez le`): whole short
/// words, or the start of longer ones.
fn phone_cue(text: &str, start: usize) -> bool {
    const WORDS: &[&str] = &["tel", "tlf", "tfn", "ph", "sms", "fax", "bel", "ring", "call", "ruf", "cell", "dial", "handy", "mob", "mobile", "contact", "hotline"];
    const STARTS: &[&str] = &[
        "telef", "teléf", "télép", "teleph", "phone", "mobil", "whatsapp", "appel", "llám", "llam", "chiam", "zadzwo", "ligue", "ligar", "anruf", "rückruf",
        "rufen", "rufnummer", "calling", "bellen", "puhelin", "телефон", "電話",
    ];
    support_line(text, start) || words_before(text, start, 4).iter().any(|w| WORDS.contains(&w.as_str()) || STARTS.iter().any(|c| w.starts_with(c)) || w.ends_with("phone") || w.ends_with("ruf"))
}

/// `support line:`, `sales line`: a line one calls, not a line of a file.
fn support_line(text: &str, start: usize) -> bool {
    let words = words_before(text, start, 2);
    matches!(words.as_slice(), [w, l] if l == "line" && matches!(w.as_str(), "support" | "help" | "service" | "sales" | "customer" | "direct" | "emergency" | "booking"))
}

/// Words that say a number is a US social security number, before it or just after it
/// (`SSN 123-45-6789`, `123-45-6789 (SSN)`).
fn ssn_cue(text: &str, start: usize, end: usize) -> bool {
    let after_end = text[end..].char_indices().nth(40).map_or(text.len(), |(i, _)| end + i);
    let after = text[end..after_end].to_lowercase();
    let after: Vec<&str> = after.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).take(6).collect();
    let before = words_before(text, start, 5);
    let cue = |w: &str| matches!(w, "ssn" | "ssns" | "ss" | "tin" | "itin" | "taxpayer");
    let pair = |a: &str, b: &str| ((a == "social" || a == "soc") && (b == "security" || b == "sec")) || (a == "tax" && matches!(b, "id" | "number" | "no"));
    before.iter().map(String::as_str).chain(after.iter().copied()).any(cue) || before.windows(2).any(|p| pair(&p[0], &p[1])) || after.windows(2).any(|p| pair(p[0], p[1]))
}

/// What a run of digits is, if anything — a card (Luhn), a US SSN (`123-45-6789`, valid
/// ranges), or a phone number — and where it starts.
fn digits_kind(text: &str, start: usize, end: usize) -> Option<(Kind, usize)> {
    // An opening parenthesis that the run does not close is the text's, not the number's.
    let (start, s) = match &text[start..end] {
        s if s.starts_with('(') && !s.contains(')') => (start + 1, &s[1..]),
        s => (start, s),
    };
    // Part of something longer: an identifier, a decimal, a version.
    if byte_before(text, start).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-' || b == b'/') {
        return None;
    }
    if byte_at(text, end).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    if byte_at(text, end) == Some(b'.') && byte_at(text, end + 1).is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    // Glued to a suffix (`3390-B`) or to a time (`16:02`): a code or a timestamp.
    if matches!(byte_at(text, end), Some(b'-' | b':' | b'/')) && byte_at(text, end + 1).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    // A measurement (`0012 3456 kWh`, `12 500 000 EUR`): a quantity, not a way to reach anyone.
    if unit_after(text, end) {
        return None;
    }
    // The shape and the checksums first; the words around it only for what passes them.
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    // Nine digits bare or spaced 3-2-4 are an SSN only when the text says so (`SSN 508 63 2471`).
    if digits.len() == 9 && (s.bytes().all(|b| b.is_ascii_digit()) || spaced_ssn(s)) && ssn_cue(text, start, end) {
        return ssn_ok(&digits).then_some((Kind::Ssn, start));
    }
    // A bare run right before a colon is an offset or a label of what follows (`00000010: 4865`).
    if byte_at(text, end) == Some(b':') && s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if ssn_shape(s) {
        // Said to be one, or not labelled as something else (`Rack location 104-22-0007`).
        // A value assigned in code (`offset = 512-64-1024`) is arithmetic unless said to be one.
        let assigned = text[..start].trim_end().ends_with(['=', '+', '*', '(']);
        let cue = ssn_cue(text, start, end);
        return (ssn_ok(&digits) && (cue || !id_labelled(text, start) && !assigned && !in_range(text, start, end) && !parts_named(text, start))).then_some((Kind::Ssn, start));
    }
    let separators_only_spaces_dashes = s.bytes().all(|b| b.is_ascii_digit() || b == b' ' || b == b'-');
    if (13..=19).contains(&digits.len()) && separators_only_spaces_dashes && card_grouping(s) {
        // A number of a card's length that fails the check is an order or tracking number.
        return (luhn(&digits) && card_prefix(&digits) && !id_labelled(text, start)).then_some((Kind::Card, start));
    }
    // A shape a phone has only when the text says one follows needs the words that say so.
    let phone = phone_ok(s, &digits, false) || (phone_ok(s, &digits, true) && phone_cue(text, start));
    (phone && (support_line(text, start) || !id_labelled(text, start))).then_some((Kind::Phone, start))
}

/// A value whose three parts are spelt out before it, in its table column's header (`W-T-L (mm)`,
/// `min-step-max`) or on its line (`aisle-shelf-bin like 204-11-0042`): measures, bounds or
/// places written with dashes, not an SSN.
fn parts_named(text: &str, start: usize) -> bool {
    // A table's row and its header are read only within their first `ROW` bytes, so the work per
    // number is bounded however long the text or its lines.
    const ROW: usize = 1024;
    let window = ceil_char(text, start.saturating_sub(ROW));
    let line_start = text[window..start].rfind('\n').map(|i| window + i + 1);
    let near = ceil_char(text, start.saturating_sub(40).max(line_start.unwrap_or(0)));
    if names_three_parts(&text[near..start]) {
        return true;
    }
    let Some(line_start) = line_start.filter(|&l| l > 0) else { return false };
    let row = &text[line_start..start];
    let Some(sep) = [',', ';', '\t', '|'].into_iter().find(|&c| row.contains(c)) else { return false };
    let column = row.matches(sep).count();
    let head = &text[..ceil_char(text, ROW.min(text.len()))];
    let Some(header) = head.lines().find(|l| !l.trim().is_empty()) else { return false };
    header.split(sep).nth(column).is_some_and(names_three_parts)
}

/// Three words joined by dashes that name parts (`W-T-L`, `min-step-max`), not a phrase
/// (`up-to-date`, `face-to-face`).
fn names_three_parts(s: &str) -> bool {
    const JOINERS: &[&str] = &["to", "of", "the", "and", "in", "by", "a", "on", "for", "or", "at", "de", "la", "le", "du", "zu", "und"];
    s.split(|c: char| !c.is_alphanumeric() && c != '-').any(|w| {
        let parts: Vec<&str> = w.split('-').collect();
        parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(char::is_alphabetic) && !JOINERS.contains(&p.to_lowercase().as_str()))
    })
}

/// One end of a range of numbers that share all but their last group (`101-22-3344 through
/// 101-22-3399`, `… to …`, `…–…`): ids counted in order, not people's numbers.
fn in_range(text: &str, start: usize, end: usize) -> bool {
    const JOINS: &[&str] = &["through", "thru", "to", "till", "until", "and", "-", "–", "—", "..", "bis", "à", "a", "al"];
    let value = &text[start..end];
    let Some(stem) = value.rfind('-').map(|i| &value[..=i]) else { return false };
    let joined = |between: &str| JOINS.contains(&between.trim().to_lowercase().as_str());
    // The other end after this one, or before it.
    // Only as far as the other end can be (12 bytes between, then the stem), so the work per
    // number is bounded however many numbers a text holds.
    let ahead = &text[end..ceil_char(text, (end + 12 + stem.len()).min(text.len()))];
    let after = ahead.find(stem).is_some_and(|i| joined(&text[end..end + i]));
    let from = ceil_char(text, start.saturating_sub(12 + value.len()));
    let before = text[from..start].rfind(stem).map(|i| from + i).is_some_and(|i| {
        let other_end = text[i..start].find(|c: char| !c.is_ascii_digit() && c != '-').map_or(start, |k| i + k);
        start - other_end <= 12 && joined(&text[other_end..start])
    });
    after || before
}

/// Whether the word right after `end` is a unit of measure or a currency (not a letter alone: a
/// contact card's `M` or `W` labels what follows).
fn unit_after(text: &str, end: usize) -> bool {
    const UNITS: &[&str] = &[
        "kwh", "mwh", "wh", "kw", "mw", "kg", "mg", "km", "cm", "mm", "m2", "m²", "m3", "m³", "ml", "hl", "eur", "euro", "euros", "€",
        "usd", "$", "chf", "gbp", "£", "jpy", "¥", "yen", "%", "ms", "µs", "ns", "bytes", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "pcs", "stück",
        "units", "tonnes", "tons", "litres", "liters", "metres", "meters", "kilometres", "kilometers", "miles", "lbs", "gallons",
    ];
    let rest = text[end..].trim_start_matches([' ', '\u{a0}', '\u{202f}']);
    let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || matches!(c, '€' | '$' | '£' | '¥' | '%' | '²' | '³' | 'µ')).take(12).collect::<String>().to_lowercase();
    rest.len() < text.len() - end && UNITS.contains(&word.as_str()) || rest.starts_with(['€', '$', '£', '¥', '%'])
}

/// `123 45 6789`.
fn spaced_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11 && b[3] == b' ' && b[6] == b' ' && b.iter().enumerate().all(|(i, c)| i == 3 || i == 6 || c.is_ascii_digit())
}

/// `123-45-6789`.
fn ssn_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11 && b[3] == b'-' && b[6] == b'-' && b.iter().enumerate().all(|(i, c)| i == 3 || i == 6 || c.is_ascii_digit())
}

fn ssn_ok(d: &[u8]) -> bool {
    let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
    let group = u32::from(d[3]) * 10 + u32::from(d[4]);
    let serial = d[5..].iter().fold(0u32, |n, &x| n * 10 + u32::from(x));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// Cards are printed whole or in groups of 4 (Amex 4-6-5).
fn card_grouping(s: &str) -> bool {
    let groups: Vec<usize> = s.split([' ', '-']).filter(|g| !g.is_empty()).map(str::len).collect();
    match groups.as_slice() {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        gs => gs.iter().take(gs.len() - 1).all(|&g| g == 4) && gs.last().is_some_and(|&g| (1..=4).contains(&g)),
    }
}

/// Issuers' ranges and lengths: Visa 4 (13, 16, 19), Mastercard 51–55 and 2221–2720 (16),
/// Amex 34/37 (15), Discover 6011/644–649/65 (16–19), JCB 3528–3589 (16–19), Diners 36/38/300–305
/// (14–19), UnionPay 62 (16–19), Maestro 67 (16–19). A 15-digit IMEI that passes Luhn is none of them.
fn card_prefix(d: &[u8]) -> bool {
    let n = |k: usize| d[..k].iter().fold(0u32, |n, &x| n * 10 + u32::from(x));
    let len = d.len();
    match d[0] {
        4 => matches!(len, 13 | 16 | 19),
        5 => (51..=55).contains(&n(2)) && len == 16,
        2 => (2221..=2720).contains(&n(4)) && len == 16,
        3 => {
            (matches!(n(2), 34 | 37) && len == 15)
                || ((matches!(n(2), 36 | 38) || (300..=305).contains(&n(3))) && (14..=19).contains(&len))
                || ((3528..=3589).contains(&n(4)) && (16..=19).contains(&len))
        }
        6 => (n(4) == 6011 || (644..=649).contains(&n(3)) || matches!(n(2), 65 | 62 | 67)) && (16..=19).contains(&len),
        _ => false,
    }
}

pub fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A phone number: 8 to 15 digits (E.164), written as people write them — an international
/// prefix (`+`, `00`), or a leading 0, or area code groups — not a bare run of digits (an id).
/// `cue`: the text just said a phone number follows, which lets a national number without a
/// trunk prefix (`32 12 34 56`, `98765 43210`) through.
fn phone_ok(s: &str, digits: &[u8], cue: bool) -> bool {
    if !(8..=15).contains(&digits.len()) {
        return false;
    }
    // A country code starts 1–9: `00012-003` is no call abroad, nor any number at all.
    if s.starts_with("000") {
        return false;
    }
    let international = (s.starts_with('+') && !s.starts_with("+0")) || s.starts_with("00");
    // `+44 (0)20 …`: the trunk 0 kept in brackets is not a group of its own.
    let trunk = s.find("(0)");
    let without_trunk;
    let s = match trunk {
        Some(i) => {
            without_trunk = [&s[..i], &s[i + 3..]].concat();
            without_trunk.as_str()
        }
        None => s,
    };
    let grouped = s.bytes().any(|b| matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'/'));
    if !(international || grouped || (cue && digits.len() <= 12)) {
        return false;
    }
    // An address inside (`27.188.2.217 23.881`) makes it something else.
    if s.bytes().filter(|&b| b == b'.').count() >= 3 && IPV4.find_iter(s).any(|m| m.as_str().parse::<std::net::Ipv4Addr>().is_ok()) {
        return false;
    }
    // Dates and times (2024-01-15, 12.03.2024) and dotted versions are not phones.
    let groups: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    if s.len() >= 10 && matches!(s.as_bytes()[4], b'-' | b'.' | b'/') && groups.first().is_some_and(|g| g.len() == 4) {
        return false;
    }
    // A year and a month-day (`2024 0315 0042`): a dated reference number.
    let month_day = |g: &str| g.len() >= 4 && matches!(g[..2].parse::<u32>(), Ok(1..=12)) && matches!(g[2..4].parse::<u32>(), Ok(1..=31));
    if !international && groups.len() >= 2 && groups[0].len() == 4 && matches!(groups[0].parse::<u32>(), Ok(1990..=2039)) && month_day(groups[1]) {
        return false;
    }
    // Two times on the quarter hour (`0200-0400`): a window, not a number.
    let hhmm = |g: &str| g.len() == 4 && matches!(g[..2].parse::<u32>(), Ok(0..=23)) && matches!(g[2..].parse::<u32>(), Ok(0 | 15 | 30 | 45));
    if !cue && groups.len() == 2 && hhmm(groups[0]) && hhmm(groups[1]) {
        return false;
    }
    // A lone digit between groups only follows a country code (`+81 3-1234-5678`).
    if groups.iter().enumerate().skip(1).any(|(i, g)| g.len() == 1 && !(international && i == 1)) && groups.last().is_some_and(|g| g.len() > 1) {
        return false;
    }
    // A lone check digit at the end (`35-209900-176148-1`, an IMEI or an ISBN).
    if groups.len() >= 3 && groups.last().is_some_and(|g| g.len() == 1) && !cue {
        return false;
    }
    if groups.len() == 3 && groups[0].len() == 4 && groups[1].len() <= 2 && groups[2].len() <= 2 {
        return false;
    }
    if groups.len() == 3 && groups[2].len() == 4 && groups[0].len() <= 2 && groups[1].len() <= 2 {
        return false;
    }
    // A DOI or a path (`10.1000/182`).
    if s.contains('.') && s.contains('/') {
        return false;
    }
    if !international && s.contains('.') && !s.contains(' ') && groups.len() >= 3 && groups.iter().all(|g| g.len() <= 3) && !s.starts_with('0') {
        return false;
    }
    if cue {
        return true;
    }
    // Pairs of digits (`06 12 34 56 78`) are a number only with its trunk or country prefix,
    // and pairs in rising order under 60 are a lottery draw (`07 14 23 38 41`).
    if !international && groups.iter().all(|g| g.len() <= 2) && rising_small(&groups) {
        return false;
    }
    let pairs = groups.len() >= 4 && groups.iter().all(|g| g.len() == 2);
    if !international && pairs && (!s.starts_with('0') || rising_small(&groups)) {
        return false;
    }
    // Otherwise, without the words that say so, it must have the shape of a number dialled
    // without a trunk prefix: not a count grouped by thousands (`12 345 678`), a checksum in
    // fours or a D-U-N-S number, but a trunk prefix, an area code in brackets, or a national
    // number in its own country's grouping.
    international || s.starts_with('0') || s.starts_with('(') || national(&groups)
}

/// `212 555 0147`, `1-212-555-0147` (North America, area code 2–9xx; an Italian mobile, `347
/// 123 4567`, is written the same), `138 0013 8000` (a Chinese mobile, 13x–19x).
fn national(groups: &[&str]) -> bool {
    let g = match groups {
        ["1", rest @ ..] => rest,
        g => g,
    };
    let lead = |x: &str, from: u8| x.as_bytes().first().is_some_and(|b| (from..=b'9').contains(b));
    let north_american = matches!(g, [a, e, n] if a.len() == 3 && e.len() == 3 && n.len() == 4 && lead(a, b'2'));
    let chinese_mobile = matches!(groups, [a, b, c] if a.len() == 3 && b.len() == 4 && c.len() == 4 && a.starts_with('1') && lead(&a[1..], b'3'));
    north_american || chinese_mobile
}

/// Every group greater than the one before it, all under 60: numbers drawn and sorted.
fn rising_small(groups: &[&str]) -> bool {
    let values: Vec<u32> = groups.iter().map(|g| g.parse().unwrap_or(u32::MAX)).collect();
    values.len() >= 5 && values.windows(2).all(|w| w[0] < w[1]) && values.iter().all(|&v| v < 60)
}

fn iban_ok(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(len) = iban_length(&compact[..2]) else { return false };
    if compact.len() != len {
        return false;
    }
    // Move the first four to the end, letters as numbers (A = 10), and take mod 97.
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut rem: u32 = 0;
    for c in rearranged {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// Each country's IBAN length (the registry's list).
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" | "SD" | "FK" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" | "MN" => 20,
        "CH" | "CR" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" | "VA" => 22,
        "AE" | "GI" | "IL" | "TL" | "IQ" | "OM" | "SO" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" | "ST" | "LY" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" | "BI" | "DJ" => 27,
        "AL" | "AZ" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" | "BY" | "SV" | "NI" | "HN" => 28,
        "BR" | "EG" | "PS" | "QA" | "UA" => 29,
        "JO" | "KW" | "MU" | "YE" => 30,
        "MT" | "SC" => 31,
        "LC" => 32,
        "RU" => 33,
        _ => return None,
    })
}

/// Four octets of at most 255, not part of a longer dotted run (`1.2.3.4.5`, `v10.0.0.1`).
fn ipv4_ok(text: &str, start: usize, end: usize) -> bool {
    if byte_before(text, start).is_some_and(|b| b == b'.' || b.is_ascii_alphanumeric()) {
        return false;
    }
    // A version, a section, an object identifier (`attribute type 2.5.4.3`), an article number
    // (`Art.-Nr. 12.34.56.78`).
    const OID_LABELS: &[&str] = &["oid", "attribute", "type", "arc"];
    if labelled(text, start, NUMBERING_LABELS) || labelled(text, start, OID_LABELS) || labelled(text, start, PART_LABELS) || NUMBER_WORDS.contains(&label_before(text, start).rsplit(|c: char| !c.is_alphanumeric() && c != '#' && c != '°').find(|p| !p.is_empty()).unwrap_or("")) {
        return false;
    }
    if byte_at(text, end) == Some(b'.') && byte_at(text, end + 1).is_some_and(|b| b.is_ascii_digit()) {
        return false;
    }
    // An image's tag (`registry.example.com:5000/platform/api:2.8.0.241`): a reference of at
    // most 255 bytes, so no more is read back.
    if byte_before(text, start) == Some(b':') {
        let reference = &text[ceil_char(text, (start - 1).saturating_sub(255))..start - 1];
        if reference.rsplit(char::is_whitespace).next().is_some_and(|t| t.contains('/') && !t.ends_with('/')) {
            return false;
        }
    }
    if byte_at(text, end).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return false;
    }
    let Ok(ip) = text[start..end].parse::<std::net::Ipv4Addr>() else { return false };
    let o = ip.octets();
    // A host's address: not `0.…`, not multicast or reserved (224 and up: `255.255.255.0` is a
    // netmask).
    if o[0] == 0 || o[0] >= 224 {
        return false;
    }
    // Four small numbers after a small first one (`1.24.3.0`, `2.1.3.4`, `3.14.15.92`) are how
    // versions and section numbers are written, and one real address in tens of thousands: an
    // address only when the text says so, or when it repeats one number (`1.1.1.1`, `8.8.8.8`).
    let small = o[0] < 10 && o[1..].iter().all(|&x| x < 100) && !o.iter().all(|&x| x == o[0]);
    !small || network_cue(text, start)
}

/// Words that say an address of a machine is near (`ping`, `host`, `server`, `dns`), unless a
/// word that says a version follows them (`Router firmware 1.1.4.2 … you have 1.1.3.8`).
fn network_cue(text: &str, start: usize) -> bool {
    const WORDS: &[&str] = &[
        "ip", "ips", "ipv4", "address", "addr", "host", "hosts", "server", "ping", "dns", "resolver", "gateway", "router", "subnet", "ssh", "connect", "connection",
        "blocked", "banned", "allowed", "denied", "client", "peer", "remote", "src", "dst", "source", "destination", "nameserver", "proxy", "firewall", "allow", "deny", "block", "inet", "curl", "http",
        "https", "listen", "bind", "adresse", "dirección", "indirizzo",
    ];
    words_before(text, start, 6).iter().rev().find_map(|w| {
        let w = w.as_str();
        if NUMBERING_LABELS.contains(&w) {
            Some(false)
        } else {
            WORDS.contains(&w).then_some(true)
        }
    }) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        super::super::found(scan, text)
    }

    #[test]
    fn cards_pass_luhn_and_order_numbers_do_not() {
        assert_eq!(kinds("card 4111 1111 1111 1111 thanks"), [(Kind::Card, "4111 1111 1111 1111")]);
        assert_eq!(kinds("amex 3782-822463-10005"), [(Kind::Card, "3782-822463-10005")]);
        assert!(kinds("order 4111 1111 1111 1112 shipped").is_empty(), "fails Luhn");
        assert!(kinds("tracking 1234567812345678").is_empty());
    }

    #[test]
    fn ibans_pass_mod_97() {
        assert_eq!(kinds("pay to GB82 WEST 1234 5698 7654 32."), [(Kind::Iban, "GB82 WEST 1234 5698 7654 32")]);
        assert_eq!(kinds("DE89370400440532013000"), [(Kind::Iban, "DE89370400440532013000")]);
        assert!(kinds("GB83 WEST 1234 5698 7654 32").is_empty());
    }

    #[test]
    fn ssns_in_valid_ranges_only() {
        assert_eq!(kinds("SSN 123-45-6789"), [(Kind::Ssn, "123-45-6789")]);
        for bad in ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000"] {
            assert!(kinds(bad).is_empty(), "{bad}");
        }
    }

    #[test]
    fn emails_but_not_code() {
        assert_eq!(kinds("write to jane.doe+x@mail.example.org now"), [(Kind::Email, "jane.doe+x@mail.example.org")]);
        for code in ["git@github.com:org/repo.git", "npm i @scope/pkg@1.2.3", "icon@2x.png", "user@localhost", "deploy@web01.prod.lan:~$ ls", "ssh://git@github.com/org/repo.git"] {
            assert!(kinds(code).is_empty(), "{code}");
        }
    }

    #[test]
    fn labelled_identifiers_times_and_numbering_are_not_personal_data() {
        for not in [
            "[2024-04-11 16:02:33] queued",
            "ISBN 978-84-8965-501-0 (paperback)",
            "Order #100-2345-6789 was split",
            "Serial number: SN 4471 2093 8812",
            "Mat.-Nr. 0049 3012 99 steht",
            "P/N 512-07-3390-B, torque 35 Nm",
            "See section 4.2.1.3 of the spec",
            "Version=4.2.2.0, Culture=neutral",
            "Available sizes: 38 40 42 44 46",
            "Coordinates 48.8566.2.3522 were concatenated",
        ] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
        assert_eq!(kinds("Your SSN (286-06-7268) is verified"), [(Kind::Ssn, "286-06-7268")]);
        assert_eq!(kinds("hop 7: 27.188.2.217 23.881 ms"), [(Kind::IpAddress, "27.188.2.217")]);
        assert_eq!(kinds("Tokyo office +81 3-1234-5678"), [(Kind::Phone, "+81 3-1234-5678")]);
        assert_eq!(kinds("appelez le 06 12 34 56 78"), [(Kind::Phone, "06 12 34 56 78")]);
    }

    #[test]
    fn context_tells_an_ssn_shaped_label_or_a_draw_from_personal_data() {
        for not in ["Rack location 104-22-0007 in aisle C.", "Bin 233-41-5120 is empty", "Tirage du loto : 07 14 23 38 41, numéro chance 6.", "Winning numbers 03 11 27 42 58", "IMEI 35-209900-176148-1"] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
        for not in ["Order no. 020 7946 0123", "Contact ID 0176 12345678", "The numbers below: 1234 5678", "Kundennummer 0176 1234567"] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
        for not in ["{\"version\": \"10.0.0.1\"}", "<version>4.2.2.0</version>", "[assembly: AssemblyVersion(\"1.0.0.0\")]", "{\"order_id\": \"0176 12345678\"}"] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
        assert_eq!(kinds("{\"customer_phone\": \"+49 170 3056 5071\"}"), [(Kind::Phone, "+49 170 3056 5071")]);
        assert_eq!(kinds("{\"client_ip\": \"188.3.156.183\"}"), [(Kind::IpAddress, "188.3.156.183")]);
        assert_eq!(kinds("Phone no. 020 7946 0123"), [(Kind::Phone, "020 7946 0123")]);
        assert_eq!(kinds("Phone #: 020 7946 0123"), [(Kind::Phone, "020 7946 0123")]);
        assert_eq!(kinds("SSN on file 104-22-0007"), [(Kind::Ssn, "104-22-0007")]);
        assert_eq!(kinds("Tel.-Nr. 040 765 1855"), [(Kind::Phone, "040 765 1855")]);
        assert_eq!(kinds("Ring mig på 32 12 34 56"), [(Kind::Phone, "32 12 34 56")]);
        assert_eq!(kinds("call me on 06 39 98 98 89"), [(Kind::Phone, "06 39 98 98 89")]);
    }

    #[test]
    fn labels_dates_windows_and_accounts_tell_numbers_apart() {
        // Said to be an SSN: spaced or bare.
        assert_eq!(kinds("SSN 508 63 2471 on file"), [(Kind::Ssn, "508 63 2471")]);
        assert_eq!(kinds("row contains ssn=641270385 (employee 4471)"), [(Kind::Ssn, "641270385")]);
        assert!(kinds("Batch 641270385 shipped").is_empty());
        // A line one calls, and a number inside an account.
        assert_eq!(kinds("Sydney support line: +61 2 5550 3127"), [(Kind::Phone, "+61 2 5550 3127")]);
        assert_eq!(kinds("IBAN: NL35 GCLA 0717 7384 95").iter().map(|k| k.0).collect::<Vec<_>>(), [Kind::Iban]);
        for not in [
            "Lotto numbers this week: 7 12 19 28 33 41, bonus ball 5",
            "Maintenance window 0200-0400 UTC",
            "N° de commande : 2024 0315 0042",
            "Log rotated at 2024.03.15 14.30.00",
            "00000010: 4865 6c6c 6f2c 2057",
            "VAT Reg No. GB 314 1592 65",
            "Form SSA-89, OMB No. 0960-0760",
            "offset = 512-64-1024  # header and trailer",
            "Art.-Nr. 12.34.56.78 (filter)",
            "LDAP attribute type 2.5.4.3 is commonName.",
        ] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
    }

    #[test]
    fn phones_and_addresses() {
        assert_eq!(kinds("call +44 20 7946 0958"), [(Kind::Phone, "+44 20 7946 0958")]);
        assert_eq!(kinds("ring (415) 555-0132"), [(Kind::Phone, "(415) 555-0132")]);
        assert_eq!(kinds("host 192.168.10.20 down"), [(Kind::IpAddress, "192.168.10.20")]);
        assert_eq!(kinds("v6 2001:db8::8a2e:370:7334 up"), [(Kind::IpAddress, "2001:db8::8a2e:370:7334")]);
        assert_eq!(kinds("via fe80::1ff:fe23:4567:890a%eth0 and"), [(Kind::IpAddress, "fe80::1ff:fe23:4567:890a%eth0")]);
        assert_eq!(kinds("mapped ::ffff:192.0.2.128 here"), [(Kind::IpAddress, "::ffff:192.0.2.128")]);
        for not in ["version 1.2.3.4.5", "v10.0.0.1-beta", "999.1.1.1", "on 2024-01-15", "std::vec::Vec", "mac 00:1A:2B:3C:4D:5E", "the name (without ::)", "bind [::1]:8080"] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
    }

    #[test]
    fn grouped_counts_versions_netmasks_and_id_ranges_are_not_personal_data() {
        for not in [
            "Die Region hat rund 12 345 678 Einwohner.",
            "Total rows scanned: 48 213 907 (of 112 004 551).",
            "Upgrade the chart from 1.24.3.0 to 1.25.0.1 tonight.",
            "Figures 2.1.3.4 through 2.1.3.9 show the layout.",
            "Netmask 255.255.255.0 on every subnet; 0.0.0.0 listens everywhere.",
            "Run tests 101-22-3344 through 101-22-3399 after the merge.",
            "Cases 204-11-0042 to 204-11-0057 were closed.",
            "Checksum 8841 2290 1177 matched the manifest.",
            "D-U-N-S 15-048-3782",
            "Zählerstand 0012 3456 kWh am Jahresende",
            "Budget: 1 250 480 000 EUR",
            "Transit 00012-003 (Canada)",
            "部品番号 512-77-0193 の在庫を確認してください。",
        ] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
        // The same shapes where the text says what they are, or where they could be nothing else.
        assert_eq!(kinds("Call 12 345 678 tonight"), [(Kind::Phone, "12 345 678")]);
        assert_eq!(kinds("reach me on 415-555-0132"), [(Kind::Phone, "415-555-0132")]);
        assert_eq!(kinds("scrivimi al 347 123 4567 stasera"), [(Kind::Phone, "347 123 4567")]);
        assert_eq!(kinds("我的手机 138 0013 8000"), [(Kind::Phone, "138 0013 8000")]);
        assert_eq!(kinds("電話番号 03-1234-5678"), [(Kind::Phone, "03-1234-5678")]);
        assert_eq!(kinds("matched field=tax_id value=367-91-2204"), [(Kind::Ssn, "367-91-2204")]);
        assert_eq!(kinds("ping 2.1.3.4 fails"), [(Kind::IpAddress, "2.1.3.4")]);
        assert_eq!(kinds("resolving through 1.1.1.1 now"), [(Kind::IpAddress, "1.1.1.1")]);
        assert_eq!(kinds("from 10.0.0.5 to 10.0.0.6"), [(Kind::IpAddress, "10.0.0.5"), (Kind::IpAddress, "10.0.0.6")]);
        assert_eq!(kinds("SSNs 101-22-3344 through 101-22-3399 on file"), [(Kind::Ssn, "101-22-3344"), (Kind::Ssn, "101-22-3399")]);
        assert_eq!(kinds("Dependents: 879-12-4057 and 403-75-1198"), [(Kind::Ssn, "879-12-4057"), (Kind::Ssn, "403-75-1198")]);
    }

    #[test]
    fn firmware_part_numbers_image_tags_hardware_addresses_and_spelt_out_parts_are_not_personal_data() {
        for not in [
            // A version named after a network word, and one that follows it.
            "Access point firmware 2.0.7.14 ships Monday; yours runs 2.0.6.9.",
            "Gateway BIOS 1.3.0.22 fixes the fan curve.",
            // A part, an image's tag, a hardware address.
            "Order two of P/N 14.2.180.6 for the pump.",
            "image: registry.example.com/team/worker:3.1.0.200",
            "neighbour 02:1a:2b:ff:fe:3c:4d:5e joined the mesh",
            // Three parts spelt out before them, in prose or in a table's header.
            "Shelf codes follow row-bay-level, e.g. 233-14-0907.",
            "part,H-W-D (cm),stock\ncabinet,180-45-0600,3",
            // `Bestelnummer` (Dutch, an order) holds `tel` but is no phone's or card's number.
            "Bestelnummer 414-27-6650 is onderweg.",
        ] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
        // Addresses and SSNs the same rules must leave alone.
        assert_eq!(kinds("router 2.0.7.14 drops packets"), [(Kind::IpAddress, "2.0.7.14")]);
        assert_eq!(kinds("firmware pulled from host 2.0.7.14"), [(Kind::IpAddress, "2.0.7.14")]);
        assert_eq!(kinds("ssh admin@host:22 via 10.20.30.40"), [(Kind::IpAddress, "10.20.30.40")]);
        assert_eq!(kinds("peer fe80::21a:2bff:fe3c:4d5e is up"), [(Kind::IpAddress, "fe80::21a:2bff:fe3c:4d5e")]);
        assert_eq!(kinds("Our up-to-date record: 233-14-0907"), [(Kind::Ssn, "233-14-0907")]);
        assert_eq!(kinds("name,ssn\nAda,233-14-0907"), [(Kind::Ssn, "233-14-0907")]);
        assert_eq!(kinds("Telefonnummer 030 1234567"), [(Kind::Phone, "030 1234567")]);
    }

    #[test]
    fn large_and_degenerate_texts_stay_fast() {
        // SSN-shaped numbers whose stems never recur (each end of a range is looked for), on one
        // long line of a table (each one's row and header are read).
        let distinct: String = (0..60_000u32).map(|i| format!("{:03}-{:02}-{:04}, ", 100 + i % 700, 10 + i % 89, 1000 + i % 9000)).collect();
        // Addresses after a colon, each a candidate image tag, in one run with no space.
        let tags = format!("a/b{}", ":10.0.0.1".repeat(100_000));
        for text in [distinct.clone(), format!("id,W-T-L\n{distinct}"), format!("{}{distinct}", ",".repeat(300_000)), format!("{}\n{distinct}", "x".repeat(300_000)), tags] {
            let started = std::time::Instant::now();
            let _ = kinds(&text);
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        }
    }

    #[test]
    fn windows_find_what_a_whole_text_search_finds() {
        // Values at the very start and end, next to one another, and far apart.
        let text = "4111 1111 1111 1111, host 10.0.0.1 and GB82 WEST 1234 5698 7654 32 or phone +44 20 7946 0958 then ".repeat(3) + "2001:db8::1";
        let found = kinds(&text);
        assert_eq!(found.len(), 13, "{found:?}");
        assert_eq!(found[..4], [(Kind::Card, "4111 1111 1111 1111"), (Kind::IpAddress, "10.0.0.1"), (Kind::Iban, "GB82 WEST 1234 5698 7654 32"), (Kind::Phone, "+44 20 7946 0958")]);
        assert_eq!(found.last(), Some(&(Kind::IpAddress, "2001:db8::1")));
    }
}
