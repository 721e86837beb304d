//! How an op kind is declared: the [`OpDef`] trait, its traits, arities and
//! attribute specs. Each op implements `OpDef` once, beside its shape
//! inference; drivers (verifier, parser, passes) call these hooks and never
//! match on op names.

use crate::infer::InferCx;
use crate::types::Type;
use std::fmt;
use std::ops::BitOr;

/// Properties that passes may rely on.
#[derive(Copy, Clone, PartialEq, Eq, Default)]
pub struct Traits(u32);

impl Traits {
    /// No traits.
    pub const NONE: Traits = Traits(0);
    /// No side effects: may be removed when unused, deduplicated, reordered.
    pub const PURE: Traits = Traits(1);
    /// Applies the same scalar function at every position (with broadcasting).
    pub const ELEMENTWISE: Traits = Traits(1 << 1);
    /// `op(a, b) == op(b, a)`.
    pub const COMMUTATIVE: Traits = Traits(1 << 2);
    /// `op(op(x)) == op(x)` for unary ops, `op(x, x) == x` for binary ones.
    pub const IDEMPOTENT: Traits = Traits(1 << 3);
    /// `op(op(x)) == x`.
    pub const INVOLUTION: Traits = Traits(1 << 4);
    /// Ends a block; must be its last op.
    pub const TERMINATOR: Traits = Traits(1 << 5);
    /// The result has the operand's shape and dtype.
    pub const SAME_TYPE: Traits = Traits(1 << 6);

    /// Both sets of traits.
    pub const fn union(self, other: Traits) -> Traits {
        Traits(self.0 | other.0)
    }

    /// Whether every trait in `other` is present.
    pub fn contains(self, other: Traits) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Traits {
    type Output = Traits;
    fn bitor(self, rhs: Traits) -> Traits {
        Traits(self.0 | rhs.0)
    }
}

impl fmt::Debug for Traits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Traits::PURE, "pure"),
            (Traits::ELEMENTWISE, "elementwise"),
            (Traits::COMMUTATIVE, "commutative"),
            (Traits::IDEMPOTENT, "idempotent"),
            (Traits::INVOLUTION, "involution"),
            (Traits::TERMINATOR, "terminator"),
            (Traits::SAME_TYPE, "same-type"),
        ];
        let set: Vec<&str> = names.iter().filter(|(t, _)| self.contains(*t)).map(|(_, n)| *n).collect();
        write!(f, "{}", set.join("|"))
    }
}

/// How many operands or results an op takes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// This many or more.
    AtLeast(usize),
    /// Between the two bounds, inclusive.
    Between(usize, usize),
}

impl Arity {
    /// Whether `n` is allowed.
    pub fn allows(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
            Arity::Between(lo, hi) => (lo..=hi).contains(&n),
        }
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arity::Exactly(k) => write!(f, "{k}"),
            Arity::AtLeast(k) => write!(f, "at least {k}"),
            Arity::Between(lo, hi) => write!(f, "{lo} to {hi}"),
        }
    }
}

/// The kind of value an attribute must hold.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AttrKind {
    /// `true`/`false`.
    Bool,
    /// An integer.
    Int,
    /// A float (an integer is accepted too).
    Float,
    /// A string.
    Str,
    /// A symbol reference `@name`.
    Symbol,
    /// A dtype.
    DType,
    /// An array of integers.
    Ints,
    /// A shape: an array of non-negative ints or of symbolic dims.
    Shape,
    /// A dense tensor constant.
    Dense,
}

impl AttrKind {
    /// A phrase for diagnostics.
    pub fn describe(self) -> &'static str {
        match self {
            AttrKind::Bool => "a bool",
            AttrKind::Int => "an integer",
            AttrKind::Float => "a float",
            AttrKind::Str => "a string",
            AttrKind::Symbol => "a symbol (@name)",
            AttrKind::DType => "a dtype",
            AttrKind::Ints => "an array of integers",
            AttrKind::Shape => "a shape",
            AttrKind::Dense => "a dense constant",
        }
    }
}

/// One attribute an op understands.
#[derive(Copy, Clone, Debug)]
pub struct AttrSpec {
    /// The attribute's name.
    pub name: &'static str,
    /// What it must hold.
    pub kind: AttrKind,
    /// Whether it must be present (otherwise the op documents a default).
    pub required: bool,
}

impl AttrSpec {
    /// A required attribute.
    pub const fn req(name: &'static str, kind: AttrKind) -> AttrSpec {
        AttrSpec { name, kind, required: true }
    }

    /// An optional attribute with a documented default.
    pub const fn opt(name: &'static str, kind: AttrKind) -> AttrSpec {
        AttrSpec { name, kind, required: false }
    }
}

/// The declaration of one op kind. Implemented once per op (or once per
/// family of ops that differ only in data, such as the unary elementwise ops).
pub trait OpDef: Sync + 'static {
    /// The op's full name, dialect prefix included (`tg.add`).
    fn name(&self) -> &'static str;
    /// One line saying what the op computes.
    fn summary(&self) -> &'static str;
    /// Properties passes may rely on.
    fn traits(&self) -> Traits;
    /// How many operands it takes.
    fn operands(&self) -> Arity;
    /// How many results it has.
    fn results(&self) -> Arity {
        Arity::Exactly(1)
    }
    /// How many regions it owns.
    fn num_regions(&self) -> usize {
        0
    }
    /// The attributes it understands; any other attribute is an error.
    fn attrs(&self) -> &'static [AttrSpec] {
        &[]
    }
    /// Checks operands, attributes and regions and returns the result types.
    /// The message of an error names what is wrong, without the op's name.
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String>;
}

/// A reference to an op's declaration; op kinds are compared by name.
pub type OpRef = &'static dyn OpDef;

/// Whether two op references name the same op kind.
pub fn same_op(a: OpRef, b: OpRef) -> bool {
    a.name() == b.name()
}

impl fmt::Debug for dyn OpDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
