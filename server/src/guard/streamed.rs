//! A streamed text (a choice's content, a content block) through a call's guardrails: values
//! that a masking or blocking guardrail finds are masked as the text is released, however the
//! text was split; what was found is counted in the call's verdict as it is released.

use super::engine::{Hit, Verdict};
use super::policy::{Action, Direction, Policy};
use super::stream::{Detect, StreamMasker};
use super::Finding;

/// Characters held back at the end of what arrived, for a value that may still be growing:
/// the longest an email, a card, an IBAN or a phone number runs. A key, a token or a private
/// key block is held whole by the masker however long it runs (up to [`MAX_HOLD`]).
pub const HOLD: usize = 64;

/// The most held back, in bytes.
pub const MAX_HOLD: usize = 16 * 1024;

struct PolicyDetect(Policy);

impl Detect for PolicyDetect {
    fn scan(&self, text: &str, out: &mut Vec<Finding>) {
        let mut hits = Vec::new();
        self.0.find(Direction::Response, text, &mut hits);
        out.extend(hits.iter().map(|h| Finding { tag: u16::try_from(h.guardrail).unwrap_or(u16::MAX), ..h.finding }));
    }

    fn label(&self, f: &Finding) -> String {
        self.0.label(&Hit { guardrail: usize::from(f.tag), finding: *f })
    }
}

pub struct TextMasker {
    policy: Policy,
    masker: StreamMasker,
}

impl TextMasker {
    /// A masker for the values `policy`'s masking and blocking guardrails find in answers.
    pub fn new(policy: &Policy) -> Self {
        let acting = policy.with_only(|g, a| g.detector.masks() && a >= Action::Mask);
        Self { policy: acting.clone(), masker: StreamMasker::with_detector(Box::new(PolicyDetect(acting)), HOLD, MAX_HOLD) }
    }

    /// The next piece of text; returns what may go out now.
    pub fn push(&mut self, piece: &str, verdict: &mut Verdict) -> String {
        let out = self.masker.push(piece);
        self.count(verdict);
        out
    }

    /// The text ended: the rest of it.
    pub fn finish(&mut self, verdict: &mut Verdict) -> String {
        let out = self.masker.finish();
        self.count(verdict);
        out
    }

    /// Counts what was masked since the last count, and lets it go (a long answer's findings
    /// are not held to its end).
    fn count(&mut self, verdict: &mut Verdict) {
        for f in self.masker.masked.drain(..) {
            let i = usize::from(f.tag);
            let ty = self.policy.type_name(&Hit { guardrail: i, finding: f });
            verdict.count(&self.policy.guardrails.list[i].name, self.policy.actions[i], Direction::Response, ty, 1);
        }
    }
}
