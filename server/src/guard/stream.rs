//! Masking text that arrives in pieces (a streamed answer): a value split across chunks is
//! still found and masked, and no more text is held back than a value could still need.
//!
//! What is released is everything before the earliest of: the last `hold` characters (the
//! longest a shaped value — an email, a card, an IBAN, a key — can be); a run of token
//! characters that reaches the end of what arrived (a key or a JWT still being streamed,
//! however long, up to `max_hold` bytes); the start of a private key block not yet ended; the
//! start of a value found across that point. Released text has its values masked (`[EMAIL]`).
//!
//! A private key block too long to hold whole goes out masked as far as it had come, and the
//! rest of its key material is masked with it as it arrives, up to the block's end.
//!
//! The detectors see the last 256 bytes already released as well, so what a value is
//! depends on the text before it as it would in the whole text (`Bearer` before a token, a
//! label before a number, `example` before a key); a piece is masked as the whole text would
//! be, however it was split.

use super::{Finding, Kind};

/// What detectors a stream is scanned with.
pub type Scan = fn(&str, &mut Vec<Finding>);

/// What finds values in a stream, and what each becomes.
pub trait Detect: Send + Sync {
    fn scan(&self, text: &str, out: &mut Vec<Finding>);
    /// What a value found is masked as.
    fn label(&self, f: &Finding) -> String {
        format!("[{}]", f.kind.as_str().to_ascii_uppercase())
    }
}

impl Detect for Vec<Scan> {
    fn scan(&self, text: &str, out: &mut Vec<Finding>) {
        for scan in self {
            scan(text, out);
        }
    }
}

/// How much released text is kept for the detectors to read before what is held back.
const CONTEXT: usize = 256;

pub struct StreamMasker {
    scans: Box<dyn Detect>,
    /// The last of what was released (up to `CONTEXT` bytes, for the detectors only), then
    /// what is held back, from `sent` on.
    text: String,
    sent: usize,
    /// Characters kept back at the end, for a value that may still be growing.
    hold: usize,
    /// The most that is ever held back, in bytes: past it, text goes out as it is.
    max_hold: usize,
    findings: Vec<Finding>,
    /// In a private key block released (masked) before its end: what follows of its key
    /// material is masked too.
    in_key_block: bool,
    /// What went out last was the mask of a value of this kind (from this detector, by its
    /// tag): the rest of that value, found later, goes under the same mask.
    ends_masked: Option<(Kind, u16)>,
    /// What was masked so far (positions are those in the text held at the time).
    pub masked: Vec<Finding>,
}

/// Characters a key, token or JWT is made of.
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '/' | '=' | '~')
}

const BEGIN: &str = "-----BEGIN ";

impl StreamMasker {
    pub fn new(scans: Vec<Scan>, hold: usize, max_hold: usize) -> Self {
        Self::with_detector(Box::new(scans), hold, max_hold)
    }

    pub fn with_detector(scans: Box<dyn Detect>, hold: usize, max_hold: usize) -> Self {
        Self { scans, text: String::new(), sent: 0, hold, max_hold, findings: Vec::new(), in_key_block: false, ends_masked: None, masked: Vec::new() }
    }

    /// Takes the next piece; returns what may go out now, masked.
    pub fn push(&mut self, piece: &str) -> String {
        self.text.push_str(piece);
        self.skip_key_material();
        let boundary = self.boundary();
        self.release(boundary)
    }

    /// The stream ended: everything left goes out, masked.
    pub fn finish(&mut self) -> String {
        self.skip_key_material();
        self.scan();
        self.release(self.text.len())
    }

    /// In a private key block masked before its end: its lines of key material go (masked with
    /// what went before) up to a line that is not one, such as its end line or a sentence; a
    /// line not complete yet waits.
    fn skip_key_material(&mut self) {
        if !self.in_key_block {
            return;
        }
        let b = self.text.as_bytes();
        let key = |x: u8| x.is_ascii_alphanumeric() || matches!(x, b'+' | b'/' | b'=');
        let mut i = self.sent;
        loop {
            let mut j = i + b[i..].iter().take_while(|&&x| x == b' ' || x == b'\t').count();
            loop {
                match (b.get(j).copied(), b.get(j + 1).copied()) {
                    (Some(x), _) if key(x) => j += 1,
                    // `\/` in a JSON string.
                    (Some(b'\\'), Some(b'/')) => j += 2,
                    _ => break,
                }
            }
            // The line's break, plain or written `\n` in a JSON string.
            let line_break = match (b.get(j).copied(), b.get(j + 1).copied(), b.get(j + 2).copied()) {
                (Some(b'\n'), _, _) => 1,
                (Some(b'\r'), Some(b'\n'), _) => 2,
                (Some(b'\\'), Some(b'n'), _) => 2,
                (Some(b'\\'), Some(b'r'), Some(b'\\')) if b.get(j + 3) == Some(&b'n') => 4,
                (None, _, _) | (Some(b'\r' | b'\\'), None, _) | (Some(b'\\'), Some(b'r'), None | Some(b'\\')) => break,
                _ => {
                    self.in_key_block = false;
                    break;
                }
            };
            i = j + line_break;
        }
        self.sent = i;
    }

