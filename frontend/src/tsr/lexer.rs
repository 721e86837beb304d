//! The lexer: `.tsr` text to tokens. Newlines are tokens (they end
//! statements); `//` starts a comment to the end of the line. A bad
//! character, number or string is reported and skipped, so lexing always
//! reaches the end of the file.

use super::ast::Span;

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A name: a variable, function, dim or dtype.
    Ident(String),
    /// An integer literal.
    Int(i64),
    /// A float literal (`1.5`, `1e-5`).
    Float(f64),
    /// A string literal, escapes resolved.
    Str(String),
    /// `fn`.
    Fn,
    /// `model`.
    Model,
    /// `let`.
    Let,
    /// `param`.
    Param,
    /// `return`.
    Return,
    /// `for`.
    For,
    /// `in`.
    In,
    /// `if`.
    If,
    /// `else`.
    Else,
    /// `true`.
    True,
    /// `false`.
    False,
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `not`.
    Not,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `{`.
    LBrace,
    /// `}`.
    RBrace,
    /// `,`.
    Comma,
    /// `:`.
    Colon,
    /// `;`.
    Semi,
    /// `.`.
    Dot,
    /// `..`.
    DotDot,
    /// `...`.
    Ellipsis,
    /// `=`.
    Assign,
    /// `==`.
    EqEq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Plus,
    /// `-`.
    Minus,
    /// `*`.
    Star,
    /// `**`.
    StarStar,
    /// `/`.
    Slash,
    /// `%`.
    Percent,
    /// `@`.
    At,
    /// `->`.
    Arrow,
    /// The end of a line.
    Newline,
    /// The end of the file.
    Eof,
    /// Text the lexer could not read (already reported).
    Error,
}

impl Tok {
    /// How the token reads in a diagnostic: `'{'`, `a name`, `the end of the line`.
    pub fn describe(&self) -> String {
        let fixed = match self {
            Tok::Ident(name) => return format!("'{name}'"),
            Tok::Int(v) => return format!("'{v}'"),
            Tok::Float(v) => return format!("'{v}'"),
            Tok::Str(_) => "a string",
            Tok::Newline => "the end of the line",
            Tok::Eof => "the end of the file",
            Tok::Error => "unreadable text",
            Tok::Fn => "'fn'",
            Tok::Model => "'model'",
            Tok::Let => "'let'",
            Tok::Param => "'param'",
            Tok::Return => "'return'",
            Tok::For => "'for'",
            Tok::In => "'in'",
            Tok::If => "'if'",
            Tok::Else => "'else'",
            Tok::True => "'true'",
            Tok::False => "'false'",
            Tok::And => "'and'",
            Tok::Or => "'or'",
            Tok::Not => "'not'",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBracket => "'['",
            Tok::RBracket => "']'",
            Tok::LBrace => "'{'",
            Tok::RBrace => "'}'",
            Tok::Comma => "','",
            Tok::Colon => "':'",
            Tok::Semi => "';'",
            Tok::Dot => "'.'",
            Tok::DotDot => "'..'",
            Tok::Ellipsis => "'...'",
            Tok::Assign => "'='",
            Tok::EqEq => "'=='",
            Tok::Ne => "'!='",
            Tok::Lt => "'<'",
            Tok::Le => "'<='",
            Tok::Gt => "'>'",
            Tok::Ge => "'>='",
            Tok::Plus => "'+'",
            Tok::Minus => "'-'",
            Tok::Star => "'*'",
            Tok::StarStar => "'**'",
            Tok::Slash => "'/'",
            Tok::Percent => "'%'",
            Tok::At => "'@'",
            Tok::Arrow => "'->'",
        };
        fixed.to_string()
    }
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where it is.
    pub span: Span,
}

/// A lexical error: where, and what is wrong.
pub type LexError = (Span, String);

