//! Word-piece tokenisation with the model's `tokenizer.json`, and the cut of
//! a token sequence into model inputs: truncated to the first window (the
//! reference's behaviour) or split into overlapping windows.

use crate::error::LoadError;
use std::path::Path;
use tokenizers::Tokenizer;

/// The tokenizer plus the ids of its `[CLS]` and `[SEP]` tokens.
pub(crate) struct WordPieces {
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
}

impl WordPieces {
    pub(crate) fn load(bytes: &[u8], path: &Path) -> Result<WordPieces, LoadError> {
        let bad = |message: String| LoadError::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        let mut tokenizer = Tokenizer::from_bytes(bytes)
            .map_err(|e| bad(crate::bert::first_line(&e.to_string())))?;
        // The file pads and truncates to 128; the model input is cut here instead.
        tokenizer
            .with_truncation(None)
            .map_err(|e| bad(e.to_string()))?;
        tokenizer.with_padding(None);
        let id = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| bad(format!("the vocabulary has no {t} token")))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        Ok(WordPieces {
            tokenizer,
            cls,
            sep,
        })
    }

    /// The word-piece ids of `text`, without special tokens.
    pub(crate) fn ids(&self, text: &str) -> Result<Vec<u32>, String> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| format!("cannot tokenize: {e}"))
    }

    /// `[CLS] pieces [SEP]`.
    pub(crate) fn wrap(&self, pieces: &[u32]) -> Vec<u32> {
        let mut v = Vec::with_capacity(pieces.len() + 2);
        v.push(self.cls);
        v.extend_from_slice(pieces);
        v.push(self.sep);
        v
    }
}

/// The start offsets of windows of `size` pieces over `n` pieces, each
/// overlapping the previous by `overlap`, the last one ending at `n`.
pub(crate) fn window_starts(n: usize, size: usize, overlap: usize) -> Vec<usize> {
    if n <= size || size == 0 {
        return vec![0];
    }
    let step = size.saturating_sub(overlap).max(1);
    let mut starts: Vec<usize> = (0..)
        .map(|i| i * step)
        .take_while(|s| s + size < n)
        .collect();
    starts.push(n - size);
    starts
}

#[cfg(test)]
mod tests {
    use super::window_starts;

    #[test]
    fn windows_cover_everything_with_overlap() {
        assert_eq!(window_starts(10, 254, 64), [0]);
        assert_eq!(window_starts(254, 254, 64), [0]);
        assert_eq!(window_starts(255, 254, 64), [0, 1]);
        let starts = window_starts(2000, 254, 64);
        assert_eq!(starts[..3], [0, 190, 380]);
        assert_eq!(*starts.last().unwrap(), 2000 - 254);
        for w in starts.windows(2) {
            assert!(w[1] - w[0] <= 190, "windows overlap");
        }
    }
}