    fn scan(&mut self) {
        self.findings.clear();
        self.scans.scan(&self.text, &mut self.findings);
    }

    /// Where what may go out ends, in `text`.
    fn boundary(&mut self) -> usize {
        let text = &self.text;
        let len = text.len();
        let pending = &text[self.sent..];
        // The last `hold` characters.
        let mut b = if self.hold == 0 { len } else { self.sent + pending.char_indices().rev().nth(self.hold - 1).map_or(0, |(i, _)| i) };
        // A run of token characters reaching the end.
        let run_start = pending.char_indices().rev().take_while(|&(_, c)| token_char(c)).last().map_or(len, |(i, _)| self.sent + i);
        b = b.min(run_start);
        // A private key block not ended yet.
        if let Some(open) = memchr::memmem::rfind(pending.as_bytes(), BEGIN.as_bytes()) {
            let rest = &pending[open..];
            let ended = rest.find("-----END ").is_some_and(|e| rest[e + 9..].contains("-----"));
            if !ended {
                b = b.min(self.sent + open);
            }
        }
        // Never more than `max_hold` held back: the bound rounds up to a character's start.
        let mut floor = len.saturating_sub(self.max_hold).max(self.sent);
        while !text.is_char_boundary(floor) {
            floor += 1;
        }
        b = b.max(floor);
        if b <= self.sent {
            // Nothing can go out yet: what is held is read when some of it can.
            self.findings.clear();
            return self.sent;
        }
        self.scan();
        // A value across the boundary waits whole.
        loop {
            let across = self.findings.iter().filter(|f| f.start < b && f.end > b).map(|f| f.start.max(self.sent)).min();
            match across {
                Some(start) if start < b && start >= floor => b = start,
                _ => break,
            }
        }
        b
    }

