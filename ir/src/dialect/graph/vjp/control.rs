//! Gradient rules of the region ops. The gradients flow to the values the
//! regions capture from outside (and to a loop's initial carried values);
//! the conditions and trip counts are not differentiated.
//!
//! `tg.if`: a backward `tg.if` on the same condition; each branch
//! recomputes its forward branch and sweeps it backwards, yielding the
//! captures' gradients (zeros for those it does not use).
//!
//! `tg.loop`: the loop runs once more with each iteration's carried values
//! (and its number) as extra scan outputs — the tape; a reverse loop of as
//! many iterations then walks it from the last iteration to the first,
//! recomputing that iteration's body from its saved inputs and sweeping it
//! backwards: it carries the carried values' cotangents and sums the
//! captures' gradients. The trip count need not be known when the gradient
//! is built. Every iteration must keep the carried values' shapes (they
//! are stacked).

use super::super::control::{IF, LOOP};
use super::super::{index as ix, shape as sh};
use crate::attr::{Attr, Attrs};
use crate::diag::Diag;
use crate::dtype::DType;
use crate::id::ValueId;
use crate::vjp::{inline_region, Grads, RegionSeed, VjpCx};
use crate::{InsertPoint, Type};

/// `g`, or zeros of `like`'s type when there is none.
fn or_zeros(cx: &mut VjpCx, g: Option<ValueId>, like: ValueId) -> Result<ValueId, Diag> {
    match g {
        Some(g) => Ok(g),
        None => cx.zeros_like(like),
    }
}

/// `tg.if %cond {then} {else}`.
pub fn if_(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let captures = cx.captures().to_vec();
    let cotangents: Vec<Option<ValueId>> = (0..cx.num_results()).map(|i| cx.cotangent(i)).collect();
    let back = cx.b.insert_point();
    let mut regions = Vec::with_capacity(2);
    for branch in 0..2 {
        let forward = cx.region(branch)?;
        let (region, block) = cx.b.new_region(&[]);
        cx.b.set_insert_point(InsertPoint::End(block));
        let grads = cx.backward_region(RegionSeed { region: forward, args: &[], cotangents: &cotangents, captures: &captures })?;
        let mut yields = Vec::with_capacity(captures.len());
        for (&c, g) in captures.iter().zip(grads.captures) {
            yields.push(or_zeros(cx, g, c)?);
        }
        cx.b.yield_values(&yields)?;
        regions.push(region);
    }
    cx.b.set_insert_point(back);
    let op = cx.b.create(&IF, &[cx.operand(0)], Attrs::new(), regions)?;
    let mut grads = vec![None];
    grads.extend(cx.b.func.op(op).results.iter().map(|&r| Some(r)));
    Ok(grads)
}

/// The types of the arguments of `region`'s body.
fn region_arg_types(cx: &VjpCx, region: crate::id::RegionId) -> Result<Vec<Type>, Diag> {
    let block = *cx.b.func.region(region).blocks.first().ok_or_else(|| cx.error("a region without a body"))?;
    Ok(cx.b.func.block(block).args.iter().map(|&a| cx.b.func.ty(a).clone()).collect())
}

/// `x[i]` along the leading axis, for a rank-0 index `i`.
fn at(cx: &mut VjpCx, x: ValueId, i: ValueId) -> Result<ValueId, Diag> {
    cx.b.op(&ix::GATHER, &[x, i], Attrs::from([("axis", Attr::Int(0))]))
}

/// The forward loop again, with each iteration's carried values and its
/// number as extra scan outputs: returns the stacked carried values (one
/// per carried value) and the iteration count.
fn tape(cx: &mut VjpCx, n: usize) -> Result<(Vec<ValueId>, ValueId), Diag> {
    let body = cx.region(0)?;
    let back = cx.b.insert_point();
    let types = region_arg_types(cx, body)?;
    let (region, block) = cx.b.new_region(&types);
    cx.b.set_insert_point(InsertPoint::End(block));
    let args = cx.b.func.block(block).args.clone();
    let mut yields = inline_region(cx.b, body, &args)?;
    yields.extend_from_slice(&args[2..]);
    yields.push(args[0]);
    cx.b.yield_values(&yields)?;
    cx.b.set_insert_point(back);
    let operands: Vec<ValueId> = (0..cx.num_operands()).map(|i| cx.operand(i)).collect();
    let op = cx.b.create(&LOOP, &operands, Attrs::new(), vec![region])?;
    let results = cx.b.func.op(op).results.clone();
    let saved = results[results.len() - 1 - n..results.len() - 1].to_vec();
    let shape = cx.b.unary(&sh::SHAPE_OF, results[results.len() - 1])?;
    let count = cx.b.reshape(shape, &[])?;
    Ok((saved, count))
}

