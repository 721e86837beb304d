//! Placing temporaries in one arena: each gets a byte offset such that
//! two whose live ranges overlap never share a byte, reusing the bytes of
//! those that are dead, with sizes and offsets as polynomials over the
//! function's symbolic dims.
//!
//! Greedy by size (the order TensorFlow Lite's arena planner uses): the
//! largest first (sizes compared at a nominal size of every symbol); each
//! goes at the lowest of the candidate offsets (0 and the end of every
//! placed temporary it overlaps in time) that is *provably* clear of every
//! placed temporary it overlaps: `a <= b` is proved when `b - a` has no
//! negative coefficient (symbols are sizes, never negative), so a slot is
//! reused only when the new size is provably no larger than the gap. When
//! no candidate is provably clear, the temporary goes after everything
//! placed so far (the sum of their sizes bounds every end). Sizes are
//! padded so every offset is a multiple of [`ALIGN`] bytes for every
//! value of the symbols. The arena's size is the coefficient-wise maximum
//! of the ends, which bounds each of them.

use std::collections::BTreeMap;
use tessera_ir::{SymExpr, Symbol};

/// The alignment of every offset, in bytes (a cache line, and the widest
/// vector register).
pub const ALIGN: i64 = 64;

/// The value every symbol takes when sizes are compared to order them.
const NOMINAL: i64 = 64;

/// One temporary: its size in bytes and the top-level ops it is live over.
#[derive(Clone, Debug)]
pub struct Item {
    /// Its size in bytes.
    pub size: SymExpr,
    /// The first top-level op that uses it.
    pub first: usize,
    /// The last top-level op that uses it.
    pub last: usize,
}

/// Where each item goes and how large the arena is.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The byte offset of each item, in the order given.
    pub offsets: Vec<SymExpr>,
    /// The arena's size in bytes: at least every item's end.
    pub size: SymExpr,
}

/// Places `items` (see the module doc).
pub fn place(items: &[Item]) -> Plan {
    let padded: Vec<SymExpr> = items.iter().map(|it| pad(&it.size)).collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(nominal(&padded[i])), items[i].first, i));
    let mut offsets: Vec<Option<SymExpr>> = vec![None; items.len()];
    let mut total = SymExpr::constant(0);
    for &i in &order {
        let overlapping: Vec<usize> = (0..items.len())
            .filter(|&j| offsets[j].is_some() && items[j].first <= items[i].last && items[i].first <= items[j].last)
            .collect();
        let end = |j: usize| offsets[j].as_ref().map(|o| o.add(&padded[j]));
        let mut candidates: Vec<SymExpr> = vec![SymExpr::constant(0)];
        candidates.extend(overlapping.iter().filter_map(|&j| end(j)));
        candidates.sort_by_key(nominal);
        let clear = |c: &SymExpr| {
            let c_end = c.add(&padded[i]);
            overlapping.iter().all(|&j| {
                let (Some(o), Some(e)) = (offsets[j].as_ref(), end(j)) else { return true };
                le(&c_end, o) || le(&e, c)
            })
        };
        let at = candidates.into_iter().find(clear).unwrap_or_else(|| total.clone());
        offsets[i] = Some(at);
        total = total.add(&padded[i]);
    }
    let offsets: Vec<SymExpr> = offsets.into_iter().map(Option::unwrap_or_default).collect();
    let ends: Vec<SymExpr> = offsets.iter().zip(&padded).map(|(o, s)| o.add(s)).collect();
    Plan { size: upper_bound(&ends), offsets }
}

/// Whether `a <= b` for every non-negative value of the symbols, proved
/// by `b - a` having no negative coefficient.
pub fn le(a: &SymExpr, b: &SymExpr) -> bool {
    b.add(&a.scale(-1)).terms().all(|(_, c)| c >= 0)
}

/// `size` rounded up to a multiple of [`ALIGN`] for every value of the
/// symbols: each coefficient rounded up to one.
fn pad(size: &SymExpr) -> SymExpr {
    let mut out = SymExpr::constant(0);
    for (monomial, c) in size.terms() {
        out = out.add(&term(monomial, c.div_euclid(ALIGN) * ALIGN + if c.rem_euclid(ALIGN) == 0 { 0 } else { ALIGN }));
    }
    out
}

/// The coefficient-wise maximum of `exprs` (and 0): at least each of them
/// for every non-negative value of the symbols.
fn upper_bound(exprs: &[SymExpr]) -> SymExpr {
    let mut coefficients: BTreeMap<Vec<Symbol>, i64> = BTreeMap::new();
    for e in exprs {
        for (monomial, c) in e.terms() {
            let slot = coefficients.entry(monomial.to_vec()).or_insert(0);
            *slot = (*slot).max(c);
        }
    }
    coefficients.iter().fold(SymExpr::constant(0), |acc, (m, &c)| acc.add(&term(m, c)))
}

/// `c` times the product of `monomial`'s symbols.
fn term(monomial: &[Symbol], c: i64) -> SymExpr {
    monomial.iter().fold(SymExpr::constant(c), |acc, s| acc.mul(&SymExpr::symbol(s.clone())))
}

/// `e` with every symbol at [`NOMINAL`], for ordering.
fn nominal(e: &SymExpr) -> i64 {
    e.substitute(&|_| Some(NOMINAL)).as_constant().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{le, place, Item};
    use tessera_ir::{SymExpr, Symbol};

    fn n() -> SymExpr {
        SymExpr::symbol(Symbol::new("N"))
    }

    fn item(size: SymExpr, first: usize, last: usize) -> Item {
        Item { size, first, last }
    }

    #[test]
    fn dead_temporaries_lend_their_bytes() {
        // a and b overlap; c starts after a dies and fits in its place.
        let c = SymExpr::constant;
        let plan = place(&[item(c(1000), 0, 1), item(c(500), 1, 3), item(c(900), 2, 3)]);
        assert_eq!(plan.offsets, [c(0), c(1024), c(0)]);
        assert_eq!(plan.size, c(1536));
    }

    #[test]
    fn symbolic_sizes_share_only_when_provably_no_larger() {
        let c = SymExpr::constant;
        // q (64*N) dies after op 0; s (64 bytes, live at op 1) would fit in
        // its bytes below r only when N >= 1, which is not proved (N may be
        // 0), so s goes after r.
        let (q, r, p, s) = (item(n().scale(64), 0, 0), item(c(256), 0, 2), item(c(128), 0, 0), item(c(64), 1, 1));
        let plan = place(&[q, r, p, s]);
        let at = |k: i64| n().scale(64).add(&c(k));
        assert_eq!(plan.offsets, [c(0), at(0), at(256), at(256)]);
        assert_eq!(plan.size, at(384));
        // A slot provably large enough is reused: 64 bytes where 128 were.
        let plan = place(&[item(c(128), 0, 0), item(c(256), 0, 2), item(c(64), 1, 1)]);
        assert_eq!(plan.offsets, [c(256), c(0), c(256)]);
    }

    #[test]
    fn live_temporaries_never_share_bytes() {
        let c = SymExpr::constant;
        let items: Vec<Item> = (0..6).map(|k| item(n().scale(64 * (k + 1)).add(&c(8)), k as usize, 5)).collect();
        let plan = place(&items);
        for i in 0..items.len() {
            for j in 0..i {
                let (a, b) = (&plan.offsets[i], &plan.offsets[j]);
                let apart = le(&a.add(&items[i].size), b) || le(&b.add(&items[j].size), a);
                assert!(apart, "{a} and {b}");
            }
        }
    }
}
