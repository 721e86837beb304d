//! How an op kind is declared: the [`OpDef`] trait, the [`OpSpec`] row it
//! reads its name, traits, arities and attribute specs from, and those
//! pieces. Each op implements `OpDef` once, its spec beside its shape
//! inference; drivers (verifier, parser, passes) call these hooks and never
//! match on op names.

use crate::eval::EvalCx;
use crate::infer::InferCx;
use crate::tensor::Tensor;
use crate::types::Type;
use crate::vjp::{Grads, VjpCx};
use crate::diag::Diag;
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

/// The data half of an op's declaration: one table row naming the op and
/// stating its arities, traits and attributes. Built in `const` context:
/// `OpSpec::new(name, summary)` gives the common case (pure, one operand,
/// one result, no regions, no attributes) and each setter changes one field.
#[derive(Copy, Clone, Debug)]
pub struct OpSpec {
    /// The op's full name, dialect prefix included (`tg.add`).
    pub name: &'static str,
    /// One line saying what the op computes.
    pub summary: &'static str,
    /// Properties passes may rely on.
    pub traits: Traits,
    /// How many operands it takes.
    pub operands: Arity,
    /// How many results it has.
    pub results: Arity,
    /// How many regions it owns.
    pub regions: usize,
    /// The attributes it understands; any other attribute is an error.
    pub attrs: &'static [AttrSpec],
}

impl OpSpec {
    /// A pure op with one operand, one result, no regions and no attributes.
    pub const fn new(name: &'static str, summary: &'static str) -> OpSpec {
        OpSpec {
            name,
            summary,
            traits: Traits::PURE,
            operands: Arity::Exactly(1),
            results: Arity::Exactly(1),
            regions: 0,
            attrs: &[],
        }
    }

    /// The same spec with exactly these traits (replacing the default `PURE`).
    pub const fn traits(mut self, traits: Traits) -> OpSpec {
        self.traits = traits;
        self
    }

    /// The same spec taking this many operands.
    pub const fn operands(mut self, operands: Arity) -> OpSpec {
        self.operands = operands;
        self
    }

    /// The same spec with this many results.
    pub const fn results(mut self, results: Arity) -> OpSpec {
        self.results = results;
        self
    }

    /// The same spec owning this many regions.
    pub const fn regions(mut self, regions: usize) -> OpSpec {
        self.regions = regions;
        self
    }

    /// The same spec understanding these attributes.
    pub const fn attrs(mut self, attrs: &'static [AttrSpec]) -> OpSpec {
        self.attrs = attrs;
        self
    }
}

/// The declaration of one op kind: its [`OpSpec`] and its shape inference.
/// Implemented once per op (or once per family of ops that differ only in
/// data, such as the unary elementwise ops). Drivers read the spec through
/// the provided accessors.
pub trait OpDef: Sync + 'static {
    /// The op's name, arities, traits and attributes.
    fn spec(&self) -> &OpSpec;
    /// Checks operands, attributes and regions and returns the result types.
    /// The message of an error names what is wrong, without the op's name.
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String>;
    /// Computes the results from the inputs with the op's reference
    /// semantics (naive and obviously correct; the oracle for codegen).
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let _ = cx;
        Err(format!("'{}' has no reference semantics yet", self.name()))
    }
    /// Builds the vector-Jacobian product: given the cotangents of the
    /// results, one gradient per operand (`None`: zero, or not wanted).
    /// Ops without a rule are not differentiable.
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        Err(cx.not_differentiable(self.name()))
    }

    /// The op's full name, dialect prefix included (`tg.add`).
    fn name(&self) -> &'static str {
        self.spec().name
    }
    /// One line saying what the op computes.
    fn summary(&self) -> &'static str {
        self.spec().summary
    }
    /// Properties passes may rely on.
    fn traits(&self) -> Traits {
        self.spec().traits
    }
    /// How many operands it takes.
    fn operands(&self) -> Arity {
        self.spec().operands
    }
    /// How many results it has.
    fn results(&self) -> Arity {
        self.spec().results
    }
    /// How many regions it owns.
    fn num_regions(&self) -> usize {
        self.spec().regions
    }
    /// The attributes it understands; any other attribute is an error.
    fn attrs(&self) -> &'static [AttrSpec] {
        self.spec().attrs
    }
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
