//! The parser: tokens to the syntax tree, by recursive descent with
//! precedence climbing for expressions.
//!
//! It recovers from errors so that one run reports every syntax error in a
//! file: a bad statement is skipped to the end of its line (brackets
//! balanced), a bad item header to the next `fn` or `model`. At most one
//! error is reported per statement. Nesting deeper than [`MAX_DEPTH`] is an
//! error rather than a stack overflow.
//!
//! ```text
//! file    := item*
//! item    := ("fn" | "model") NAME "(" [param ("," param)*] ")" ["->" results] block
//! param   := NAME ":" type ["=" expr]
//! results := type | "(" type ("," type)* ")"
//! type    := DTYPE ["[" [dim ("," dim)*] "]"] | "int" | "float" | "bool"
//! dim     := "..." | expr
//! block   := "{" (stmt (NEWLINE | ";"))* "}"
//! stmt    := "let" (NAME | "(" NAME ("," NAME)* ")") [":" type] "=" expr
//!          | "param" NAME ":" type "=" expr
//!          | NAME "=" expr
//!          | "for" NAME "in" expr ".." expr block
//!          | "return" expr ("," expr)*
//!          | expr
//! expr    := or;  or := and ("or" and)*;  and := not ("and" not)*
//! not     := "not" not | cmp;  cmp := sum [("=="|"!="|"<"|"<="|">"|">=") sum]
//! sum     := prod (("+"|"-") prod)*;  prod := unary (("*"|"/"|"%"|"@") unary)*
//! unary   := "-" unary | power;  power := postfix ["**" unary]
//! postfix := primary ("(" args ")" | "[" index ("," index)* "]" | "." NAME)*
//! primary := INT | FLOAT | STRING | "true" | "false" | NAME | "(" expr ")"
//!          | "[" [expr ("," expr)*] "]" | "if" expr block "else" (block | if)
//! args    := [arg ("," arg)*];  arg := [NAME "="] expr
//! index   := "..." | expr | [expr] ":" [expr] [":" [expr]]
//! ```
//!
//! Newlines end statements, except inside brackets and after a binary
//! operator, a comma or an opening bracket.

use super::ast::*;
use super::lexer::{lex, Tok, Token};
use super::source::SourceFile;
use tessera_ir::{DType, Diag};

/// The deepest nesting of expressions and blocks the parser accepts.
pub const MAX_DEPTH: u32 = 64;

/// Parses `file`; returns the items that parsed (statements that did not
/// are left out) and every error found, lexical ones included.
pub fn parse(file: &SourceFile) -> (Program, Vec<Diag>) {
    let (tokens, lex_errors) = lex(file.text());
    let mut p = Parser { tokens, at: 0, file, diags: Vec::new(), depth: 0 };
    p.diags.extend(lex_errors.into_iter().map(|(span, msg)| file.error(span, msg)));
    let program = p.program();
    let mut diags = p.diags;
    diags.sort_by_key(|d| d.loc.file_pos().map(|(_, l, c)| (l, c)));
    (program, diags)
}

/// The mark of an error already reported.
struct Reported;

type PResult<T> = Result<T, Reported>;

struct Parser<'f> {
    tokens: Vec<Token>,
    at: usize,
    file: &'f SourceFile,
    diags: Vec<Diag>,
    depth: u32,
}

