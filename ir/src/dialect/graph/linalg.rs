//! Contractions: `tg.dot` (StableHLO dot_general: batched matmul over
//! chosen axes) and `tg.conv` (N-d grouped, strided, dilated convolution).

use super::shape::unify_dims;
use super::window::{per_axis, window_axes, window_out, WINDOW_LIMIT};
use crate::dim::Dim;
use crate::dtype::DTypeClass;
use crate::infer::{normalize_axes, same_dtype, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::types::{TensorType, Type};

/// `tg.dot %a, %b {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]}`:
/// StableHLO dot_general. Paired batch axes run in lockstep, paired
/// contracting axes are multiplied and summed; the result's dims are the
/// batch dims, then lhs's remaining dims in order, then rhs's. Axes may be
/// negative (counted from the end); on each side all listed axes are distinct.
pub struct Dot;

/// Reads the axis lists `lhs_{what}` and `rhs_{what}`, which pair up
/// (`[]` each when absent and not `required`).
fn axis_pair(
    cx: &InferCx,
    what: &str,
    required: bool,
    lhs: &TensorType,
    rhs: &TensorType,
) -> Result<(Vec<usize>, Vec<usize>), String> {
    let (ln, rn) = (format!("lhs_{what}"), format!("rhs_{what}"));
    let read = |name: &str| if required { cx.ints(name) } else { cx.ints_or(name, Vec::new()) };
    let (l, r) = (read(&ln)?, read(&rn)?);
    if l.len() != r.len() {
        return Err(format!("'{ln}' and '{rn}' must have the same length, got {l:?} and {r:?}"));
    }
    let l = normalize_axes(&l, lhs.rank()).map_err(|e| format!("attribute '{ln}': {e}"))?;
    let r = normalize_axes(&r, rhs.rank()).map_err(|e| format!("attribute '{rn}': {e}"))?;
    Ok((l, r))
}

impl OpDef for Dot {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.dot", "generalised batched matrix product (StableHLO dot_general)")
            .operands(Arity::Exactly(2))
            .attrs(&[
                AttrSpec::opt("lhs_batch", AttrKind::Ints),
                AttrSpec::opt("rhs_batch", AttrKind::Ints),
                AttrSpec::req("lhs_contract", AttrKind::Ints),
                AttrSpec::req("rhs_contract", AttrKind::Ints),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (lhs, rhs) = (cx.tensor_of(0, DTypeClass::Numeric)?, cx.tensor_of(1, DTypeClass::Numeric)?);
        let dtype = same_dtype(&[lhs, rhs])?;
        let (lb, rb) = axis_pair(cx, "batch", false, lhs, rhs)?;
        let (lc, rc) = axis_pair(cx, "contract", true, lhs, rhs)?;
        for (side, batch, contract) in [("lhs", &lb, &lc), ("rhs", &rb, &rc)] {
            if let Some(a) = batch.iter().find(|a| contract.contains(a)) {
                return Err(format!("{side} axis {a} is both a batch and a contracting axis"));
            }
        }
        let mut dims = Vec::new();
        for (what, ls, rs) in [("batch", &lb, &rb), ("contracting", &lc, &rc)] {
            for (&l, &r) in ls.iter().zip(rs.iter()) {
                let (dl, dr) = (&lhs.dims[l], &rhs.dims[r]);
                let d = unify_dims(dl, dr).ok_or_else(|| {
                    format!("{what} axes differ: lhs axis {l} of {lhs} is {dl} but rhs axis {r} of {rhs} is {dr}")
                })?;
                if what == "batch" {
                    dims.push(d);
                }
            }
        }
        let free = |t: &TensorType, b: &[usize], c: &[usize]| -> Vec<Dim> {
            (0..t.rank()).filter(|a| !b.contains(a) && !c.contains(a)).map(|a| t.dims[a].clone()).collect()
        };
        dims.extend(free(lhs, &lb, &lc));
        dims.extend(free(rhs, &rb, &rc));
        Ok(vec![Type::Tensor(TensorType::new(dims, dtype))])
    }
}

/// The `tg.dot` op.
pub static DOT: Dot = Dot;

/// `tg.conv %input, %weight {strides = [2, 2], pad_low = [1, 1], pad_high = [1, 1]}`:
/// N-d convolution (cross-correlation, as in ONNX Conv) of an input laid out
/// `N, C, spatial...` with a weight laid out `O, C / groups, kernel...`. Per
/// spatial axis: `lhs_dilation` spreads the input (transposed convolution),
/// `pad_low`/`pad_high` pad it (negative crops), `dilations` spreads the
/// kernel, `strides` steps it (defaults 1, 0, 0, 1, 1). Input channels split
/// into `groups` groups, each seeing `O / groups` of the filters.
pub struct Conv;

impl OpDef for Conv {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.conv", "grouped N-d convolution of an NC... input with an OI... weight")
            .operands(Arity::Exactly(2))
            .attrs(&[
                AttrSpec::opt("strides", AttrKind::Ints),
                AttrSpec::opt("dilations", AttrKind::Ints),
                AttrSpec::opt("pad_low", AttrKind::Ints),
                AttrSpec::opt("pad_high", AttrKind::Ints),
                AttrSpec::opt("lhs_dilation", AttrKind::Ints),
                AttrSpec::opt("groups", AttrKind::Int),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (x, w) = (cx.tensor_of(0, DTypeClass::Numeric)?, cx.tensor_of(1, DTypeClass::Numeric)?);
        let dtype = same_dtype(&[x, w])?;
        if x.rank() < 3 {
            return Err(format!("the input {x} must have rank 3 or more (batch, channels, spatial...)"));
        }
        if w.rank() != x.rank() {
            return Err(format!("the weight {w} must have the rank of the input {x}"));
        }
        let s = x.rank() - 2;
        let mut axes = window_axes(cx, s)?;
        let lhs_dilation = per_axis(cx, "lhs_dilation", s, 1, Some(1))?;
        for (axis, l) in axes.iter_mut().zip(lhs_dilation) {
            axis.lhs_dilation = l;
        }
        let groups = cx.int_or("groups", 1)?;
        if groups < 1 {
            return Err(format!("attribute 'groups' must be >= 1, got {groups}"));
        }
        if groups > WINDOW_LIMIT {
            return Err(format!("attribute 'groups' holds {groups}, beyond the supported magnitude {WINDOW_LIMIT}"));
        }
        let (c, cw, o) = (&x.dims[1], &w.dims[1], &w.dims[0]);
        let (expected, differs) = match (c.known(), cw.known()) {
            // Static channel counts in u128 so that huge sizes cannot overflow.
            (Some(c), Some(cw)) => {
                let e = cw as u128 * groups as u128;
                (e.to_string(), c as u128 != e)
            }
            _ => {
                let e = cw.mul(&Dim::Known(groups as u64));
                let differs = !matches!(c, Dim::Unknown) && !matches!(e, Dim::Unknown) && *c != e;
                (e.to_string(), differs)
            }
        };
        if differs {
            return Err(format!(
                "the input {x} has {c} channels, but the weight {w} expects {cw} per group x {groups} group(s) = {expected}"
            ));
        }
        if let Some(o) = o.known() {
            if o % groups as u64 != 0 {
                return Err(format!("the weight's {o} output channels do not split into {groups} groups"));
            }
        }
        let mut dims = vec![x.dims[0].clone(), o.clone()];
        for (i, axis) in axes.into_iter().enumerate() {
            let d = window_out(&x.dims[2 + i], &w.dims[2 + i], axis).map_err(|e| format!("spatial axis {i}: {e}"))?;
            dims.push(d);
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, dtype))])
    }
}

