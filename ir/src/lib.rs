//! tessera's intermediate representation.
//!
//! Modelled on MLIR. A [`Module`] holds parameters (named weights) and
//! [`Func`]tions. A function owns a body region; a region is a list of
//! blocks; a block has arguments and an ordered list of operations; an
//! operation has a kind ([`OpRef`], e.g. `tg.add`), operands (SSA values),
//! typed results, sorted attributes, optional nested regions (the branches
//! of `tg.if`, the body of `tg.loop`) and a [`Loc`].
//!
//! All entities live in per-function arenas and are named by typed `u32`
//! ids ([`ValueId`], [`OpId`], [`BlockId`], [`RegionId`]); the order of ops
//! in blocks is stored apart from the op data, so erasing or moving an op
//! renumbers nothing.
//!
//! Each op kind is declared once, as a `static` implementing [`OpDef`]
//! (name, summary, traits, arities, attribute specs, and shape inference).
//! The verifier, the parser and every pass reach ops only through these
//! hooks. Dims may be symbolic ([`Dim`]): polynomials over named symbols, so
//! a dynamic batch `N` flows through the whole graph.
//!
//! The text format ([`print`], [`parse`]) round-trips exactly and is the
//! fixture format of the test suite; [`verify`] returns a
//! [`VerifiedModule`], which later stages require.

pub mod attr;
pub mod bindings;
pub mod builder;
pub mod copy;
pub mod diag;
pub mod dialect;
pub mod dim;
pub mod dtype;
pub mod equiv;
pub mod eval;
pub mod func;
pub mod id;
pub mod infer;
pub mod loc;
pub mod module;
pub mod op;
pub mod parse;
pub mod print;
pub mod tensor;
pub mod types;
pub mod verify;
pub mod vjp;

pub use attr::{Attr, Attrs, DenseAttr, Scalar};
pub use builder::{Builder, InsertPoint};
pub use diag::{Diag, Diags, Severity, SourceMap};
pub use dim::{Dim, SymExpr, Symbol};
pub use dtype::{DType, DTypeClass};
pub use func::{BlockData, Func, OpData, RegionData, ValueData, ValueDef};
pub use id::{BlockId, OpId, RegionId, ValueId};
pub use loc::Loc;
pub use module::{Module, Param};
pub use op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, Traits};
pub use types::{TensorType, Type};