impl Parser<'_> {
    // ---- token access ----

    fn peek(&self) -> &Tok {
        &self.tokens[self.at.min(self.tokens.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.tokens[(self.at + n).min(self.tokens.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.tokens[self.at.min(self.tokens.len() - 1)].span
    }

    fn prev_span(&self) -> Span {
        self.tokens[self.at.saturating_sub(1).min(self.tokens.len() - 1)].span
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.at.min(self.tokens.len() - 1)].clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == tok {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek(), Tok::Newline) {
            self.bump();
        }
    }

    fn error<T>(&mut self, span: Span, msg: impl Into<String>) -> PResult<T> {
        self.diags.push(self.file.error(span, msg));
        Err(Reported)
    }

    /// Reports what was found instead of `wanted`; nothing more on text
    /// the lexer already reported.
    fn unexpected<T>(&mut self, wanted: &str) -> PResult<T> {
        if self.peek() == &Tok::Error {
            return Err(Reported);
        }
        let found = self.peek().describe();
        self.error(self.span(), format!("expected {wanted}, found {found}"))
    }

    fn expect(&mut self, tok: Tok) -> PResult<Span> {
        if self.peek() == &tok {
            Ok(self.bump().span)
        } else {
            self.unexpected(&tok.describe())
        }
    }

    fn ident(&mut self, what: &str) -> PResult<Ident> {
        match self.peek().clone() {
            Tok::Ident(name) => Ok(Ident { name, span: self.bump().span }),
            _ => self.unexpected(what),
        }
    }

    /// Runs `f` one nesting level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            return self.error(self.span(), format!("this is nested more than {MAX_DEPTH} levels deep"));
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }

    // ---- recovery ----

    /// Skips to the end of the current statement: a newline or `;` outside
    /// brackets, a `}` closing the block, `fn`, `model` or the end of the
    /// file (none of them consumed).
    fn recover_statement(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Eof | Tok::Fn | Tok::Model => return,
                Tok::Newline | Tok::Semi | Tok::RBrace if depth == 0 => return,
                Tok::LParen | Tok::LBracket | Tok::LBrace => depth += 1,
                Tok::RParen | Tok::RBracket | Tok::RBrace => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.bump();
        }
    }

    /// Skips to the next `fn` or `model`; a body met on the way is parsed
    /// (for its own errors) and dropped.
    fn recover_item(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Eof | Tok::Fn | Tok::Model => return,
                Tok::LBrace if depth == 0 => {
                    let _ = self.block();
                    return;
                }
                Tok::LParen | Tok::LBracket => depth += 1,
                Tok::RParen | Tok::RBracket => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.bump();
        }
    }

    // ---- items ----

    fn program(&mut self) -> Program {
        let mut items = Vec::new();
        let mut broken = Vec::new();
        loop {
            while matches!(self.peek(), Tok::Newline | Tok::Semi) {
                self.bump();
            }
            match self.peek() {
                Tok::Eof => break,
                Tok::Fn | Tok::Model => {
                    let name = match self.peek_at(1) {
                        Tok::Ident(n) => Some(n.clone()),
                        _ => None,
                    };
                    match self.item() {
                        Ok(item) => items.push(item),
                        Err(Reported) => {
                            broken.extend(name);
                            self.recover_item();
                        }
                    }
                }
                _ => {
                    let _ = self.unexpected::<()>("'fn' or 'model'");
                    self.bump();
                    self.recover_item();
                }
            }
        }
        Program { items, broken }
    }

    fn item(&mut self) -> PResult<Item> {
        let kind = if self.bump().tok == Tok::Model { ItemKind::Model } else { ItemKind::Fn };
        let name = self.ident("a name")?;
        self.expect(Tok::LParen)?;
        let mut params = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&Tok::RParen) {
                break;
            }
            params.push(self.param_decl()?);
            self.skip_newlines();
            if !self.eat(&Tok::Comma) {
                self.skip_newlines();
                self.expect(Tok::RParen)?;
                break;
            }
        }
        let results = if self.eat(&Tok::Arrow) { Some(self.results()?) } else { None };
        let body = self.block()?;
        Ok(Item { kind, name, params, results, body })
    }

    fn param_decl(&mut self) -> PResult<ParamDecl> {
        let name = self.ident("a parameter name")?;
        self.expect(Tok::Colon)?;
        let ty = self.ty()?;
        let default = if self.eat(&Tok::Assign) { Some(self.expr()?) } else { None };
        Ok(ParamDecl { name, ty, default })
    }

    fn results(&mut self) -> PResult<Vec<TypeExpr>> {
        if !self.eat(&Tok::LParen) {
            return Ok(vec![self.ty()?]);
        }
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            out.push(self.ty()?);
            self.skip_newlines();
            if !self.eat(&Tok::Comma) {
                self.expect(Tok::RParen)?;
                return Ok(out);
            }
        }
    }

    fn ty(&mut self) -> PResult<TypeExpr> {
        let name = self.ident("a type such as f32[N, 4], int, float or bool")?;
        let span = name.span;
        let has_dims = self.peek() == &Tok::LBracket;
        let kind = match name.name.as_str() {
            "int" => Some(StaticKind::Int),
            "float" => Some(StaticKind::Float),
            "bool" if !has_dims => Some(StaticKind::Bool),
            _ => None,
        };
        if let Some(kind) = kind {
            if has_dims {
                return self.error(self.span(), format!("'{}' is a compile-time type and has no dims", name.name));
            }
            return Ok(TypeExpr::Static(kind, span));
        }
        let Some(dtype) = dtype_named(&name.name) else {
            return self.error(
                span,
                format!("unknown type '{}': expected a dtype (f32, f16, bf16, f64, i64, i32, i16, i8, u8, bool), int or float", name.name),
            );
        };
        let mut dims = Vec::new();
        if self.eat(&Tok::LBracket) {
            loop {
                self.skip_newlines();
                if self.eat(&Tok::RBracket) {
                    break;
                }
                if self.peek() == &Tok::Ellipsis {
                    dims.push(DimExpr::Ellipsis(self.bump().span));
                } else {
                    dims.push(DimExpr::Size(self.expr()?));
                }
                self.skip_newlines();
                if !self.eat(&Tok::Comma) {
                    self.expect(Tok::RBracket)?;
                    break;
                }
            }
        }
        Ok(TypeExpr::Tensor { dtype, dims, span: span.to(self.prev_span()) })
    }

    // ---- statements ----

    fn block(&mut self) -> PResult<Block> {
        self.nested(|p| p.block_inner())
    }

    fn block_inner(&mut self) -> PResult<Block> {
        let open = self.expect(Tok::LBrace)?;
        let mut stmts = Vec::new();
        loop {
            while matches!(self.peek(), Tok::Newline | Tok::Semi) {
                self.bump();
            }
            match self.peek() {
                Tok::RBrace => {
                    let close = self.bump().span;
                    return Ok(Block { stmts, span: open.to(close) });
                }
                Tok::Eof | Tok::Fn | Tok::Model => {
                    let found = self.peek().describe();
                    let line = self.file.loc(open).file_pos().map_or(0, |(_, l, _)| l);
                    let _ = self.error::<()>(self.span(), format!("expected '}}' to close the block opened on line {line}, found {found}"));
                    return Ok(Block { stmts, span: open.to(self.prev_span()) });
                }
                _ => {}
            }
            match self.stmt() {
                Ok(s) => {
                    stmts.push(s);
                    match self.peek() {
                        Tok::Newline | Tok::Semi => {
                            self.bump();
                        }
                        Tok::RBrace | Tok::Eof => {}
                        _ => {
                            let _ = self.unexpected::<()>("the end of the statement (a new line or ';')");
                            self.recover_statement();
                        }
                    }
                }
                Err(Reported) => self.recover_statement(),
            }
        }
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        match self.peek() {
            Tok::Let => self.let_stmt(),
            Tok::Param => {
                self.bump();
                let name = self.ident("the parameter's name")?;
                let rest = |p: &mut Self| -> PResult<(TypeExpr, Expr)> {
                    p.expect(Tok::Colon)?;
                    let ty = p.ty()?;
                    p.expect(Tok::Assign)?;
                    Ok((ty, p.expr()?))
                };
                let (ty, init) = rest(self).unwrap_or_else(|Reported| {
                    let span = self.span();
                    self.recover_statement();
                    (TypeExpr::Error(span), Expr { kind: ExprKind::Error, span })
                });
                Ok(Stmt::Param { name, ty, init })
            }
            Tok::Return => {
                let span = self.bump().span;
                let mut values = vec![self.expr()?];
                while self.eat(&Tok::Comma) {
                    self.skip_newlines();
                    values.push(self.expr()?);
                }
                Ok(Stmt::Return { values, span })
            }
            Tok::For => {
                let span = self.bump().span;
                let var = self.ident("the loop variable")?;
                self.expect(Tok::In)?;
                let lo = self.expr()?;
                self.expect(Tok::DotDot)?;
                let hi = self.expr()?;
                let body = self.block()?;
                Ok(Stmt::For { var, lo, hi, body, span })
            }
            Tok::Ident(_) if self.peek_at(1) == &Tok::Assign => {
                let name = self.ident("a name")?;
                self.bump();
                let value = self.expr()?;
                Ok(Stmt::Assign { name, value })
            }
            _ => Ok(Stmt::Expr(self.expr()?)),
        }
    }

    fn let_stmt(&mut self) -> PResult<Stmt> {
        self.bump();
        let (names, tuple) = if self.eat(&Tok::LParen) {
            let mut names = vec![self.ident("a name")?];
            while self.eat(&Tok::Comma) {
                names.push(self.ident("a name")?);
            }
            self.expect(Tok::RParen)?;
            (names, true)
        } else {
            (vec![self.ident("a name")?], false)
        };
        // Past the names, a failure still binds them (to an error), so that
        // later uses of the names report nothing more.
        let rest = |p: &mut Self| -> PResult<(Option<TypeExpr>, Expr)> {
            let ty = if p.eat(&Tok::Colon) { Some(p.ty()?) } else { None };
            p.expect(Tok::Assign)?;
            Ok((ty, p.expr()?))
        };
        let (ty, value) = rest(self).unwrap_or_else(|Reported| {
            let span = self.span();
            self.recover_statement();
            (None, Expr { kind: ExprKind::Error, span })
        });
        Ok(Stmt::Let { names, tuple, ty, value })
    }

    // ---- expressions ----

    fn expr(&mut self) -> PResult<Expr> {
        self.nested(|p| p.or_expr())
    }

    fn binary(op: BinOp, a: Expr, b: Expr, span: Span) -> Expr {
        Expr { kind: ExprKind::Binary(op, Box::new(a), Box::new(b)), span }
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let mut a = self.and_expr()?;
        while self.peek() == &Tok::Or {
            let span = self.bump().span;
            self.skip_newlines();
            let b = self.and_expr()?;
            a = Self::binary(BinOp::Or, a, b, span);
        }
        Ok(a)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut a = self.not_expr()?;
        while self.peek() == &Tok::And {
            let span = self.bump().span;
            self.skip_newlines();
            let b = self.not_expr()?;
            a = Self::binary(BinOp::And, a, b, span);
        }
        Ok(a)
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if self.peek() == &Tok::Not {
            let span = self.bump().span;
            let x = self.nested(|p| p.not_expr())?;
            return Ok(Expr { kind: ExprKind::Unary(UnOp::Not, Box::new(x)), span });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let a = self.sum()?;
        let Some(op) = compare_op(self.peek()) else { return Ok(a) };
        let span = self.bump().span;
        self.skip_newlines();
        let b = self.sum()?;
        if compare_op(self.peek()).is_some() {
            return self.error(self.span(), "comparisons do not chain: write (a < b) and (b < c)");
        }
        Ok(Self::binary(op, a, b, span))
    }

    fn sum(&mut self) -> PResult<Expr> {
        let mut a = self.product()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(a),
            };
            let span = self.bump().span;
            self.skip_newlines();
            let b = self.product()?;
            a = Self::binary(op, a, b, span);
        }
    }

    fn product(&mut self) -> PResult<Expr> {
        let mut a = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Mod,
                Tok::At => BinOp::MatMul,
                _ => return Ok(a),
            };
            let span = self.bump().span;
            self.skip_newlines();
            let b = self.unary()?;
            a = Self::binary(op, a, b, span);
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.peek() == &Tok::Minus {
            let span = self.bump().span;
            let x = self.nested(|p| p.unary())?;
            return Ok(Expr { kind: ExprKind::Unary(UnOp::Neg, Box::new(x)), span });
        }
        let base = self.postfix()?;
        if self.peek() == &Tok::StarStar {
            let span = self.bump().span;
            self.skip_newlines();
            let exp = self.nested(|p| p.unary())?;
            return Ok(Self::binary(BinOp::Pow, base, exp, span));
        }
        Ok(base)
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut x = self.primary()?;
        loop {
            match self.peek() {
                Tok::LBracket => {
                    let span = self.bump().span;
                    let items = self.index_items()?;
                    x = Expr { kind: ExprKind::Index(Box::new(x), items), span };
                }
                Tok::Dot => {
                    self.bump();
                    let name = self.ident("a field name (shape or rank)")?;
                    let span = name.span;
                    x = Expr { kind: ExprKind::Field(Box::new(x), name), span };
                }
                _ => return Ok(x),
            }
        }
    }

    fn index_items(&mut self) -> PResult<Vec<IndexItem>> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&Tok::RBracket) {
                return Ok(items);
            }
            items.push(self.index_item()?);
            self.skip_newlines();
            if !self.eat(&Tok::Comma) {
                self.skip_newlines();
                self.expect(Tok::RBracket)?;
                return Ok(items);
            }
        }
    }

    fn index_item(&mut self) -> PResult<IndexItem> {
        if self.peek() == &Tok::Ellipsis {
            return Ok(IndexItem::Ellipsis(self.bump().span));
        }
        let start = self.span();
        let lo = if self.peek() == &Tok::Colon { None } else { Some(self.expr()?) };
        if !self.eat(&Tok::Colon) {
            return match lo {
                Some(e) => Ok(IndexItem::At(e)),
                None => self.unexpected("an index"),
            };
        }
        let ends = |t: &Tok| matches!(t, Tok::Comma | Tok::RBracket | Tok::Colon);
        let hi = if ends(self.peek()) { None } else { Some(self.expr()?) };
        let step = if self.eat(&Tok::Colon) && !ends(self.peek()) { Some(self.expr()?) } else { None };
        Ok(IndexItem::Range { lo, hi, step, span: start.to(self.prev_span()) })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let span = self.span();
        let kind = match self.peek().clone() {
            Tok::Int(v) => ExprKind::Int(v),
            Tok::Float(v) => ExprKind::Float(v),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::True => ExprKind::Bool(true),
            Tok::False => ExprKind::Bool(false),
            Tok::Ident(name) => {
                self.bump();
                if self.peek() == &Tok::LParen {
                    self.bump();
                    let args = self.args()?;
                    return Ok(Expr { kind: ExprKind::Call(Ident { name, span }, args), span });
                }
                return Ok(Expr { kind: ExprKind::Name(name), span });
            }
            Tok::LParen => {
                self.bump();
                self.skip_newlines();
                let inner = self.expr()?;
                self.skip_newlines();
                self.expect(Tok::RParen)?;
                return Ok(inner);
            }
            Tok::LBracket => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.eat(&Tok::RBracket) {
                        break;
                    }
                    items.push(self.expr()?);
                    self.skip_newlines();
                    if !self.eat(&Tok::Comma) {
                        self.expect(Tok::RBracket)?;
                        break;
                    }
                }
                return Ok(Expr { kind: ExprKind::List(items), span });
            }
            Tok::If => return self.if_expr(),
            _ => return self.unexpected("an expression"),
        };
        self.bump();
        Ok(Expr { kind, span })
    }

    fn args(&mut self) -> PResult<Vec<Arg>> {
        let mut args = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&Tok::RParen) {
                return Ok(args);
            }
            let name = match (self.peek().clone(), self.peek_at(1)) {
                (Tok::Ident(name), Tok::Assign) => {
                    let span = self.bump().span;
                    self.bump();
                    Some(Ident { name, span })
                }
                _ => None,
            };
            args.push(Arg { name, value: self.expr()? });
            self.skip_newlines();
            if !self.eat(&Tok::Comma) {
                self.skip_newlines();
                self.expect(Tok::RParen)?;
                return Ok(args);
            }
        }
    }

    fn if_expr(&mut self) -> PResult<Expr> {
        let span = self.expect(Tok::If)?;
        let cond = self.expr()?;
        let then = self.block()?;
        // `else` may start the next line.
        let mut ahead = 0;
        while self.peek_at(ahead) == &Tok::Newline {
            ahead += 1;
        }
        if self.peek_at(ahead) != &Tok::Else {
            return self.error(span, "this if has no else branch (an if is an expression and needs both)");
        }
        self.skip_newlines();
        self.bump();
        let els = if self.peek() == &Tok::If {
            Else::If(self.nested(|p| p.if_expr())?)
        } else {
            Else::Block(self.block()?)
        };
        Ok(Expr { kind: ExprKind::If(Box::new(cond), then, Box::new(els)), span })
    }
}

