//! Splitting the export's byte stream into lines, bounded: pure, no I/O.
//!
//! The log chooses how its bytes arrive, so a line may never end. Each
//! byte is searched for a newline once (the search resumes where it
//! stopped, never from the start of the buffer, which made a 3 GB line
//! quadratic), and a line longer than the limit is an error as soon as the
//! limit is passed, not once the whole line has been buffered.

use std::ops::Range;

/// Default longest export line: a record is a few hundred bytes, its audit
/// path at most 48 hashes of 64 hex digits.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an export line is longer than {max} bytes (the limit; raise it with --max-line-bytes)")]
pub struct LineTooLong {
    pub max: usize,
}

#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// Start of the first line not yet returned.
    start: usize,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
    max: usize,
}

impl LineSplitter {
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter {
            buf: Vec::with_capacity(1 << 16),
            start: 0,
            scanned: 0,
            max,
        }
    }

    /// Adds bytes. Returned lines are dropped from the buffer first, so it
    /// holds at most one partial line (≤ max) plus the new chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line (without its newline), as a range of
    /// [`LineSplitter::bytes`]; `None` until more bytes arrive.
    pub fn next_line(&mut self) -> Result<Option<Range<usize>>, LineTooLong> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(p) => {
                let end = self.scanned + p;
                let line = self.start..end;
                self.start = end + 1;
                self.scanned = end + 1;
                if line.len() > self.max {
                    return Err(LineTooLong { max: self.max });
                }
                Ok(Some(line))
            }
            None => {
                self.scanned = self.buf.len();
                if self.buf.len() - self.start > self.max {
                    return Err(LineTooLong { max: self.max });
                }
                Ok(None)
            }
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes after the last newline (a line the stream never ended).
    pub fn rest(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]], max: usize) -> Result<(Vec<String>, String), LineTooLong> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            while let Some(r) = s.next_line()? {
                out.push(String::from_utf8(s.bytes()[r].to_vec()).unwrap());
            }
        }
        Ok((out, String::from_utf8(s.rest().to_vec()).unwrap()))
    }

    #[test]
    fn lines_split_across_chunks_in_any_way() {
        let text = b"a\nbc\n\ndef\ng";
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            let (got, rest) = lines(&[a, b], 10).unwrap();
            assert_eq!(got, vec!["a", "bc", "", "def"], "cut at {cut}");
            assert_eq!(rest, "g");
        }
    }

    #[test]
    fn a_line_over_the_limit_fails_before_it_ends() {
        assert_eq!(lines(&[b"12345", b"6"], 5), Err(LineTooLong { max: 5 }));
        assert_eq!(lines(&[b"123456\n"], 5), Err(LineTooLong { max: 5 }));
        assert!(lines(&[b"12345\n"], 5).is_ok());
    }

    #[test]
    fn a_long_line_is_scanned_once() {
        // 4 MiB in 1-byte chunks: each push searches one new byte. The old
        // loop searched the whole partial line again on every chunk, which
        // would be 8·10^12 byte comparisons here.
        let mut s = LineSplitter::new(8 << 20);
        for _ in 0..(4 << 20) {
            s.push(b"x");
            assert_eq!(s.next_line(), Ok(None));
        }
        s.push(b"\n");
        assert_eq!(s.next_line().unwrap().map(|r| r.len()), Some(4 << 20));
    }
}