/// Splits `src` into tokens ending with [`Tok::Eof`], and the errors met on the way.
pub fn lex(src: &str) -> (Vec<Token>, Vec<LexError>) {
    let mut lx = Lexer { src, pos: 0, tokens: Vec::new(), errors: Vec::new() };
    lx.run();
    let end = src.len() as u32;
    lx.tokens.push(Token { tok: Tok::Eof, span: Span { start: end, end } });
    (lx.tokens, lx.errors)
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<LexError>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn span_from(&self, start: usize) -> Span {
        Span { start: start as u32, end: self.pos as u32 }
    }

    fn push(&mut self, tok: Tok, start: usize) {
        let span = self.span_from(start);
        self.tokens.push(Token { tok, span });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                '\n' => {
                    self.bump();
                    self.push(Tok::Newline, start);
                }
                c if c.is_whitespace() => {
                    self.bump();
                }
                '/' if self.peek_at(1) == Some('/') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                c if c.is_ascii_digit() => self.number(),
                c if c.is_ascii_alphabetic() || c == '_' => self.word(),
                '"' => self.string(),
                _ => self.punct(c),
            }
        }
    }

    fn word(&mut self) {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.bump();
        }
        let text = &self.src[start..self.pos];
        let tok = match text {
            "fn" => Tok::Fn,
            "model" => Tok::Model,
            "let" => Tok::Let,
            "param" => Tok::Param,
            "return" => Tok::Return,
            "for" => Tok::For,
            "in" => Tok::In,
            "if" => Tok::If,
            "else" => Tok::Else,
            "true" => Tok::True,
            "false" => Tok::False,
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            _ => Tok::Ident(text.to_string()),
        };
        self.push(tok, start);
    }

    /// `123`, `1.5`, `2e-3`, `1.0e5`; a `.` only belongs to the number when
    /// a digit follows it (so `0..4` is a range).
    fn number(&mut self) {
        let start = self.pos;
        let digits = |lx: &mut Self| {
            while lx.peek().is_some_and(|c| c.is_ascii_digit()) {
                lx.bump();
            }
        };
        digits(self);
        let mut float = false;
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.bump();
            digits(self);
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek_at(1), Some('+' | '-')));
            if self.peek_at(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                for _ in 0..=sign {
                    self.bump();
                }
                digits(self);
            }
        }
        let text = &self.src[start..self.pos];
        let tok = if float {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Tok::Float(v),
                _ => {
                    self.errors.push((self.span_from(start), format!("the float {text} is out of range")));
                    Tok::Float(0.0)
                }
            }
        } else {
            match text.parse::<i64>() {
                Ok(v) => Tok::Int(v),
                Err(_) => {
                    self.errors.push((self.span_from(start), format!("the integer {text} does not fit in 64 bits")));
                    Tok::Int(0)
                }
            }
        };
        self.push(tok, start);
    }

    fn string(&mut self) {
        let start = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            match self.peek() {
                Some('\n') | None => {
                    self.errors.push((Span { start: start as u32, end: start as u32 + 1 }, "unterminated string".into()));
                    break;
                }
                Some('"') => {
                    self.bump();
                    break;
                }
                Some('\\') => {
                    self.bump();
                    match self.peek() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some(c @ ('"' | '\\')) => value.push(c),
                        Some('\n') | None => continue,
                        Some(c) => {
                            self.errors.push((self.span_from(start), format!("unknown escape '\\{c}' in a string")));
                        }
                    }
                    self.bump();
                }
                Some(c) => {
                    self.bump();
                    value.push(c);
                }
            }
        }
        self.push(Tok::Str(value), start);
    }

    fn punct(&mut self, c: char) {
        let start = self.pos;
        let next = self.peek_at(1);
        let (tok, len) = match (c, next) {
            ('.', Some('.')) if self.peek_at(2) == Some('.') => (Tok::Ellipsis, 3),
            ('.', Some('.')) => (Tok::DotDot, 2),
            ('=', Some('=')) => (Tok::EqEq, 2),
            ('!', Some('=')) => (Tok::Ne, 2),
            ('<', Some('=')) => (Tok::Le, 2),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('*', Some('*')) => (Tok::StarStar, 2),
            ('-', Some('>')) => (Tok::Arrow, 2),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            ('{', _) => (Tok::LBrace, 1),
            ('}', _) => (Tok::RBrace, 1),
            (',', _) => (Tok::Comma, 1),
            (':', _) => (Tok::Colon, 1),
            (';', _) => (Tok::Semi, 1),
            ('.', _) => (Tok::Dot, 1),
            ('=', _) => (Tok::Assign, 1),
            ('<', _) => (Tok::Lt, 1),
            ('>', _) => (Tok::Gt, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('%', _) => (Tok::Percent, 1),
            ('@', _) => (Tok::At, 1),
            _ => {
                self.bump();
                let shown = if c.is_control() { format!("{:?}", c) } else { format!("'{c}'") };
                self.errors.push((self.span_from(start), format!("unexpected character {shown}")));
                self.push(Tok::Error, start);
                return;
            }
        };
        for _ in 0..len {
            self.bump();
        }
        self.push(tok, start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        let (tokens, errors) = lex(src);
        assert!(errors.is_empty(), "{errors:?}");
        tokens.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_ranges_and_operators() {
        use Tok::*;
        assert_eq!(
            toks("0..4 1.5 2e-3 7 x**2 a->b ... //c\n"),
            vec![
                Int(0),
                DotDot,
                Int(4),
                Float(1.5),
                Float(2e-3),
                Int(7),
                Ident("x".into()),
                StarStar,
                Int(2),
                Ident("a".into()),
                Arrow,
                Ident("b".into()),
                Ellipsis,
                Newline,
                Eof
            ]
        );
    }

    #[test]
    fn keywords_strings_and_spans() {
        let (tokens, _) = lex("let s = \"max\\n\"");
        assert_eq!(tokens[0].tok, Tok::Let);
        assert_eq!(tokens[3].tok, Tok::Str("max\n".into()));
        assert_eq!(tokens[3].span, Span { start: 8, end: 15 });
    }

    #[test]
    fn bad_input_is_reported_and_skipped() {
        let (tokens, errors) = lex("a $ 99999999999999999999 \"open\nb");
        let messages: Vec<&str> = errors.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(messages, ["unexpected character '$'", "the integer 99999999999999999999 does not fit in 64 bits", "unterminated string"]);
        assert_eq!(tokens.last().map(|t| &t.tok), Some(&Tok::Eof));
        assert!(tokens.iter().any(|t| t.tok == Tok::Ident("b".into())));
    }
}
