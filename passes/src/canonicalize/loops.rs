//! The one canonicalisation that refines types rather than replacing a
//! value: a `tg.loop` whose scan outputs' length is provably its trip count
//! gets that length in its result types.

use super::{is, splat};
use tessera_ir::dialect::graph::control::LOOP;
use tessera_ir::dialect::graph::shape::RESHAPE;
use tessera_ir::{Dim, Func, Scalar, Traits, Type, ValueId};

/// Whether every use of `v` accepts a more precise type without its own
/// type changing: a `tg.reshape` (its result type is its attribute's) or the
/// function's return (its declared results accept more precise values).
fn only_reshaped_or_returned(func: &Func, v: ValueId) -> bool {
    let entry = func.entry();
    func.walk().into_iter().filter(|&op| func.op(op).operands.contains(&v)).all(|op| {
        let data = func.op(op);
        is(data, &RESHAPE) || (data.def.traits().contains(Traits::TERMINATOR) && data.block == Some(entry))
    })
}

/// Whether `v` is provably true: a splat constant `true`.
fn provably_true(func: &Func, v: ValueId) -> bool {
    matches!(splat(func, v), Some(Scalar::Bool(true)))
}

// loop(n, true, ...) { ^(i, c, ...): ...; yield c | true, ... } -> its scan
// outputs are n long: with a constant trip count n >= 0, a true condition
// that the body passes on unchanged (or replaces by true) runs exactly n
// iterations, each stacking one element per scan output. Only where every
// use of a scan output takes the refined type as it is (see
// `only_reshaped_or_returned`). Returns whether a result type changed.
pub(super) fn refine_scan_lengths(func: &mut Func) -> bool {
    let mut changed = false;
    for op in func.walk() {
        let data = func.op(op);
        let (Some(&trips), Some(&cond), Some(&body)) = (data.operands.first(), data.operands.get(1), data.regions.first()) else {
            continue;
        };
        if !is(data, &LOOP) || !provably_true(func, cond) {
            continue;
        }
        let n = match splat(func, trips) {
            Some(Scalar::Int(_, n)) if n >= 0 => n as u64,
            _ => continue,
        };
        let Some(&entry) = func.region(body).blocks.first() else { continue };
        let block = func.block(entry);
        let Some(&yield_op) = block.ops.last() else { continue };
        let next = func.op(yield_op).operands.first().copied();
        if !next.is_some_and(|c| block.args.get(1) == Some(&c) || provably_true(func, c)) {
            continue;
        }
        let carried = data.operands.len() - 2;
        let scans = data.results[carried..].to_vec();
        if !scans.iter().all(|&r| only_reshaped_or_returned(func, r)) {
            continue;
        }
        for r in scans {
            if let Type::Tensor(t) = &mut func.value_mut(r).ty {
                if t.dims.first().is_some_and(|d| d.known() != Some(n)) {
                    t.dims[0] = Dim::Known(n);
                    changed = true;
                }
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_ir::parse::parse_module;

    /// A loop of `trips` iterations starting on `cond`, whose body yields
    /// `next` as its condition; `%trace`, its scan output, feeds `use_`.
    /// Returns the loop's result types after the refinement.
    fn refined(trips: &str, cond: &str, next: &str, use_: &str) -> String {
        let src = format!(
            "func @f(%x: tensor<4xf32>, %m: tensor<i64>) -> (tensor<4xf32>, tensor<?x4xf32>) {{
  %n = tg.constant {{value = dense<{trips}> : tensor<i64>}}
  %c = tg.constant {{value = dense<{cond}> : tensor<i1>}}
  %sum, %trace = tg.loop %n, %c, %x {{
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %acc: tensor<4xf32>):
    %next = tg.add %acc, %x
    %more = tg.lt %i, %m
    tg.yield {next}, %next, %next
  }}
  %used = {use_}
  tg.return %sum, %used
}}"
        );
        let mut module = parse_module(&src, "loops.tir").unwrap_or_else(|d| panic!("{d}"));
        refine_scan_lengths(&mut module.funcs[0]);
        tessera_ir::verify::verify(&module).unwrap_or_else(|d| panic!("{d}"));
        let f = &module.funcs[0];
        let op = f.walk().into_iter().find(|&op| is(f.op(op), &LOOP)).expect("the loop");
        f.op(op).results.iter().map(|&r| f.ty(r).to_string()).collect::<Vec<_>>().join(", ")
    }

    const RESHAPED: &str = "tg.reshape %trace {shape = [?, 4]}";

    #[test]
    fn a_constant_trip_count_gives_the_scan_outputs_their_length() {
        let text = refined("3", "true", "%cond", RESHAPED);
        assert_eq!(text, "tensor<4xf32>, tensor<3x4xf32>");
        assert_eq!(refined("0", "true", "%cond", RESHAPED), "tensor<4xf32>, tensor<0x4xf32>");
    }

    #[test]
    fn the_length_stays_unknown_without_proof() {
        // A condition that may turn false, a false start, a negative trip
        // count, a use whose own type would change.
        for (trips, cond, next, use_) in [
            ("3", "true", "%more", RESHAPED),
            ("3", "false", "%cond", RESHAPED),
            ("-1", "true", "%cond", RESHAPED),
            ("3", "true", "%cond", "tg.exp %trace"),
        ] {
            assert_eq!(refined(trips, cond, next, use_), "tensor<4xf32>, tensor<?x4xf32>", "{trips} {cond} {next} {use_}");
        }
    }
}
