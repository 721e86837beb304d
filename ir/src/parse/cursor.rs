//! A character cursor over source text that tracks line and column and
//! reads the lexical pieces of the text format (names, numbers, strings).

use crate::diag::Diag;
use crate::loc::Loc;
use std::sync::Arc;

/// A position in the source: byte offset, 1-based line and column.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Pos {
    pub offset: usize,
    pub line: u32,
    pub col: u32,
}

/// Reads the source one character at a time.
pub struct Cursor<'s> {
    src: &'s str,
    file: Arc<str>,
    pos: Pos,
}

/// A number literal.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    /// An integer above `i64::MAX` (only `u64` holds it).
    UInt(u64),
    Float(f64),
}

impl<'s> Cursor<'s> {
    /// A cursor at the start of `src`, naming locations after `file`.
    pub fn new(src: &'s str, file: Arc<str>) -> Cursor<'s> {
        Cursor { src, file, pos: Pos { offset: 0, line: 1, col: 1 } }
    }

    /// The current position.
    pub fn pos(&self) -> Pos {
        self.pos
    }

    /// The location of a position.
    pub fn loc_at(&self, p: Pos) -> Loc {
        Loc::file(&self.file, p.line, p.col)
    }

    /// The location of the current position.
    pub fn loc(&self) -> Loc {
        self.loc_at(self.pos)
    }

    /// An error at the current position.
    pub fn error(&self, message: impl Into<String>) -> Diag {
        Diag::error(self.loc(), message)
    }

    /// The text not yet read.
    pub fn rest(&self) -> &'s str {
        &self.src[self.pos.offset..]
    }

    /// The next character.
    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// The character after the next one.
    pub fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    /// Consumes one character.
    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos.offset += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.col = 1;
        } else {
            self.pos.col += 1;
        }
        Some(c)
    }

    /// True at the end of the text.
    pub fn at_end(&self) -> bool {
        self.pos.offset >= self.src.len()
    }

    /// Skips spaces, newlines and `//` comments.
    pub fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek2() == Some('/') => self.skip_line(),
                _ => return,
            }
        }
    }

    /// Skips spaces and tabs only, staying on the current line.
    pub fn skip_inline_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.bump();
        }
    }

    /// Skips to the start of the next line.
    pub fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                return;
            }
        }
    }

    /// Skips whitespace, then consumes `s` if it comes next.
    pub fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(s) {
            for _ in s.chars() {
                self.bump();
            }
            true
        } else {
            false
        }
    }

    /// Like [`Cursor::eat`] but an error when `s` does not come next.
    pub fn expect(&mut self, s: &str) -> Result<(), Diag> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.error(format!("expected '{s}', found {}", self.describe_next())))
        }
    }

    /// Skips whitespace and reports whether the next character is `c`.
    pub fn next_is(&mut self, c: char) -> bool {
        self.skip_ws();
        self.peek() == Some(c)
    }

    /// A short description of what comes next, for "expected X, found Y".
    pub fn describe_next(&self) -> String {
        let rest = self.rest();
        if rest.is_empty() {
            return "end of file".into();
        }
        let word: String = rest.chars().take_while(|c| !c.is_whitespace()).take(20).collect();
        format!("'{word}'")
    }

    /// Reads a word: `[A-Za-z_][A-Za-z0-9_]*`, plus `.`, `$` and `-` when
    /// `dotted` (op names `tg.add`, value and symbol names).
    pub fn word(&mut self, dotted: bool) -> Option<&'s str> {
        let start = self.pos.offset;
        let first = self.peek()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        while let Some(c) = self.peek() {
            let ok = c.is_ascii_alphanumeric() || c == '_' || (dotted && ".$-".contains(c));
            if !ok {
                break;
            }
            self.bump();
        }
        Some(&self.src[start..self.pos.offset])
    }

    /// Reads a bare name after `%`, `@` or `^`: `[A-Za-z0-9_.$-]+`.
    pub fn bare_name(&mut self) -> Option<&'s str> {
        let start = self.pos.offset;
        while let Some(c) = self.peek() {
            if !(c.is_ascii_alphanumeric() || "_.$-".contains(c)) {
                break;
            }
            self.bump();
        }
        (self.pos.offset > start).then(|| &self.src[start..self.pos.offset])
    }

    /// Reads an unsigned decimal integer.
    pub fn digits(&mut self) -> Option<u64> {
        let start = self.pos.offset;
        while matches!(self.peek(), Some('0'..='9')) {
            self.bump();
        }
        self.src[start..self.pos.offset].parse().ok()
    }

    /// Reads a number: `-12`, `3.5`, `1e-5`, `-inf`, `nan`.
    pub fn number(&mut self) -> Result<Number, Diag> {
        let start = self.pos;
        let negative = self.peek() == Some('-');
        if negative {
            self.bump();
        }
        if self.rest().starts_with("inf") {
            self.word(false);
            return Ok(Number::Float(if negative { f64::NEG_INFINITY } else { f64::INFINITY }));
        }
        if self.rest().starts_with("nan") {
            self.word(false);
            return Ok(Number::Float(f64::NAN));
        }
        let digits_start = self.pos.offset;
        let mut is_float = false;
        while let Some(c) = self.peek() {
            match c {
                '0'..='9' => {}
                '.' => is_float = true,
                'e' | 'E' => {
                    is_float = true;
                    if matches!(self.peek2(), Some('+' | '-')) {
                        self.bump();
                    }
                }
                _ => break,
            }
            self.bump();
        }
        let text = &self.src[digits_start..self.pos.offset];
        let bad = || Diag::error(self.loc_at(start), format!("malformed number '{}'", &self.src[start.offset..self.pos.offset]));
        if text.is_empty() {
            return Err(bad());
        }
        if is_float {
            let v: f64 = text.parse().map_err(|_| bad())?;
            Ok(Number::Float(if negative { -v } else { v }))
        } else {
            let full = &self.src[start.offset..self.pos.offset];
            match full.parse::<i64>() {
                Ok(v) => Ok(Number::Int(v)),
                Err(_) => full.parse::<u64>().map(Number::UInt).map_err(|_| bad()),
            }
        }
    }

    /// Reads a double-quoted string with `\" \\ \n \t \u{..}` escapes.
    pub fn string(&mut self) -> Result<String, Diag> {
        let start = self.loc();
        if self.peek() != Some('"') {
            return Err(self.error(format!("expected a string, found {}", self.describe_next())));
        }
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(Diag::error(start, "unterminated string")),
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('u') if self.peek() == Some('{') => {
                        self.bump();
                        let hex_start = self.pos.offset;
                        while matches!(self.peek(), Some(c) if c.is_ascii_hexdigit()) {
                            self.bump();
                        }
                        let hex = &self.src[hex_start..self.pos.offset];
                        let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                        match (c, self.bump()) {
                            (Some(c), Some('}')) => out.push(c),
                            _ => return Err(self.error("malformed \\u{...} escape")),
                        }
                    }
                    _ => return Err(self.error("unknown escape in string")),
                },
                Some(c) => out.push(c),
            }
        }
    }
}
