//! Joining a body's chunks as they come: a body that arrives in one chunk (the common case for
//! a JSON answer, and for an SSE event) is kept as it is, without a copy; only a second chunk
//! starts a buffer.

use bytes::{Bytes, BytesMut};

#[derive(Debug, Default)]
pub struct Joined {
    first: Option<Bytes>,
    rest: BytesMut,
    len: usize,
}

impl Joined {
    pub fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len();
        match self.first.take() {
            None if self.rest.is_empty() => self.first = Some(chunk),
            None => self.rest.extend_from_slice(&chunk),
            Some(first) => {
                self.rest.reserve(first.len() + chunk.len());
                self.rest.extend_from_slice(&first);
                self.rest.extend_from_slice(&chunk);
            }
        }
    }

    /// Bytes pushed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self) -> Bytes {
        match self.first {
            Some(first) => first,
            None => self.rest.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chunk_is_kept_and_more_are_joined_in_order() {
        let one = Bytes::from_static(b"whole");
        let mut j = Joined::default();
        j.push(one.clone());
        let out = j.finish();
        assert_eq!(out.as_ptr(), one.as_ptr(), "no copy");
        let mut j = Joined::default();
        for part in ["a", "bc", "", "def"] {
            j.push(Bytes::from(part));
        }
        assert_eq!(j.len(), 6);
        assert_eq!(&j.finish()[..], b"abcdef");
        assert!(Joined::default().finish().is_empty());
    }
}