    fn release(&mut self, boundary: usize) -> String {
        let mut out = String::with_capacity(boundary - self.sent);
        let mut at = self.sent;
        let mut found: Vec<Finding> = self.findings.iter().copied().filter(|f| f.start < boundary && f.end > self.sent).collect();
        found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        let mut last = None;
        for f in found {
            // A value found only now that began in text already released: the rest of it.
            let start = f.start.max(self.sent);
            if start < at {
                // Overlapping the one masked before it: what it adds is masked with that one.
                at = at.max(f.end);
                continue;
            }
            let continued = f.start < self.sent && start == self.sent && self.ends_masked == Some((f.kind, f.tag));
            out.push_str(&self.text[at..start]);
            if !continued {
                out.push_str(&self.scans.label(&f));
                self.masked.push(f);
            }
            at = f.end;
            last = Some(f);
        }
        let end = boundary.max(at);
        // A private key block masked as far as it has come, not ended, and nothing but line
        // breaks released after it: more of it may follow.
        let tail = &self.text[at.min(end)..end];
        if let Some(f) = last {
            self.in_key_block = f.kind == Kind::PrivateKey && !self.text[f.start..f.end].contains("-----END") && tail.bytes().all(|x| x.is_ascii_whitespace() || x == b'\\' || x == b'n');
        } else if !tail.is_empty() {
            self.in_key_block = false;
        }
        out.push_str(&self.text[at.min(end)..end]);
        if !out.is_empty() {
            self.ends_masked = last.filter(|_| tail.is_empty()).map(|f| (f.kind, f.tag));
        }
        self.sent = end;
        // Keep the last of it for the detectors to read before what comes next.
        let mut keep = end.saturating_sub(CONTEXT);
        while !self.text.is_char_boundary(keep) {
            keep += 1;
        }
        self.text.drain(..keep);
        self.sent -= keep;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::{pii, secrets};
    use super::*;

    /// Bytes held back.
    fn held(m: &StreamMasker) -> usize {
        m.text.len() - m.sent
    }

    fn masker() -> StreamMasker {
        StreamMasker::new(vec![pii::scan, secrets::scan], 64, 16 * 1024)
    }

    fn stream(pieces: &[&str]) -> (String, Vec<String>) {
        let mut m = masker();
        let mut outs: Vec<String> = pieces.iter().map(|p| m.push(p)).collect();
        outs.push(m.finish());
        (outs.concat(), outs)
    }

    /// `text` cut at the given byte offsets (moved to the next character's start).
    fn cut<'a>(text: &'a str, at: &[usize]) -> Vec<&'a str> {
        let mut pieces = Vec::new();
        let mut from = 0;
        for &a in at {
            let mut a = a.clamp(from, text.len());
            while !text.is_char_boundary(a) {
                a += 1;
            }
            pieces.push(&text[from..a]);
            from = a;
        }
        pieces.push(&text[from..]);
        pieces
    }

    #[test]
    fn a_key_split_across_three_chunks_is_masked_and_never_released_in_part() {
        let key = "sk-proj-4fG7hK2mN9pQ1rS5tV8wX3yZ6aB0cD2e";
        let (all, outs) = stream(&["Your key is sk-pro", "j-4fG7hK2mN9pQ1rS5", "tV8wX3yZ6aB0cD2e. Keep it safe, it is yours to use."]);
        assert_eq!(all, "Your key is [OPENAI_KEY]. Keep it safe, it is yours to use.");
        for o in &outs {
            assert!(!o.contains("4fG7") && !o.contains("cD2e") && !o.contains(&key[..12]), "{o:?}");
        }
    }

    #[test]
    fn secrets_of_every_shape_split_in_three_are_masked() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzIxNzczOSIsImlhdCI6MTcyNTAwMzg4NH0.-6zf2vW2Tnfb6rbUfFdFz4lzVsfCtiv_BOI_7tcWUrs";
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEILTWXaThMPComnJfHsJACvmzpkhai1rDNvXfg/DePyA2oAoGCCqGSM49\nAwEHoUQDQgAEGq8FhzY12ca9KvMn59sBQU0T7K+UfivMGwKaHVRmfJfcX5Rb44iK\n-----END EC PRIVATE KEY-----";
        let filler = " and the answer goes on for long enough that the text before it is released as it comes.";
        for (secret, mask) in [(jwt, "[JWT]"), (pem, "[PEM_PRIVATE_KEY]"), ("Bearer PYmmo7ienGUZccexPc8TnKZewchI_5Gxb0m9zHHumD0", "Bearer [GENERIC_SECRET]")] {
            let text = format!("Here it is: {secret}{filler}");
            let start = text.find(secret).unwrap_or(0);
            let third = secret.len() / 3;
            let (all, outs) = stream(&cut(&text, &[start + third, start + 2 * third]));
            assert_eq!(all, format!("Here it is: {mask}{filler}"));
            let tail = &secret[secret.len() - 12..];
            assert!(outs.iter().all(|o| !o.contains(tail)), "{outs:?}");
        }
    }

    #[test]
    fn an_email_split_and_text_around_it_released_as_it_comes() {
        let (all, outs) = stream(&["Write to jane.d", "oe@example.org about it. ", &"More text follows here. ".repeat(8)]);
        assert_eq!(all, format!("Write to [EMAIL] about it. {}", "More text follows here. ".repeat(8)));
        assert!(outs[2].len() > 100, "text well before the end goes out before the stream ends: {outs:?}");
    }

    #[test]
    fn a_private_key_block_is_held_until_it_ends() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDkkuyQeYJqqqnU";
        let tail = " and then the answer goes on for a while, long enough to be released before the end.";
        let (all, outs) = stream(&["here:\n-----BEGIN PRIVATE KEY-----\n", body, "\n", body, "\n-----END PRIVATE KEY-----\nbye", tail]);
        assert_eq!(all, format!("here:\n[PEM_PRIVATE_KEY]\nbye{tail}"));
        assert!(outs.iter().all(|o| !o.contains("MIIE")), "{outs:?}");
        assert!(outs[..6].concat().contains("[PEM_PRIVATE_KEY]"), "an ended block goes out before the stream ends: {outs:?}");
    }

    #[test]
    fn look_alikes_pass_unchanged() {
        let text = "Order 4111 1111 1111 1112 ships on 2024-05-01; see section 4.2.1.3.";
        let (all, _) = stream(&[&text[..20], &text[20..40], &text[40..]]);
        assert_eq!(all, text);
    }

    #[test]
    fn never_more_than_max_hold_is_held_and_what_completes_is_still_masked() {
        for max_hold in [128, 512] {
            held_within(max_hold);
        }
    }

    fn held_within(max_hold: usize) {
        let mut m = StreamMasker::new(vec![pii::scan, secrets::scan], 64, max_hold);
        let mut out = String::new();
        // A key, then a private key block that never ends, fed in pieces of 37 bytes (cutting
        // an `é` in the text around it at times): far more than the bound is pending.
        let line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDkkuyQeYJqqqnU\n";
        let text = format!("Café key sk-proj-4fG7hK2mN9pQ1rS5tV8wX3yZ6aB0cD2e, then été:\n-----BEGIN PRIVATE KEY-----\n{}", line.repeat(40));
        let pieces = cut(&text, &(1..text.len() / 37).map(|i| i * 37).collect::<Vec<_>>());
        for piece in &pieces {
            out.push_str(&m.push(piece));
            assert!(held(&m) <= max_hold, "held {} > {max_hold}", held(&m));
        }
        assert_eq!(out, "Café key [OPENAI_KEY], then été:\n[PEM_PRIVATE_KEY]", "the block is masked as far as it has come");
        // It ends; what follows goes out as it comes.
        out.push_str(&m.push("-----END PRIVATE KEY-----\nAll done, and the rest of the answer is plain text again."));
        out.push_str(&m.finish());
        assert_eq!(out, "Café key [OPENAI_KEY], then été:\n[PEM_PRIVATE_KEY]-----END PRIVATE KEY-----\nAll done, and the rest of the answer is plain text again.");
        // Cut off for good: the key material is masked to its last line, the sentence after it
        // is not.
        let mut m = StreamMasker::new(vec![pii::scan, secrets::scan], 64, max_hold);
        let mut out: String = cut(&text, &(1..text.len() / 37).map(|i| i * 37).collect::<Vec<_>>()).iter().map(|p| m.push(p)).collect();
        out.push_str(&m.push("That was all of it."));
        out.push_str(&m.finish());
        assert_eq!(out, "Café key [OPENAI_KEY], then été:\n[PEM_PRIVATE_KEY]That was all of it.");

        // A run of token characters that does not end: released once past the bound.
        let mut m = StreamMasker::new(vec![pii::scan, secrets::scan], 64, max_hold);
        let mut out = String::new();
        for _ in 0..100 {
            out.push_str(&m.push("Ab3dE5fG7hJ9kL1mN"));
            assert!(held(&m) <= max_hold);
        }
        out.push_str(&m.finish());
        assert_eq!(out, "Ab3dE5fG7hJ9kL1mN".repeat(100));
    }

    /// Streaming in any pieces gives what masking the whole text at once gives.
    #[test]
    fn pieces_give_what_the_whole_text_gives() {
        let texts = [
            "Hi, I'm Jane (jane.doe+work@example.org, +44 20 7946 0958). My card is 4111 1111 1111 1111 and my IBAN GB82 WEST 1234 5698 7654 32; SSN 123-45-6789.",
            "Server 192.168.10.20 and 2001:db8::8a2e:370:7334 answer. Order 4111 1111 1111 1112 ships on 2024-05-01; see section 4.2.1.3 and ISBN 978-84-8965-501-0.",
            "Config:\nOPENAI_API_KEY=sk-proj-4fG7hK2mN9pQ1rS5tV8wX3yZ6aB0cD2e\nDB_PASSWORD=Af81S--Z052UnJv\nurl: redis://:JndaEj12AcrMnWIwpP@cache:6379\nThanks, that's all.",
            "curl -H 'Authorization: Bearer PYmmo7ienGUZccexPc8TnKZewchI_5Gxb0m9zHHumD0' https://api.example.com — the AWS key AKIAQ3EGRTYUIOPLKJHG and its secret qKlD9jPUm4S7W+V6sZrDlyMegjB5BiIWBATTh+IY leaked. Ünïcödé ☃ 日本語.",
            "The example token is xoxb-123-456-abcdefghij, not a real one. La contraseña del wifi es ol6VK9Xyc?Y0nwWVpc-Jya. Rack location 104-22-0007 in aisle C.",
            "{\"private_key\": \"-----BEGIN RSA PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDkkuyQeYJqqqnU\\n-----END RSA PRIVATE KEY-----\\n\", \"client_email\": \"bot@acme.iam.example.com\"}",
        ];
        let whole = |text: &str| stream(&[text]).0;
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for text in texts {
            let expected = whole(text);
            assert_ne!(expected, text, "each sample has something to mask");
            for i in 0..=text.len() {
                assert_eq!(stream(&cut(text, &[i])).0, expected, "split at {i}: {text:?}");
            }
            for i in (0..text.len()).step_by(11) {
                for j in (i..text.len()).step_by(13) {
                    assert_eq!(stream(&cut(text, &[i, j])).0, expected, "split at {i}, {j}: {text:?}");
                }
            }
            // Many small pieces of random sizes.
            for _ in 0..50 {
                let mut at = Vec::new();
                let mut p = 0;
                while p < text.len() {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    p += 1 + (rng % 9) as usize;
                    at.push(p);
                }
                assert_eq!(stream(&cut(text, &at)).0, expected, "pieces at {at:?}: {text:?}");
            }
        }
    }
}
