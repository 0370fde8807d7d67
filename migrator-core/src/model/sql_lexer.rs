//! A small SQL lexer: just enough to tell statements from comments and
//! literals, for the "section has a statement" test and the destructive
//! scanner.
//!
//! It skips `--` comments and `/* */` comments (nestable, as in PostgreSQL),
//! and yields single-quoted strings (`''` escapes; `E'...'` with backslash
//! escapes), PostgreSQL dollar-quoted strings (`$$...$$`, `$tag$...$tag$`),
//! double-quoted and backtick identifiers as single tokens. Unterminated
//! literals and comments run to the end of the text; nothing here fails.

/// What a [`Token`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// A keyword or a bare identifier.
    Word,
    /// A `"quoted"` or `` `quoted` `` identifier, quotes included.
    QuotedIdent,
    /// A string or a number.
    Literal,
    /// Any other single character: `;`, `(`, `,`, `.`, ...
    Punct,
}

/// One token: its kind, its text as written and the line it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub kind: TokenKind,
    pub text: &'a str,
    pub line: u32,
}

impl Token<'_> {
    /// True for the keyword `keyword` (given in upper case), in any case.
    pub fn is_keyword(&self, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    /// True for the punctuation character `c`.
    pub fn is_punct(&self, c: char) -> bool {
        self.kind == TokenKind::Punct && self.text.len() == 1 && self.text.starts_with(c)
    }
}

/// The tokens of `sql`, whose first line is line `first_line` of its file.
pub(super) fn tokens(sql: &str, first_line: u32) -> Lexer<'_> {
    Lexer {
        src: sql,
        pos: 0,
        line: first_line,
    }
}

/// The line of the first token of `sql` that belongs to a statement (anything
/// but comments, whitespace and stray `;`), or `None` when there is none.
pub(super) fn first_statement_line(sql: &str, first_line: u32) -> Option<u32> {
    tokens(sql, first_line)
        .find(|t| !t.is_punct(';'))
        .map(|t| t.line)
}

/// The statements of `sql` as token lists, split at `;` (empty ones dropped).
pub(super) fn statements(sql: &str, first_line: u32) -> Vec<Vec<Token<'_>>> {
    let mut statements = vec![Vec::new()];
    for token in tokens(sql, first_line) {
        if token.is_punct(';') {
            statements.push(Vec::new());
        } else if let Some(current) = statements.last_mut() {
            current.push(token);
        }
    }
    statements.retain(|s| !s.is_empty());
    statements
}

/// The iterator behind [`tokens`].
///
/// It works on bytes: every byte it stops at is ASCII (non-ASCII bytes only
/// ever occur inside words, literals and comments), so every slice it takes
/// falls on a character boundary.
pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: u32,
}

