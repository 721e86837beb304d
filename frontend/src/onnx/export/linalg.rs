//! ONNX emitters: contractions. `tg.dot` is `MatMul` where its axes are
//! numpy matmul's, `Einsum` otherwise (dot_general is an einsum: paired
//! batch axes and contracting axes share a letter). `tg.conv` is `Conv`;
//! negative padding crops with a `Slice` first, input dilation (the
//! transposed convolution the importer makes of `ConvTranspose`) spreads
//! the input with zeros explicitly, and integer convolutions (of at most
//! 32 bits) run in f64 between casts, since ONNX Conv takes floats only.

use super::compact::matmul_shaped;
use super::cx::{attr_int, attr_ints, attr_str, OpCx};
use super::registry::Emit;
use super::shape::reshape_shape;
use crate::onnx::proto::AttributeProto;
use crate::onnx::tensor::dtype_to_onnx;
use tessera_ir::infer::{normalize_axes, InferCx};
use tessera_ir::{DType, Dim, TensorType};

/// The einsum equation of a dot_general with the given axis lists.
fn einsum_equation(
    ra: usize,
    rb: usize,
    (lb, rb_batch): (&[usize], &[usize]),
    (lc, rc): (&[usize], &[usize]),
) -> Result<String, String> {
    let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
    let mut next = 0;
    let mut fresh = || {
        let c = letters.get(next).copied();
        next += 1;
        c.ok_or_else(|| "the contraction has more than 52 axes".to_string())
    };
    let mut lhs = vec![' '; ra];
    let mut rhs = vec![' '; rb];
    let mut out = Vec::new();
    for (&l, &r) in lb.iter().zip(rb_batch) {
        let c = fresh()?;
        lhs[l] = c;
        rhs[r] = c;
        out.push(c);
    }
    for (&l, &r) in lc.iter().zip(rc) {
        let c = fresh()?;
        lhs[l] = c;
        rhs[r] = c;
    }
    for side in [&mut lhs, &mut rhs] {
        for slot in side.iter_mut().filter(|c| **c == ' ') {
            *slot = fresh()?;
            out.push(*slot);
        }
    }
    let s = |v: &[char]| v.iter().collect::<String>();
    Ok(format!("{},{}->{}", s(&lhs), s(&rhs), s(&out)))
}

fn dot(cx: &mut OpCx) -> Result<(), String> {
    let (at, bt) = (cx.input_ty(0)?, cx.input_ty(1)?);
    let (a, b, y) = (cx.input(0), cx.input(1), cx.out(0));
    if matmul_shaped(cx.func, cx.id) {
        cx.node("MatMul", &[&a, &b], &[&y], vec![]);
        return Ok(());
    }
    let attrs = cx.attrs();
    let axes = |name: &str, rank: usize| -> Result<Vec<usize>, String> {
        normalize_axes(&attrs.ints_or(name, Vec::new())?, rank).map_err(|e| format!("attribute '{name}': {e}"))
    };
    let (lb, rb) = (axes("lhs_batch", at.rank())?, axes("rhs_batch", bt.rank())?);
    let (lc, rc) = (axes("lhs_contract", at.rank())?, axes("rhs_contract", bt.rank())?);
    let equation = einsum_equation(at.rank(), bt.rank(), (&lb, &rb), (&lc, &rc))?;
    cx.node("Einsum", &[&a, &b], &[&y], vec![attr_str("equation", &equation)]);
    Ok(())
}

/// `Conv`'s attributes for a `tg.conv` with `spatial` spatial axes and
/// non-negative padding: strides, dilations, pads (low then high) and
/// group, each left out at its default.
pub(super) fn conv_attrs(a: &InferCx, spatial: usize) -> Result<Vec<AttributeProto>, String> {
    let strides = a.ints_or("strides", vec![1; spatial])?;
    let dilations = a.ints_or("dilations", vec![1; spatial])?;
    let low = a.ints_or("pad_low", vec![0; spatial])?;
    let high = a.ints_or("pad_high", vec![0; spatial])?;
    let groups = a.int_or("groups", 1)?;
    let mut out = Vec::new();
    if strides.iter().any(|&s| s != 1) {
        out.push(attr_ints("strides", &strides));
    }
    if dilations.iter().any(|&d| d != 1) {
        out.push(attr_ints("dilations", &dilations));
    }
    if low.iter().chain(&high).any(|&p| p != 0) {
        out.push(attr_ints("pads", &[low, high].concat()));
    }
    if groups != 1 {
        out.push(attr_int("group", groups));
    }
    Ok(out)
}