/// The `tg.conv` op.
pub static CONV: Conv = Conv;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&DOT, &CONV];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::dtype::DType;
    use crate::infer::{infer_standalone, NoSymbols};

    fn infer(op: OpRef, operands: &[Type], attrs: Attrs) -> Result<Vec<Type>, String> {
        infer_standalone(op, operands, &attrs, &NoSymbols)
    }

    fn f32s(dims: &[Dim]) -> Type {
        Type::tensor(dims.to_vec(), DType::F32)
    }

    fn n() -> Dim {
        Dim::sym("N")
    }

    fn k(v: u64) -> Dim {
        Dim::Known(v)
    }

    fn dot_attrs(lb: &[i64], rb: &[i64], lc: &[i64], rc: &[i64]) -> Attrs {
        Attrs::from([
            ("lhs_batch", Attr::ints(lb)),
            ("rhs_batch", Attr::ints(rb)),
            ("lhs_contract", Attr::ints(lc)),
            ("rhs_contract", Attr::ints(rc)),
        ])
    }

    #[test]
    fn dot_matmul_and_batched() {
        let a = Type::static_tensor(&[3, 4], DType::F32);
        let b = Type::static_tensor(&[4, 5], DType::F32);
        let attrs = Attrs::from([("lhs_contract", Attr::ints(&[1])), ("rhs_contract", Attr::ints(&[0]))]);
        assert_eq!(infer(&DOT, &[a, b], attrs), Ok(vec![Type::static_tensor(&[3, 5], DType::F32)]));
        let a = f32s(&[Dim::sym("B"), k(3), k(4)]);
        let b = f32s(&[Dim::sym("B"), k(4), k(5)]);
        assert_eq!(
            infer(&DOT, &[a, b], dot_attrs(&[0], &[0], &[2], &[1])),
            Ok(vec![f32s(&[Dim::sym("B"), k(3), k(5)])])
        );
        // x @ w^T with a symbolic batch; batch axes need not lead.
        let x = f32s(&[n(), k(784)]);
        let w = Type::static_tensor(&[256, 784], DType::F32);
        let attrs = Attrs::from([("lhs_contract", Attr::ints(&[-1])), ("rhs_contract", Attr::ints(&[1]))]);
        assert_eq!(infer(&DOT, &[x, w], attrs), Ok(vec![f32s(&[n(), k(256)])]));
        let a = f32s(&[k(3), Dim::Unknown, k(7)]);
        let b = f32s(&[k(5), k(6), k(7)]);
        assert_eq!(infer(&DOT, &[a, b], dot_attrs(&[1], &[1], &[2], &[2])), Ok(vec![f32s(&[k(6), k(3), k(5)])]));
    }

    #[test]
    fn dot_errors() {
        let a = Type::static_tensor(&[3, 4], DType::F32);
        let b = Type::static_tensor(&[5, 6], DType::F32);
        let attrs = Attrs::from([("lhs_contract", Attr::ints(&[1])), ("rhs_contract", Attr::ints(&[0]))]);
        assert_eq!(
            infer(&DOT, &[a.clone(), b], attrs.clone()),
            Err("contracting axes differ: lhs axis 1 of tensor<3x4xf32> is 4 but rhs axis 0 of tensor<5x6xf32> is 5"
                .into())
        );
        let bi = Type::static_tensor(&[4, 5], DType::I32);
        assert_eq!(
            infer(&DOT, &[a.clone(), bi], attrs),
            Err("operand #1 has dtype i32, but operand #0 has f32".into())
        );
        let b = Type::static_tensor(&[4, 5], DType::F32);
        let attrs = Attrs::from([("lhs_contract", Attr::ints(&[1])), ("rhs_contract", Attr::ints(&[0, 1]))]);
        assert_eq!(
            infer(&DOT, &[a.clone(), b.clone()], attrs),
            Err("'lhs_contract' and 'rhs_contract' must have the same length, got [1] and [0, 1]".into())
        );
        assert_eq!(
            infer(&DOT, &[a.clone(), b.clone()], dot_attrs(&[1], &[0], &[1], &[0])),
            Err("lhs axis 1 is both a batch and a contracting axis".into())
        );
        assert_eq!(
            infer(&DOT, &[a.clone(), b.clone()], dot_attrs(&[0], &[], &[1], &[0])),
            Err("'lhs_batch' and 'rhs_batch' must have the same length, got [0] and []".into())
        );
        assert_eq!(
            infer(&DOT, &[a, b], dot_attrs(&[], &[], &[2], &[0])),
            Err("attribute 'lhs_contract': axis 2 is out of range for rank 2".into())
        );
    }

    fn conv_attrs(items: &[(&str, &[i64])]) -> Attrs {
        let mut a = Attrs::new();
        for (name, v) in items {
            a.set(name, Attr::ints(v));
        }
        a
    }

    #[test]
    fn conv_static_2d() {
        let x = Type::static_tensor(&[1, 3, 224, 224], DType::F32);
        let w = Type::static_tensor(&[64, 3, 7, 7], DType::F32);
        let attrs = conv_attrs(&[("strides", &[2, 2]), ("pad_low", &[3, 3]), ("pad_high", &[3, 3])]);
        assert_eq!(infer(&CONV, &[x, w], attrs), Ok(vec![Type::static_tensor(&[1, 64, 112, 112], DType::F32)]));
        // Depthwise, dilated.
        let x = Type::static_tensor(&[2, 8, 10, 10], DType::F32);
        let w = Type::static_tensor(&[8, 1, 3, 3], DType::F32);
        let mut attrs = conv_attrs(&[("dilations", &[2, 2])]);
        attrs.set("groups", Attr::Int(8));
        assert_eq!(infer(&CONV, &[x, w], attrs), Ok(vec![Type::static_tensor(&[2, 8, 6, 6], DType::F32)]));
        // 1-d transposed (lhs-dilated) convolution: (5 - 1) * 2 + 1 + 2 + 2 - 3 + 1 = 11.
        let x = Type::static_tensor(&[1, 4, 5], DType::F32);
        let w = Type::static_tensor(&[2, 4, 3], DType::F32);
        let attrs = conv_attrs(&[("lhs_dilation", &[2]), ("pad_low", &[2]), ("pad_high", &[2])]);
        assert_eq!(infer(&CONV, &[x, w], attrs), Ok(vec![Type::static_tensor(&[1, 2, 11], DType::F32)]));
    }

    #[test]
    fn conv_symbolic() {
        let x = f32s(&[n(), k(3), Dim::sym("H"), Dim::sym("W")]);
        let w = Type::static_tensor(&[16, 3, 3, 3], DType::F32);
        let same = conv_attrs(&[("pad_low", &[1, 1]), ("pad_high", &[1, 1])]);
        assert_eq!(
            infer(&CONV, &[x.clone(), w.clone()], same),
            Ok(vec![f32s(&[n(), k(16), Dim::sym("H"), Dim::sym("W")])])
        );
        let strided = conv_attrs(&[("strides", &[2, 1])]);
        assert_eq!(
            infer(&CONV, &[x, w], strided),
            Ok(vec![f32s(&[n(), k(16), Dim::Unknown, Dim::sym("W").add_const(-2)])])
        );
    }

    #[test]
    fn conv_errors() {
        let x = Type::static_tensor(&[1, 3, 8, 8], DType::F32);
        let w = Type::static_tensor(&[16, 4, 3, 3], DType::F32);
        assert_eq!(
            infer(&CONV, &[x.clone(), w], Attrs::new()),
            Err("the input tensor<1x3x8x8xf32> has 3 channels, but the weight tensor<16x4x3x3xf32> expects 4 per group \
                 x 1 group(s) = 4"
                .into())
        );
        let w = Type::static_tensor(&[16, 3, 9, 3], DType::F32);
        assert_eq!(
            infer(&CONV, &[x.clone(), w], Attrs::new()),
            Err("spatial axis 0: the window (9 wide after dilation) does not fit the padded input (8)".into())
        );
        let x6 = Type::static_tensor(&[1, 6, 8, 8], DType::F32);
        let w = Type::static_tensor(&[5, 2, 3, 3], DType::F32);
        let attrs = Attrs::from([("groups", Attr::Int(3))]);
        assert_eq!(
            infer(&CONV, &[x6, w], attrs),
            Err("the weight's 5 output channels do not split into 3 groups".into())
        );
        let w = Type::static_tensor(&[16, 3, 3, 3], DType::F32);
        let attrs = conv_attrs(&[("strides", &[1])]);
        assert_eq!(
            infer(&CONV, &[x.clone(), w.clone()], attrs),
            Err("attribute 'strides' must have 2 entries, got [1]".into())
        );
        let flat = Type::static_tensor(&[1, 3], DType::F32);
        assert_eq!(
            infer(&CONV, &[flat, w], Attrs::new()),
            Err("the input tensor<1x3xf32> must have rank 3 or more (batch, channels, spatial...)".into())
        );
    }
}