fn compare_op(t: &Tok) -> Option<BinOp> {
    Some(match t {
        Tok::EqEq => BinOp::Eq,
        Tok::Ne => BinOp::Ne,
        Tok::Lt => BinOp::Lt,
        Tok::Le => BinOp::Le,
        Tok::Gt => BinOp::Gt,
        Tok::Ge => BinOp::Ge,
        _ => return None,
    })
}

/// The dtype a type name stands for (`bool` is `i1`).
pub fn dtype_named(name: &str) -> Option<DType> {
    match name {
        "bool" => Some(DType::I1),
        _ => DType::from_name(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(src: &str) -> Program {
        let (program, diags) = parse(&SourceFile::new("t.tsr", src));
        assert!(diags.is_empty(), "{diags:?}");
        program
    }

    fn errors(src: &str) -> Vec<String> {
        let (_, diags) = parse(&SourceFile::new("t.tsr", src));
        diags.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn precedence_follows_python() {
        let p = parse_ok("fn f(x: f32[N]) { return -x ** 2 + x @ x * 3 < 1 and not x }");
        let Stmt::Return { values, .. } = &p.items[0].body.stmts[0] else { panic!("not a return") };
        // and(lt(add(neg(pow(x, 2)), mul(matmul(x, x), 3)), 1), not(x))
        let ExprKind::Binary(BinOp::And, lhs, rhs) = &values[0].kind else { panic!("{:?}", values[0]) };
        assert!(matches!(rhs.kind, ExprKind::Unary(UnOp::Not, _)));
        let ExprKind::Binary(BinOp::Lt, sum, _) = &lhs.kind else { panic!() };
        let ExprKind::Binary(BinOp::Add, neg, prod) = &sum.kind else { panic!() };
        assert!(matches!(&neg.kind, ExprKind::Unary(UnOp::Neg, p) if matches!(p.kind, ExprKind::Binary(BinOp::Pow, ..))));
        assert!(matches!(&prod.kind, ExprKind::Binary(BinOp::Mul, m, _) if matches!(m.kind, ExprKind::Binary(BinOp::MatMul, ..))));
    }

    #[test]
    fn items_statements_types_and_indexing() {
        let p = parse_ok(
            "model M(x: f32[N, 4], k: int = 2) -> (f32[N], f32[..., 2*N]) {\n\
               param w: f32[4] = zeros()\n\
               let (a, b) = f(x,\n  axis=-1)\n\
               let c: f32[N] = x[:, 0:4:2, ..., -1]\n\
               for i in 0..3 { a = a + 1 }\n\
               let d = if c > 0 { c } else if c < 0 { -c }\n  else { c }\n\
               return a, b\n\
             }",
        );
        let item = &p.items[0];
        assert_eq!(item.kind, ItemKind::Model);
        assert_eq!(item.params.len(), 2);
        assert!(item.params[1].default.is_some());
        assert_eq!(item.results.as_ref().map(Vec::len), Some(2));
        assert_eq!(item.body.stmts.len(), 6);
        let Stmt::Let { value, .. } = &item.body.stmts[2] else { panic!() };
        let ExprKind::Index(_, items) = &value.kind else { panic!() };
        assert!(matches!(items[1], IndexItem::Range { lo: Some(_), hi: Some(_), step: Some(_), .. }));
        assert!(matches!(items[2], IndexItem::Ellipsis(_)));
    }

    #[test]
    fn every_bad_statement_is_reported_once() {
        let errs = errors("fn f(x: f32[N]) {\n  let = 3\n  let y = (x +\n  return x ]\n}\nfn g( { }\nmodel M(x: f32) { return x }");
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(errs[0].starts_with("t.tsr:2:7: error: expected a name, found '='"), "{}", errs[0]);
        assert!(errs[1].starts_with("t.tsr:4:3: error: expected an expression, found 'return'"), "{}", errs[1]);
        assert!(errs[2].starts_with("t.tsr:6:7: error: expected a parameter name, found '{'"), "{}", errs[2]);
    }

    #[test]
    fn unclosed_blocks_and_deep_nesting_are_errors_not_crashes() {
        let errs = errors("fn f(x: f32) {\n  return x");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].contains("expected '}' to close the block opened on line 1"), "{}", errs[0]);
        let deep = format!("fn f(x: f32) {{ return {}x{} }}", "(".repeat(500), ")".repeat(500));
        assert!(errors(&deep)[0].contains("nested more than"));
        let negs = format!("fn f(x: f32) {{ return {}x }}", "-".repeat(10_000));
        assert!(errors(&negs)[0].contains("nested more than"));
    }
}
