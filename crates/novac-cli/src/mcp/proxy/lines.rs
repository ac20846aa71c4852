//! Reading one long line of the upstream's output as a byte stream, for
//! `novac mcp proxy`: a message that does not end within the first
//! [`READ_BUFFER`] bytes is parsed by serde_json straight from the pipe
//! through [`LineReader`], which stops at the newline and at the size
//! limit, so the message is never held as a line. Costs: one call per byte
//! read by the parser (serde_json reads a `Read` byte by byte), on top of
//! the buffered reader's copy.

use super::super::jsonrpc;
use std::io::{BufRead, Read};

/// The read buffer on the upstream's output: a message that does not end
/// within it is parsed from the pipe rather than read as a line first.
pub const READ_BUFFER: usize = 1 << 16;

/// The bytes of one line of a `BufRead`, up to (and consuming) its newline,
/// at most `left` bytes (then an error, and `over` is set); the first
/// [`jsonrpc::HEAD_BYTES`] are kept in `head`.
pub struct LineReader<'a, R: BufRead> {
    pub inner: &'a mut R,
    pub left: usize,
    pub done: bool,
    pub over: bool,
    /// Bytes of the line consumed so far.
    pub seen: usize,
    pub head: &'a mut Vec<u8>,
}

impl<R: BufRead> LineReader<'_, R> {
    /// Consumes what is left of the line.
    pub fn skip_rest(&mut self) {
        while !self.done {
            let Ok(buffered) = self.inner.fill_buf() else {
                return;
            };
            if buffered.is_empty() {
                return;
            }
            let (used, found) = match buffered.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buffered.len(), false),
            };
            self.inner.consume(used);
            self.seen += used - usize::from(found);
            self.done = found;
        }
    }
}

impl<R: BufRead> Read for LineReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let buffered = self.inner.fill_buf()?;
        if buffered.is_empty() {
            self.done = true;
            return Ok(0);
        }
        let window = buffered
            .get(..buf.len().min(buffered.len()))
            .unwrap_or_default();
        let (n, found) = match window.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (window.len(), false),
        };
        if n > self.left {
            self.over = true;
            return Err(std::io::Error::other("the message is too long"));
        }
        let bytes = window.get(..n).unwrap_or_default();
        if let Some(slot) = buf.get_mut(..n) {
            slot.copy_from_slice(bytes);
        }
        let room = jsonrpc::HEAD_BYTES.saturating_sub(self.head.len());
        self.head.extend(bytes.iter().take(room));
        self.left -= n;
        self.seen += n;
        self.inner.consume(if found { n + 1 } else { n });
        self.done = found;
        Ok(n)
    }
}
