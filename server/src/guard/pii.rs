//! Personal data: email addresses, phone numbers, payment cards, IBANs, US social security
//! numbers and IP addresses. A candidate is found by its shape and kept only when it checks
//! out as the real thing would (Luhn for cards, mod-97 for IBANs, the SSN's valid ranges, an
//! address's octets), so an order number or a version string is not taken for one.

use std::sync::LazyLock;

use regex::Regex;

use super::{Finding, Kind};

fn pattern(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| unreachable!("static pattern: {e}"))
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| pattern(r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"));

/// Digits in groups, with the separators people write cards, phones and SSNs with.
static DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?:\+|\b00)?\(?\d[\d \-.()/]{5,28}\d\b"));

static IBAN: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"));

static IPV4: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"));

static IPV6: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:%[0-9a-z]+)?"));

/// Finds personal data in `text`.
pub fn scan(text: &str, out: &mut Vec<Finding>) {
    if text.contains('@') {
        for m in EMAIL.find_iter(text) {
            if email_ok(text, m.start(), m.end()) {
                out.push(Finding::new(Kind::Email, m.start(), m.end()));
            }
        }
    }
    if text.bytes().any(|b| b.is_ascii_digit()) {
        for m in DIGIT_RUN.find_iter(text) {
            if let Some((kind, start)) = digits_kind(text, m.start(), m.end()) {
                out.push(Finding::new(kind, start, m.end()));
            }
        }
        for m in IBAN.find_iter(text) {
            if iban_ok(m.as_str()) {
                out.push(Finding::new(Kind::Iban, m.start(), m.end()));
            }
        }
        for m in IPV4.find_iter(text) {
            if ipv4_ok(text, m.start(), m.end()) {
                out.push(Finding::new(Kind::IpAddress, m.start(), m.end()));
            }
        }
    }
    if text.contains("::") || text.matches(':').nth(3).is_some() {
        for m in IPV6.find_iter(text) {
            if m.as_str().parse::<std::net::Ipv6Addr>().is_ok() && !neighbours_word(text, m.start(), m.end()) {
                out.push(Finding::new(Kind::IpAddress, m.start(), m.end()));
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
/// `@scope/pkg@1.2.3`, `icon@2x.png`, `user@localhost`.
fn email_ok(text: &str, start: usize, end: usize) -> bool {
    let s = &text[start..end];
    let Some((_, domain)) = s.rsplit_once('@') else { return false };
    // A file name after the @ (`icon@2x.png`) or an SSH remote (`git@host:org/repo`).
    let tld = domain.rsplit('.').next().unwrap_or("");
    let file_like = matches!(tld.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" | "js" | "ts" | "css" | "json" | "md" | "txt" | "py" | "rs" | "git");
    let ssh_remote = byte_at(text, end) == Some(b':') && text[end + 1..].bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    let scoped_package = byte_before(text, start) == Some(b'/');
    !(file_like || ssh_remote || scoped_package)
}

/// Words that label the number after them as an identifier of something (an order, a part, a
/// book), not a way to reach a person.
const ID_LABELS: &[&str] = &[
    "order", "invoice", "ref", "reference", "serial", "sn", "s/n", "lot", "batch", "part", "p/n", "nr", "no", "ticket", "tracking",
    "isbn", "isbn-10", "isbn-13", "sku", "id", "account", "acct", "case", "mat", "item", "model", "build", "version",
];

/// Words that say the dotted numbers after them are a version or a section, not an address.
const NUMBERING_LABELS: &[&str] = &["version", "ver", "v", "section", "sec", "§", "chapter", "release", "build", "rule", "step", "clause", "article"];

/// The word just before `start` (letters, digits and `/-.#`, lowercased), skipping spaces and
/// `:`, `=`, `#`.
fn label_before(text: &str, start: usize) -> String {
    let head = text[..start].trim_end_matches([' ', ':', '=', '#', '\t', '(']);
    let word: String = head.chars().rev().take_while(|c| c.is_alphanumeric() || matches!(c, '/' | '-' | '.' | '§')).collect();
    word.chars().rev().collect::<String>().trim_end_matches('.').to_lowercase()
}

fn labelled(text: &str, start: usize, labels: &[&str]) -> bool {
    let label = label_before(text, start);
    // The whole word (`p/n`) or its last part (`Mat.-Nr.` → `nr`).
    let last = label.rsplit(|c: char| !c.is_alphanumeric() && c != '§').next().unwrap_or("");
    labels.contains(&label.as_str()) || labels.contains(&last) || text[..start].trim_end().ends_with('#')
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
    if labelled(text, start, ID_LABELS) {
        return None;
    }
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    if ssn_shape(s) {
        return ssn_ok(&digits).then_some((Kind::Ssn, start));
    }
    let separators_only_spaces_dashes = s.bytes().all(|b| b.is_ascii_digit() || b == b' ' || b == b'-');
    if (13..=19).contains(&digits.len()) && separators_only_spaces_dashes && card_grouping(s) {
        if luhn(&digits) && card_prefix(&digits) {
            return Some((Kind::Card, start));
        }
        // A number of a card's length that fails the check is an order or tracking number.
        return None;
    }
    phone_ok(s, &digits).then_some((Kind::Phone, start))
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

/// Issuers' ranges: Visa 4, Mastercard 51–55 and 2221–2720, Amex 34/37, Discover 6011/644–649/65,
/// JCB 3528–3589, Diners 36/38/300–305, UnionPay 62.
fn card_prefix(d: &[u8]) -> bool {
    let n = |k: usize| d[..k].iter().fold(0u32, |n, &x| n * 10 + u32::from(x));
    match d[0] {
        4 => true,
        5 => (51..=55).contains(&n(2)),
        2 => (2221..=2720).contains(&n(4)),
        3 => matches!(n(2), 34 | 36 | 37 | 38) || (300..=305).contains(&n(3)) || (3528..=3589).contains(&n(4)),
        6 => n(4) == 6011 || (644..=649).contains(&n(3)) || n(2) == 65 || n(2) == 62,
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
    sum % 10 == 0
}

/// A phone number: 8 to 15 digits (E.164), written as people write them — an international
/// prefix (`+`, `00`), or a leading 0, or area code groups — not a bare run of digits (an id).
fn phone_ok(s: &str, digits: &[u8]) -> bool {
    if !(8..=15).contains(&digits.len()) {
        return false;
    }
    let international = s.starts_with('+') || s.starts_with("00");
    let grouped = s.bytes().any(|b| matches!(b, b' ' | b'-' | b'.' | b'(' | b')'));
    if !international && !grouped {
        return false;
    }
    // An address inside (`27.188.2.217 23.881`) makes it something else.
    if IPV4.find_iter(s).any(|m| m.as_str().parse::<std::net::Ipv4Addr>().is_ok()) {
        return false;
    }
    // Dates and times (2024-01-15, 12.03.2024) and dotted versions are not phones.
    let groups: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    if s.len() >= 10 && s.as_bytes()[4] == b'-' && groups.first().is_some_and(|g| g.len() == 4) {
        return false;
    }
    // A lone digit between groups only follows a country code (`+81 3-1234-5678`).
    if groups.iter().enumerate().skip(1).any(|(i, g)| g.len() == 1 && !(international && i == 1)) && groups.last().is_some_and(|g| g.len() > 1) {
        return false;
    }
    // Pairs of digits (`06 12 34 56 78`) are a number only with its trunk or country prefix.
    if !international && !s.starts_with('0') && groups.len() >= 4 && groups.iter().all(|g| g.len() == 2) {
        return false;
    }
    if groups.len() == 3 && groups[0].len() == 4 && groups[1].len() <= 2 && groups[2].len() <= 2 {
        return false;
    }
    if groups.len() == 3 && groups[2].len() == 4 && groups[0].len() <= 2 && groups[1].len() <= 2 {
        return false;
    }
    if !international && s.contains('.') && !s.contains(' ') && groups.len() >= 3 && groups.iter().all(|g| g.len() <= 3) && !s.starts_with('0') {
        return false;
    }
    international || s.starts_with('0') || s.starts_with('(') || groups.len() >= 3
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
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" => 20,
        "CH" | "CR" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "GI" | "IL" | "TL" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" | "ST" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" => 28,
        "BR" | "EG" | "PS" | "QA" | "UA" => 29,
        "JO" | "KW" | "MU" => 30,
        "MT" | "SC" => 31,
        "LC" => 32,
        _ => return None,
    })
}

/// Four octets of at most 255, not part of a longer dotted run (`1.2.3.4.5`, `v10.0.0.1`).
fn ipv4_ok(text: &str, start: usize, end: usize) -> bool {
    if byte_before(text, start).is_some_and(|b| b == b'.' || b.is_ascii_alphanumeric()) {
        return false;
    }
    if labelled(text, start, NUMBERING_LABELS) {
        return false;
    }
    if byte_at(text, end) == Some(b'.') && byte_at(text, end + 1).is_some_and(|b| b.is_ascii_digit()) {
        return false;
    }
    if byte_at(text, end).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return false;
    }
    text[start..end].parse::<std::net::Ipv4Addr>().is_ok()
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
        for code in ["git@github.com:org/repo.git", "npm i @scope/pkg@1.2.3", "icon@2x.png", "user@localhost"] {
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
    fn phones_and_addresses() {
        assert_eq!(kinds("call +44 20 7946 0958"), [(Kind::Phone, "+44 20 7946 0958")]);
        assert_eq!(kinds("ring (415) 555-0132"), [(Kind::Phone, "(415) 555-0132")]);
        assert_eq!(kinds("host 192.168.10.20 down"), [(Kind::IpAddress, "192.168.10.20")]);
        assert_eq!(kinds("v6 2001:db8::8a2e:370:7334 up"), [(Kind::IpAddress, "2001:db8::8a2e:370:7334")]);
        for not in ["version 1.2.3.4.5", "v10.0.0.1-beta", "999.1.1.1", "on 2024-01-15", "std::vec::Vec"] {
            assert!(kinds(not).is_empty(), "{not}: {:?}", kinds(not));
        }
    }
}
