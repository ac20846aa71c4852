//! The source as lines: byte ranges without the line break, the grammar's
//! notion of horizontal white space, and whole-line comment detection.
//!
//! NOVA comments are whole lines that start (after white space) with `//` or
//! `#` (`comment_line` in `grammar/nova.pest`); the grammar allows them
//! between any two lines of a file, including between the lines of a
//! condition. Because a comment is always a whole line, the formatter finds
//! them with this line scan rather than from the parse tree, which drops them.

/// One line of the source.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line<'a> {
    /// Byte offset of the first character.
    pub start: usize,
    /// The text without `\n` and a trailing `\r`.
    pub text: &'a str,
}

impl Line<'_> {
    /// The text with the grammar's white space trimmed at both ends.
    pub fn trimmed(&self) -> &str {
        trim_ws(self.text)
    }

    /// Whether the line holds nothing but white space.
    pub fn is_blank(&self) -> bool {
        self.trimmed().is_empty()
    }

    /// Whether the line is a whole-line comment.
    pub fn is_comment(&self) -> bool {
        is_comment(self.trimmed())
    }

    /// The column (in characters) of the first non-white-space character.
    pub fn indent(&self) -> usize {
        self.text.chars().take_while(|c| is_ws(*c)).count()
    }
}

/// All lines of a source, with offset lookup.
pub(crate) struct Lines<'a> {
    pub lines: Vec<Line<'a>>,
}

impl<'a> Lines<'a> {
    /// Splits `source` at `\n`.
    pub fn new(source: &'a str) -> Lines<'a> {
        let mut lines = Vec::new();
        let mut start = 0;
        for piece in source.split('\n') {
            let text = piece.strip_suffix('\r').unwrap_or(piece);
            lines.push(Line { start, text });
            start += piece.len() + 1;
        }
        // A final newline does not start another line.
        if source.ends_with('\n') {
            lines.pop();
        }
        Lines { lines }
    }

    /// The index of the line that contains byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.lines.binary_search_by(|l| l.start.cmp(&offset)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Line `i`.
    pub fn get(&self, i: usize) -> Line<'a> {
        self.lines
            .get(i)
            .copied()
            .unwrap_or(Line { start: 0, text: "" })
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }
}

/// Horizontal white space as the grammar defines it (`ws` in `nova.pest`).
pub(crate) fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\u{0B}' | '\u{0C}' | '\u{A0}' | '\u{FEFF}'
    )
}

/// `text` without the grammar's white space at either end.
pub(crate) fn trim_ws(text: &str) -> &str {
    text.trim_matches(is_ws)
}

/// Whether trimmed `text` is a comment (`//...` or `#...`).
pub(crate) fn is_comment(text: &str) -> bool {
    text.starts_with("//") || text.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_offsets() {
        let l = Lines::new("a\r\n  // c\n\nb");
        assert_eq!(l.len(), 4);
        assert_eq!(l.get(0).text, "a");
        assert!(l.get(1).is_comment());
        assert_eq!(l.get(1).indent(), 2);
        assert!(l.get(2).is_blank());
        assert_eq!(l.line_of(4), 1);
        assert_eq!(l.line_of(11), 3);
        assert_eq!(Lines::new("x\n").len(), 1);
    }
}
