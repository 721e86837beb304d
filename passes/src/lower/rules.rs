//! Which graph ops lower, and how: one [`Rule`] per op, found by
//! [`rule`]. Elementwise ops without attributes share one rule, found
//! through their `ELEMENTWISE` trait; every other lowered op has a row in
//! [`RULES`] pointing at its family's file. An op with no rule is an error
//! naming it.

use super::emit::{Lowerer, Source};
use super::{control, conv, elementwise, gather, layout, linalg, reduce, scan, sort, value, window};
use tessera_ir::dialect::graph::{
    control as ctl, elementwise as ew, index as ix, linalg as la, reduce as red, shape, sort as so, value as val, window as win,
};
use tessera_ir::op::same_op;
use tessera_ir::{Diag, Func, OpId, OpRef, Traits, ValueId};

/// Computes the element of an op's result at the given indices.
pub(crate) type ElementFn = fn(&mut Lowerer<'_>, OpId, &[ValueId]) -> Result<ValueId, Diag>;
/// Writes an op's whole result into the destination buffer given.
pub(crate) type NestFn = fn(&mut Lowerer<'_>, OpId, ValueId) -> Result<(), Diag>;
/// Writes each of an op's results into its destination buffer, given in order.
pub(crate) type NestsFn = fn(&mut Lowerer<'_>, OpId, &[ValueId]) -> Result<(), Diag>;
/// Makes an op's result readable once, at the function's entry.
pub(crate) type SourceFn = fn(&mut Lowerer<'_>, OpId) -> Result<Source, Diag>;
/// Whether an op reads each element of operand `k` at most once.
pub(crate) type ReadsOnce = fn(&Func, OpId, usize) -> bool;

/// How one op's result comes to exist in the kernel function.
#[derive(Copy, Clone)]
pub(crate) enum Lowering {
    /// Element by element from its operands' elements; a single reader may
    /// compute it inline (fusion) instead of reading a buffer.
    Element(ElementFn),
    /// Like [`Lowering::Element`] but only moving elements, never computing
    /// on them, so computing it inline repeats no work even for a reader
    /// that reads each element many times.
    Remap(ElementFn),
    /// By a loop nest of its own that writes a destination buffer.
    Nest(NestFn),
    /// Like [`Lowering::Nest`], for an op of several results: one
    /// destination each (a temporary for a result nothing reads).
    Nests(NestsFn),
    /// Once, at the entry: a constant or parameter buffer, or a scalar.
    Source(SourceFn),
}

/// The lowering of one op kind.
#[derive(Copy, Clone)]
pub(crate) struct Rule {
    /// How its result is produced.
    pub(crate) lowering: Lowering,
    /// Whether it reads each element of an operand at most once, so that
    /// operand's producer may be computed inline without repeating work.
    pub(crate) reads_once: ReadsOnce,
}

const fn rule_of(lowering: Lowering, reads_once: ReadsOnce) -> Rule {
    Rule { lowering, reads_once }
}

/// Reads every element of every operand once (or not at all).
fn always(_: &Func, _: OpId, _: usize) -> bool {
    true
}

/// Reads each element of its operands many times.
fn never(_: &Func, _: OpId, _: usize) -> bool {
    false
}

/// The ops with a rule of their own.
static RULES: &[(OpRef, Rule)] = &[
    (&ew::CAST, rule_of(Lowering::Element(elementwise::cast), elementwise::unbroadcast)),
    (&ew::BITCAST, rule_of(Lowering::Element(elementwise::bitcast), elementwise::unbroadcast)),
    (&val::CONSTANT, rule_of(Lowering::Source(value::constant), always)),
    (&val::PARAM, rule_of(Lowering::Source(value::param), always)),
    (&shape::BROADCAST_TO, rule_of(Lowering::Remap(layout::broadcast_to), elementwise::unbroadcast)),
    (&shape::TRANSPOSE, rule_of(Lowering::Remap(layout::transpose), always)),
    (&shape::RESHAPE, rule_of(Lowering::Remap(layout::reshape), always)),
    (&shape::SLICE, rule_of(Lowering::Remap(layout::slice), always)),
    (&shape::REVERSE, rule_of(Lowering::Remap(layout::reverse), always)),
    (&shape::IOTA, rule_of(Lowering::Element(layout::iota), always)),
    (&shape::CONCAT, rule_of(Lowering::Nest(layout::concat), always)),
    (&shape::PAD, rule_of(Lowering::Nest(layout::pad), always)),
    (&shape::SHAPE_OF, rule_of(Lowering::Nest(layout::shape_of), always)),
    (&red::REDUCE_SUM, rule_of(Lowering::Nest(reduce::sum), always)),
    (&red::REDUCE_PROD, rule_of(Lowering::Nest(reduce::prod), always)),
    (&red::REDUCE_MAX, rule_of(Lowering::Nest(reduce::max), always)),
    (&red::REDUCE_MIN, rule_of(Lowering::Nest(reduce::min), always)),
    (&red::ARGMAX, rule_of(Lowering::Nest(scan::argmax), always)),
    (&red::ARGMIN, rule_of(Lowering::Nest(scan::argmin), always)),
    (&red::CUMSUM, rule_of(Lowering::Nest(scan::cumsum), always)),
    (&red::CUMPROD, rule_of(Lowering::Nest(scan::cumprod), always)),
    (&la::DOT, rule_of(Lowering::Nest(linalg::dot), never)),
    (&la::CONV, rule_of(Lowering::Nest(conv::conv), never)),
    (&win::REDUCE_WINDOW, rule_of(Lowering::Nest(window::reduce_window), never)),
    (&ix::GATHER, rule_of(Lowering::Remap(gather::gather), never)),
    (&ix::GATHER_ELEMENTS, rule_of(Lowering::Remap(gather::gather_elements), gather::indices_once)),
    (&ix::GATHER_ND, rule_of(Lowering::Remap(gather::gather_nd), never)),
    (&ix::SCATTER, rule_of(Lowering::Nest(gather::scatter), always)),
    (&ix::SCATTER_ND, rule_of(Lowering::Nest(gather::scatter_nd), always)),
    (&so::SORT, rule_of(Lowering::Nests(sort::sort), never)),
    (&so::TOPK, rule_of(Lowering::Nests(sort::topk), never)),
    (&ctl::IF, rule_of(Lowering::Nests(control::lower_if), always)),
    (&ctl::LOOP, rule_of(Lowering::Nests(control::lower_loop), always)),
];

/// The rule lowering `def`, if it is lowered.
pub(crate) fn rule(def: OpRef) -> Option<Rule> {
    if let Some((_, r)) = RULES.iter().find(|(op, _)| same_op(*op, def)) {
        return Some(*r);
    }
    let plain_elementwise = def.traits().contains(Traits::ELEMENTWISE) && def.attrs().is_empty();
    plain_elementwise.then_some(rule_of(Lowering::Element(elementwise::apply), elementwise::unbroadcast))
}