/// `x` with `ld - 1` zeros between neighbours along `axis` (of dims `dims`):
/// a size-1 axis appended after it, padded to `ld`, merged back, and the
/// trailing zeros sliced off. Returns the new value and dims.
fn dilate_axis(cx: &mut OpCx, x: &str, dims: &[Dim], axis: usize, ld: i64) -> Result<(String, Vec<Dim>), String> {
    let n = dims[axis].clone();
    let mut split = dims.to_vec();
    split.insert(axis + 1, Dim::Known(1));
    let (shape, allowzero) = reshape_shape(cx, dims, &split)?;
    let zero = if allowzero { vec![attr_int("allowzero", 1)] } else { vec![] };
    let lifted = cx.node1("Reshape", &[x, &shape], zero.clone());
    let mut pads = vec![0i64; 2 * split.len()];
    pads[split.len() + axis + 1] = ld - 1;
    let pads = cx.ints(&pads);
    let padded = cx.node1("Pad", &[&lifted, &pads], vec![]);
    let mut merged = dims.to_vec();
    merged[axis] = n.mul(&Dim::Known(ld as u64));
    split[axis + 1] = Dim::Known(ld as u64);
    let (shape, _) = reshape_shape(cx, &split, &merged)?;
    let flat = cx.node1("Reshape", &[&padded, &shape], zero);
    let (s, e, a, t) = (cx.ints(&[0]), cx.ints(&[-(ld - 1)]), cx.ints(&[axis as i64]), cx.ints(&[1]));
    let out = cx.node1("Slice", &[&flat, &s, &e, &a, &t], vec![]);
    let mut out_dims = dims.to_vec();
    out_dims[axis] = n.add_const(-1).mul(&Dim::Known(ld as u64)).add_const(1);
    Ok((out, out_dims))
}

fn conv(cx: &mut OpCx) -> Result<(), String> {
    let xt: TensorType = cx.input_ty(0)?;
    if matches!(xt.dtype, DType::I64 | DType::U64) {
        return Err(format!("ONNX Conv takes float tensors only, not {}", xt.dtype));
    }
    let spatial = xt.rank().saturating_sub(2);
    let a = cx.attrs();
    let lhs_dilation = a.ints_or("lhs_dilation", vec![1; spatial])?;
    let low = a.ints_or("pad_low", vec![0; spatial])?;
    let high = a.ints_or("pad_high", vec![0; spatial])?;
    let mut attrs = conv_attrs(&a, spatial)?;
    let (mut x, w, y) = (cx.input(0), cx.input(1), cx.out(0));
    let mut dims = xt.dims.clone();
    for (i, &ld) in lhs_dilation.iter().enumerate() {
        if ld > 1 {
            (x, dims) = dilate_axis(cx, &x, &dims, 2 + i, ld)?;
        }
    }
    let cropped: Vec<usize> = (0..spatial).filter(|&i| low[i] < 0 || high[i] < 0).collect();
    if !cropped.is_empty() {
        let starts: Vec<i64> = cropped.iter().map(|&i| (-low[i]).max(0)).collect();
        let ends: Vec<i64> = cropped.iter().map(|&i| if high[i] < 0 { high[i] } else { i64::MAX }).collect();
        let axes: Vec<i64> = cropped.iter().map(|&i| 2 + i as i64).collect();
        let (s, e, ax, t) = (cx.ints(&starts), cx.ints(&ends), cx.ints(&axes), cx.ints(&vec![1; cropped.len()]));
        x = cx.node1("Slice", &[&x, &s, &e, &ax, &t], vec![]);
        attrs.retain(|p| p.name != "pads");
        let pads: Vec<i64> = low.iter().chain(&high).map(|&p| p.max(0)).collect();
        if pads.iter().any(|&p| p != 0) {
            attrs.push(attr_ints("pads", &pads));
        }
    }
    if xt.dtype.is_float() {
        cx.node("Conv", &[&x, &w], &[&y], attrs);
        return Ok(());
    }
    // Integers up to 32 bits convolve in f64, exactly while partial sums stay below 2^53.
    let f64_code = dtype_to_onnx(DType::F64) as i64;
    let xd = cx.node1("Cast", &[&x], vec![attr_int("to", f64_code)]);
    let wd = cx.node1("Cast", &[&w], vec![attr_int("to", f64_code)]);
    let yd = cx.node1("Conv", &[&xd, &wd], attrs);
    cx.node("Cast", &[&yd], &[&y], vec![attr_int("to", dtype_to_onnx(xt.dtype) as i64)]);
    Ok(())
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[("tg.dot", dot), ("tg.conv", conv)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_general_as_einsum() {
        assert_eq!(einsum_equation(3, 3, (&[0], &[0]), (&[2], &[1])).unwrap(), "acb,abd->acd");
        assert_eq!(einsum_equation(2, 2, (&[], &[]), (&[0], &[1])).unwrap(), "ab,ca->bc");
    }
}