/// `tg.loop %max_trips, %cond, %init... {body}` (ONNX Loop).
pub fn loop_(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let n = cx.num_operands() - 2;
    let scans = cx.num_results() - n;
    let body = cx.region(0)?;
    let captures = cx.captures().to_vec();
    let floats: Vec<usize> = (0..n).filter(|&k| cx.dtype(cx.result(k)).is_ok_and(|d| d.is_in(crate::DTypeClass::Float))).collect();
    let (saved, count) = tape(cx, n)?;
    let yes = cx.b.scalar(DType::I1, 1.0)?;
    let mut inits = Vec::with_capacity(floats.len() + captures.len());
    for &k in &floats {
        let g = cx.cotangent(k);
        inits.push(or_zeros(cx, g, cx.result(k))?);
    }
    for &c in &captures {
        inits.push(cx.zeros_like(c)?);
    }
    let mut types = vec![Type::Tensor(crate::TensorType::scalar(DType::I64)), Type::Tensor(crate::TensorType::scalar(DType::I1))];
    let arg_types = region_arg_types(cx, body)?;
    types.extend(floats.iter().map(|&k| arg_types[2 + k].clone()));
    types.extend(captures.iter().map(|&c| cx.b.func.ty(c).clone()));
    let back = cx.b.insert_point();
    let (region, block) = cx.b.new_region(&types);
    cx.b.set_insert_point(InsertPoint::End(block));
    let rargs = cx.b.func.block(block).args.clone();
    // Iteration j of the reverse loop undoes forward iteration count - 1 - j.
    let one = cx.b.scalar(DType::I64, 1.0)?;
    let last = cx.sub(count, one)?;
    let i = cx.sub(last, rargs[0])?;
    let go = cx.b.scalar(DType::I1, 1.0)?;
    let mut args = vec![i, go];
    for &s in &saved {
        args.push(at(cx, s, i)?);
    }
    let mut cotangents = vec![None; 1 + n];
    for (pos, &k) in floats.iter().enumerate() {
        cotangents[1 + k] = Some(rargs[2 + pos]);
    }
    for m in 0..scans {
        let g = match cx.cotangent(n + m) {
            Some(g) => Some(at(cx, g, i)?),
            None => None,
        };
        cotangents.push(g);
    }
    let grads = cx.backward_region(RegionSeed { region: body, args: &args, cotangents: &cotangents, captures: &captures })?;
    let mut yields = vec![go];
    for &k in &floats {
        yields.push(or_zeros(cx, grads.args[2 + k], args[2 + k])?);
    }
    for (ci, g) in grads.captures.iter().enumerate() {
        let acc = rargs[2 + floats.len() + ci];
        yields.push(match g {
            Some(g) => cx.add(acc, *g)?,
            None => acc,
        });
    }
    cx.b.yield_values(&yields)?;
    cx.b.set_insert_point(back);
    let mut operands = vec![count, yes];
    operands.extend(inits);
    let op = cx.b.create(&LOOP, &operands, Attrs::new(), vec![region])?;
    let results = cx.b.func.op(op).results.clone();
    let mut out = vec![None; 2 + n];
    for (pos, &k) in floats.iter().enumerate() {
        if cx.wants(2 + k) {
            out[2 + k] = Some(cx.retype(results[pos], cx.operand(2 + k))?);
        }
    }
    out.extend(results[floats.len()..].iter().map(|&r| Some(r)));
    Ok(out)
}

/// `tg.call`: not differentiated here — the grad pass inlines calls first.
pub fn call(cx: &mut VjpCx) -> Result<Grads, Diag> {
    Err(cx.error("a call is differentiated by inlining its callee first: give the grad pass the module's functions"))
}
