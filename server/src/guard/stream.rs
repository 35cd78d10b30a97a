//! Masking text that arrives in pieces (a streamed answer): a value split across chunks is
//! still found and masked, and no more text is held back than a value could still need.
//!
//! What is released is everything before the earliest of: the last `hold` characters (the
//! longest a shaped value — an email, a card, an IBAN, a key — can be); a run of token
//! characters that reaches the end of what arrived (a key or a JWT still being streamed,
//! however long, up to `max_hold` bytes); the start of a private key block not yet ended; the
//! start of a value found across that point. Released text has its values masked (`[EMAIL]`).

use super::{Finding, Kind};

/// What detectors a stream is scanned with.
pub type Scan = fn(&str, &mut Vec<Finding>);

pub struct StreamMasker {
    scans: Vec<Scan>,
    pending: String,
    /// Characters kept back at the end, for a value that may still be growing.
    hold: usize,
    /// The most that is ever held back, in bytes: past it, text goes out as it is.
    max_hold: usize,
    findings: Vec<Finding>,
    /// What was masked, by kind, so far.
    pub masked: Vec<Kind>,
}

/// Characters a key, token or JWT is made of.
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '/' | '=' | '~')
}

const BEGIN: &str = "-----BEGIN ";

impl StreamMasker {
    pub fn new(scans: Vec<Scan>, hold: usize, max_hold: usize) -> Self {
        Self { scans, pending: String::new(), hold, max_hold, findings: Vec::new(), masked: Vec::new() }
    }

    /// Takes the next piece; returns what may go out now, masked.
    pub fn push(&mut self, piece: &str) -> String {
        self.pending.push_str(piece);
        let boundary = self.boundary();
        self.release(boundary)
    }

    /// The stream ended: everything left goes out, masked.
    pub fn finish(&mut self) -> String {
        self.scan();
        self.release(self.pending.len())
    }

    fn scan(&mut self) {
        self.findings.clear();
        for scan in &self.scans {
            scan(&self.pending, &mut self.findings);
        }
    }

    /// Where what may go out ends.
    fn boundary(&mut self) -> usize {
        let text = &self.pending;
        let len = text.len();
        // The last `hold` characters.
        let mut b = text.char_indices().rev().nth(self.hold.saturating_sub(1)).map_or(0, |(i, _)| i);
        if self.hold == 0 {
            b = len;
        }
        // A run of token characters reaching the end.
        let run_start = text.char_indices().rev().take_while(|&(_, c)| token_char(c)).last().map_or(len, |(i, _)| i);
        b = b.min(run_start);
        // A private key block not ended yet.
        if let Some(open) = text.rfind(BEGIN) {
            let rest = &text[open..];
            let ended = rest.find("-----END ").is_some_and(|e| rest[e + 9..].contains("-----"));
            if !ended {
                b = b.min(open);
            }
        }
        // Never more than `max_hold` held back.
        b = b.max(len.saturating_sub(self.max_hold));
        while !text.is_char_boundary(b) {
            b -= 1;
        }
        self.scan();
        // A value across the boundary waits whole.
        loop {
            let across = self.findings.iter().filter(|f| f.start < b && f.end > b).map(|f| f.start).min();
            match across {
                Some(start) if start < b && len - start <= self.max_hold => b = start,
                _ => break,
            }
        }
        b
    }

    fn release(&mut self, boundary: usize) -> String {
        let mut out = String::with_capacity(boundary);
        let mut at = 0;
        let mut found: Vec<Finding> = self.findings.iter().copied().filter(|f| f.start < boundary).collect();
        found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        for f in found {
            if f.start < at {
                continue;
            }
            out.push_str(&self.pending[at..f.start]);
            out.push('[');
            out.push_str(&f.kind.as_str().to_ascii_uppercase());
            out.push(']');
            self.masked.push(f.kind);
            at = f.end;
        }
        let end = boundary.max(at);
        out.push_str(&self.pending[at.min(end)..end]);
        self.pending.drain(..end);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::{pii, secrets};
    use super::*;

    fn masker() -> StreamMasker {
        StreamMasker::new(vec![pii::scan, secrets::scan], 64, 16 * 1024)
    }

    fn stream(pieces: &[&str]) -> (String, Vec<String>) {
        let mut m = masker();
        let mut outs: Vec<String> = pieces.iter().map(|p| m.push(p)).collect();
        outs.push(m.finish());
        (outs.concat(), outs)
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
}
