//! The syntax tree of a `.tsr` file, as the parser leaves it: items
//! (`fn`/`model`), statements, expressions and type annotations, each with
//! the span of source it came from. Nothing here is checked yet.

use tessera_ir::DType;

/// A range of bytes in one source file.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset just past the last byte.
    pub end: u32,
}

impl Span {
    /// The span from the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start, end: other.end.max(self.start) }
    }
}

/// A name with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A whole file: its items in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Program {
    /// `fn` and `model` definitions, in source order.
    pub items: Vec<Item>,
    /// The names of items whose header failed to parse (calls to them report nothing more).
    pub broken: Vec<String>,
}

/// Whether an item is a model (an entry point with parameters) or a function.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// `fn name(...)`: inlined where it is called.
    Fn,
    /// `model Name(...)`: becomes a function of the module; may declare `param`s.
    Model,
}

/// `fn name(params) -> result { body }` or `model Name(...) ...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Function or model.
    pub kind: ItemKind,
    /// Its name.
    pub name: Ident,
    /// Its parameters (a model's are its inputs).
    pub params: Vec<ParamDecl>,
    /// The declared result types; `None` when left to inference.
    pub results: Option<Vec<TypeExpr>>,
    /// The body.
    pub body: Block,
}

/// One parameter of a function or model: `x: f32[N, 4]` or `axis: int = -1`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    /// Its name.
    pub name: Ident,
    /// Its type, a pattern for tensors (plain dim names bind at the call).
    pub ty: TypeExpr,
    /// The default value of a compile-time parameter.
    pub default: Option<Expr>,
}

/// A type as written.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    /// `f32[N, 784]`, `f32[..., D]`, or a bare `f32` (rank 0).
    Tensor {
        /// The element type.
        dtype: DType,
        /// The dims; empty for a rank-0 tensor.
        dims: Vec<DimExpr>,
        /// Where it was written.
        span: Span,
    },
    /// A compile-time value: `int`, `float` or `bool`.
    Static(StaticKind, Span),
    /// A type that failed to parse (already reported).
    Error(Span),
}

impl TypeExpr {
    /// Where the type was written.
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Tensor { span, .. } | TypeExpr::Static(_, span) | TypeExpr::Error(span) => *span,
        }
    }
}

/// The kinds of compile-time parameters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StaticKind {
    /// An integer (or a symbolic size).
    Int,
    /// A float (integers convert).
    Float,
    /// `true` or `false`.
    Bool,
}

/// One dim of a tensor type.
#[derive(Clone, Debug, PartialEq)]
pub enum DimExpr {
    /// `...`: any number of leading, middle or trailing dims (one per signature).
    Ellipsis(Span),
    /// A size: an integer, a name, or arithmetic on them (`4*H`, `D / heads`).
    Size(Expr),
}

/// `{ statements }`. The value of a block (the branches of `if`) is its
/// last statement when that is an expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `let x = e`, `let x: f32[N] = e`, `let (h, c) = f(...)`.
    Let {
        /// The names bound; several for a tuple pattern.
        names: Vec<Ident>,
        /// Whether the pattern was a parenthesised tuple.
        tuple: bool,
        /// The annotated type, checked against the value.
        ty: Option<TypeExpr>,
        /// The value.
        value: Expr,
    },
    /// `param w: f32[784, 256] = glorot(seed=0)` (models only).
    Param {
        /// The parameter's name.
        name: Ident,
        /// Its (static) type.
        ty: TypeExpr,
        /// The initialiser call.
        init: Expr,
    },
    /// `x = e`: rebinds an existing variable (inside a loop, carries it).
    Assign {
        /// The variable.
        name: Ident,
        /// The new value.
        value: Expr,
    },
    /// `for i in lo..hi { body }`.
    For {
        /// The counter, an `i64` scalar tensor inside the body.
        var: Ident,
        /// The first value.
        lo: Expr,
        /// One past the last value.
        hi: Expr,
        /// The body.
        body: Block,
        /// The `for` keyword.
        span: Span,
    },
    /// `return a, b`.
    Return {
        /// The returned values.
        values: Vec<Expr>,
        /// The `return` keyword.
        span: Span,
    },
    /// An expression; its value is the block's when it comes last.
    Expr(Expr),
}

/// An expression: what it is, and the span a diagnostic points at (an
/// operator for operations, the callee's name for calls).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where diagnostics and op locations point.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `42`.
    Int(i64),
    /// `1.5`, `1e-5`.
    Float(f64),
    /// `true`, `false`.
    Bool(bool),
    /// `"max"`.
    Str(String),
    /// A variable, a dim name, a dtype name.
    Name(String),
    /// `[a, b, c]`: a compile-time list (shapes, axes, permutations).
    List(Vec<Expr>),
    /// `-x`, `not x`.
    Unary(UnOp, Box<Expr>),
    /// `a + b`, `a @ b`, `a < b`, `a and b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `f(x, axis=-1)`.
    Call(Ident, Vec<Arg>),
    /// `x[:, 0:4]`, `x[..., -1]`.
    Index(Box<Expr>, Vec<IndexItem>),
    /// `x.shape`, `x.rank`.
    Field(Box<Expr>, Ident),
    /// `if c { a } else { b }`.
    If(Box<Expr>, Block, Box<Else>),
    /// An expression that failed to parse (already reported).
    Error,
}

/// What follows `else`.
#[derive(Clone, Debug, PartialEq)]
pub enum Else {
    /// `else { ... }`.
    Block(Block),
    /// `else if ...`.
    If(Expr),
}

/// One argument of a call, positional or `name=value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The keyword, for `name=value`.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
}

/// One entry between the brackets of an index expression.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexItem {
    /// `i`: picks one position and drops the axis.
    At(Expr),
    /// `lo:hi:step`, each part optional.
    Range {
        /// The start (default: the first element in the step's direction).
        lo: Option<Expr>,
        /// The end, exclusive (default: past the last element).
        hi: Option<Expr>,
        /// The step (default 1; never 0).
        step: Option<Expr>,
        /// Where the range was written.
        span: Span,
    },
    /// `...`: as many `:` as the other entries leave.
    Ellipsis(Span),
}

/// Prefix operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`.
    Neg,
    /// `not x`.
    Not,
}

/// Infix operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%` (the remainder with the divisor's sign).
    Mod,
    /// `**`.
    Pow,
    /// `@`: numpy `matmul`.
    MatMul,
    /// `==`.
    Eq,
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
    /// `and`.
    And,
    /// `or`.
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
            BinOp::MatMul => "@",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    /// The verb diagnostics use: `cannot add f32[3] and f32[4]`.
    pub fn verb(self) -> &'static str {
        match self {
            BinOp::Add => "add",
            BinOp::Sub => "subtract",
            BinOp::Mul => "multiply",
            BinOp::Div => "divide",
            BinOp::Mod => "take the remainder of",
            BinOp::Pow => "raise",
            BinOp::MatMul => "matrix-multiply",
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => "compare",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}