impl<'a> Lexer<'a> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    /// Moves to `end`, counting the lines passed.
    fn advance_to(&mut self, end: usize) {
        let end = end.min(self.src.len());
        let passed = self.src.as_bytes()[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line = self
            .line
            .saturating_add(u32::try_from(passed).unwrap_or(u32::MAX));
        self.pos = end;
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) {
        loop {
            match (self.byte(self.pos), self.byte(self.pos + 1)) {
                (Some(b), _) if b.is_ascii_whitespace() => self.advance_to(self.pos + 1),
                (Some(b'-'), Some(b'-')) => {
                    let end = self.src[self.pos..]
                        .find('\n')
                        .map_or(self.src.len(), |i| self.pos + i);
                    self.advance_to(end);
                }
                (Some(b'/'), Some(b'*')) => {
                    let end = self.block_comment_end();
                    self.advance_to(end);
                }
                _ => return,
            }
        }
    }

    /// The end of the (possibly nested) block comment at `self.pos`.
    fn block_comment_end(&self) -> usize {
        let mut depth = 0usize;
        let mut i = self.pos;
        while i < self.src.len() {
            match (self.byte(i), self.byte(i + 1)) {
                (Some(b'/'), Some(b'*')) => {
                    depth += 1;
                    i += 2;
                }
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => i += 1,
            }
        }
        self.src.len()
    }

    /// The end of a literal or identifier quoted by `quote` whose body starts
    /// at `from`: a doubled quote is an escaped one, and so is a backslash
    /// sequence when `backslash` is set.
    fn quoted_end(&self, from: usize, quote: u8, backslash: bool) -> usize {
        let mut i = from;
        while let Some(b) = self.byte(i) {
            if backslash && b == b'\\' {
                i += 2;
            } else if b == quote {
                if self.byte(i + 1) == Some(quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            } else {
                i += 1;
            }
        }
        self.src.len()
    }

    /// The opening tag (`$$` or `$tag$`) of a dollar-quoted string at `start`,
    /// if there is one there (`$1` is a parameter, not a tag).
    fn dollar_tag(&self, start: usize) -> Option<&'a str> {
        let mut i = start + 1;
        if self
            .byte(i)
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        {
            while self
                .byte(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                i += 1;
            }
        }
        (self.byte(i) == Some(b'$')).then(|| &self.src[start..=i])
    }

    fn word_end(&self, from: usize) -> usize {
        let mut i = from;
        while self.byte(i).is_some_and(is_word_byte) {
            i += 1;
        }
        i
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        self.skip_trivia();
        let start = self.pos;
        let line = self.line;
        let first = self.byte(start)?;
        let (kind, end) = match first {
            b'\'' => (TokenKind::Literal, self.quoted_end(start + 1, b'\'', false)),
            b'"' | b'`' => (
                TokenKind::QuotedIdent,
                self.quoted_end(start + 1, first, false),
            ),
            b'$' => match self.dollar_tag(start) {
                Some(tag) => {
                    let body = start + tag.len();
                    let end = self.src[body..]
                        .find(tag)
                        .map_or(self.src.len(), |i| body + i + tag.len());
                    (TokenKind::Literal, end)
                }
                None => (TokenKind::Punct, start + 1),
            },
            b'0'..=b'9' => (TokenKind::Literal, self.word_end(start)),
            b if is_word_byte(b) => {
                let end = self.word_end(start);
                if end == start + 1
                    && first.eq_ignore_ascii_case(&b'e')
                    && self.byte(end) == Some(b'\'')
                {
                    (TokenKind::Literal, self.quoted_end(end + 1, b'\'', true))
                } else {
                    (TokenKind::Word, end)
                }
            }
            _ => (TokenKind::Punct, start + 1),
        };
        self.advance_to(end);
        Some(Token {
            kind,
            text: &self.src[start..self.pos],
            line,
        })
    }
}

/// Letters, digits, `_`, `$` (allowed inside PostgreSQL identifiers) and
/// every byte of a non-ASCII character.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || !b.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        tokens(sql, 1).map(|t| t.text).collect()
    }

    #[test]
    fn skips_comments_and_keeps_literals_whole() {
        assert_eq!(
            texts(
                "SELECT 'it''s', \"a \"\"b\"\" c\" -- DROP TABLE x\n/* a /* nested */ DROP */ 1;"
            ),
            ["SELECT", "'it''s'", ",", "\"a \"\"b\"\" c\"", "1", ";"]
        );
    }

    #[test]
    fn escape_strings_and_dollar_quotes() {
        assert_eq!(texts(r"E'a\'b' x"), [r"E'a\'b'", "x"]);
        assert_eq!(
            texts("$f$ DROP TABLE x; $$ $f$ $1 $$;$$"),
            ["$f$ DROP TABLE x; $$ $f$", "$", "1", "$$;$$"]
        );
        assert_eq!(texts("a$b"), ["a$b"]);
    }

    #[test]
    fn unterminated_things_run_to_the_end() {
        assert_eq!(texts("x 'abc"), ["x", "'abc"]);
        assert_eq!(texts("x /* abc"), ["x"]);
        assert_eq!(texts("x $t$ abc"), ["x", "$t$ abc"]);
        assert_eq!(texts("x E'\\"), ["x", "E'\\"]);
        assert_eq!(texts("é 'ü"), ["é", "'ü"]);
    }

    #[test]
    fn counts_lines() {
        let lines: Vec<u32> = tokens("a\n/* x\n */ b\n'c\nd' e", 10)
            .map(|t| t.line)
            .collect();
        assert_eq!(lines, [10, 12, 13, 14]);
    }

    #[test]
    fn statements_split_at_semicolons() {
        let statements = statements("a b; ; 'x;y' c;\n", 1);
        let texts: Vec<Vec<&str>> = statements
            .iter()
            .map(|s| s.iter().map(|t| t.text).collect())
            .collect();
        assert_eq!(texts, [vec!["a", "b"], vec!["'x;y'", "c"]]);
        assert_eq!(first_statement_line("-- x\n;\n\n  y", 1), Some(4));
        assert_eq!(first_statement_line("-- x\n/* y */ ;", 1), None);
    }
}
