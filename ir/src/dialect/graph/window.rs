//! Sliding windows: `tg.reduce_window` (pooling), and the output-size rule
//! it shares with `tg.conv`.

use super::kernels::{Combine, Elem};
use super::layout::{map_elements, split_at_axis};
use crate::dim::Dim;
use crate::dtype::{DType, DTypeClass};
use crate::eval::EvalCx;
use crate::infer::InferCx;
use crate::op::{AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::tensor::{Data, Tensor};
use crate::types::{TensorType, Type};
use std::borrow::Cow;
use super::vjp as rules;
use crate::diag::Diag;
use crate::vjp::{Grads, VjpCx};

/// How a window slides along one axis.
#[derive(Copy, Clone, Debug)]
pub struct WindowAxis {
    /// Gaps inserted between input elements (`lhs_dilation - 1` of them; 1 = none).
    pub lhs_dilation: i64,
    /// Padding before the first element (negative crops).
    pub pad_low: i64,
    /// Padding after the last element (negative crops).
    pub pad_high: i64,
    /// Spacing between window taps (1 = dense).
    pub dilation: i64,
    /// How far the window moves per output element (1 or more).
    pub stride: i64,
}

/// The number of window positions along one axis:
/// `floor((padded - ((window - 1) * dilation + 1)) / stride) + 1` with
/// `padded = (input - 1) * lhs_dilation + 1 + pad_low + pad_high`. Static
/// sizes are checked (the window must fit); symbolic ones give a polynomial,
/// or `?` where the stride does not divide it.
pub fn window_out(input: &Dim, window: &Dim, w: WindowAxis) -> Result<Dim, String> {
    if w.lhs_dilation < 1 || w.dilation < 1 || w.stride < 1 {
        return Err(format!("dilations and strides must be >= 1, got {w:?}"));
    }
    if let (Some(n), Some(k)) = (input.known(), window.known()) {
        return static_window_out(n, k, w);
    }
    if window.known() == Some(0) {
        return Err("the window size is 0".into());
    }
    let dilated = if w.lhs_dilation == 1 {
        input.clone()
    } else {
        input.add_const(-1).mul(&Dim::Known(w.lhs_dilation as u64)).add_const(1)
    };
    let padded = dilated.add_const(w.pad_low.saturating_add(w.pad_high));
    let span = window.add_const(-1).mul(&Dim::Known(w.dilation as u64)).add_const(1);
    Ok(padded.sub(&span).floor_div(w.stride as u64).add_const(1))
}

fn static_window_out(n: u64, k: u64, w: WindowAxis) -> Result<Dim, String> {
    if k == 0 {
        return Err("the window size is 0".into());
    }
    let (n, k) = (n as i128, k as i128);
    let dilated = if n == 0 { 0 } else { (n - 1).saturating_mul(w.lhs_dilation as i128) + 1 };
    let padded = dilated + w.pad_low as i128 + w.pad_high as i128;
    let span = (k - 1).saturating_mul(w.dilation as i128) + 1;
    if span > padded {
        return Err(format!("the window ({span} wide after dilation) does not fit the padded input ({padded})"));
    }
    let out = (padded - span) / w.stride as i128 + 1;
    u64::try_from(out).map(Dim::Known).map_err(|_| format!("the output size {out} is too large"))
}

/// The largest magnitude a window size, stride, dilation or padding may
/// have, so that size arithmetic on symbolic dims cannot overflow.
pub const WINDOW_LIMIT: i64 = 1 << 32;

/// Attribute `name`: `n` integers, each at least `min` and at most
/// [`WINDOW_LIMIT`] in magnitude; `default` for each when absent.
pub fn per_axis(cx: &InferCx, name: &str, n: usize, default: i64, min: Option<i64>) -> Result<Vec<i64>, String> {
    let values = cx.ints_or(name, vec![default; n])?;
    if values.len() != n {
        return Err(format!("attribute '{name}' must have {n} entries, got {values:?}"));
    }
    if let Some(min) = min {
        if values.iter().any(|&v| v < min) {
            return Err(format!("attribute '{name}' must hold integers >= {min}, got {values:?}"));
        }
    }
    if let Some(v) = values.iter().find(|v| v.unsigned_abs() > WINDOW_LIMIT as u64) {
        return Err(format!("attribute '{name}' holds {v}, beyond the supported magnitude {WINDOW_LIMIT}"));
    }
    Ok(values)
}

/// The attributes `strides`, `dilations`, `pad_low` and `pad_high` (read in
/// that order, defaults 1, 1, 0, 0) as one [`WindowAxis`] for each of `n`
/// axes, without input dilation.
pub fn window_axes(cx: &InferCx, n: usize) -> Result<Vec<WindowAxis>, String> {
    let strides = per_axis(cx, "strides", n, 1, Some(1))?;
    let dilations = per_axis(cx, "dilations", n, 1, Some(1))?;
    let pad_low = per_axis(cx, "pad_low", n, 0, None)?;
    let pad_high = per_axis(cx, "pad_high", n, 0, None)?;
    Ok((0..n)
        .map(|i| WindowAxis {
            lhs_dilation: 1,
            pad_low: pad_low[i],
            pad_high: pad_high[i],
            dilation: dilations[i],
            stride: strides[i],
        })
        .collect())
}

/// `tg.reduce_window %x {kind = "max", window = [1, 1, 3, 3], strides = [1, 1, 2, 2]}`:
/// pooling. Every position of a window sliding over all axes of `x` reduces
/// to one element with `kind` (`"sum"`, `"max"` or `"min"`); padding holds
/// the identity of `kind` (0, -inf, +inf). `window`, `strides`, `dilations`,
/// `pad_low` and `pad_high` have one entry per axis (defaults 1, 1, 0, 0;
/// use 1 for batch and channel axes). Average pooling is a sum and a division.
pub struct ReduceWindow;

impl OpDef for ReduceWindow {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.reduce_window", "each window position of x reduced by `kind` (pooling)")
            .attrs(&[
                AttrSpec::req("kind", AttrKind::Str),
                AttrSpec::req("window", AttrKind::Ints),
                AttrSpec::opt("strides", AttrKind::Ints),
                AttrSpec::opt("dilations", AttrKind::Ints),
                AttrSpec::opt("pad_low", AttrKind::Ints),
                AttrSpec::opt("pad_high", AttrKind::Ints),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Numeric)?;
        cx.attr("kind")?;
        cx.choice("kind", &["sum", "max", "min"], "sum")?;
        let rank = x.rank();
        let window = cx.ints("window")?;
        if window.len() != rank {
            return Err(format!("attribute 'window' must have one entry per axis of {x}, got {window:?}"));
        }
        if window.iter().any(|&w| !(1..=WINDOW_LIMIT).contains(&w)) {
            return Err(format!("attribute 'window' must hold sizes from 1 to {WINDOW_LIMIT}, got {window:?}"));
        }
        let axes = window_axes(cx, rank)?;
        let mut dims = Vec::with_capacity(rank);
        for (i, (d, axis)) in x.dims.iter().zip(axes).enumerate() {
            dims.push(window_out(d, &Dim::Known(window[i] as u64), axis).map_err(|e| format!("axis {i}: {e}"))?);
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, x.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let kind = cx.op.choice("kind", &["sum", "max", "min"], "sum")?;
        let window = cx.op.ints("window")?;
        let axes = window_axes(&cx.op, x.rank())?;
        if window.len() != x.rank() || window.iter().any(|&w| w < 1) {
            return Err(format!(
                "attribute 'window' must hold one size >= 1 per axis of {:?}, got {window:?}",
                x.shape()
            ));
        }
        let windows: Vec<(usize, WindowAxis)> = window.iter().map(|&w| w as usize).zip(axes).collect();
        let combine = match kind {
            "sum" => Combine::Sum,
            "max" => Combine::Max,
            _ => Combine::Min,
        };
        let mut shape = x.shape().to_vec();
        let data = match x.data() {
            Data::Bool(_) => return Err(format!("cannot pool {} elements", x.dtype())),
            d => map_elements!(d, v => pool(v, &mut shape, &windows, combine, x.dtype())?),
        };
        Ok(vec![Tensor::new(x.dtype(), shape, data)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::window::reduce_window(cx)
    }
}

/// Pools `v` (elements of `dtype` in the row-major `shape`, which becomes
/// the output shape) with `combine`, whose identity also stands for
/// padding. Windows over a box are separable, so each axis is pooled in
/// turn (axes whose window is one element wide, unstrided and unpadded are
/// left alone).
fn pool<T: Elem>(
    v: &[T],
    shape: &mut [usize],
    windows: &[(usize, WindowAxis)],
    combine: Combine,
    dtype: DType,
) -> Result<Vec<T>, String> {
    let (f, identity) = (combine.op(), combine.identity(dtype));
    let mut current = Cow::Borrowed(v);
    for (d, &(w, axis)) in windows.iter().enumerate() {
        if w == 1 && axis.stride == 1 && axis.pad_low == 0 && axis.pad_high == 0 {
            continue;
        }
        let (outer, n, inner) = split_at_axis(shape, d);
        let out = match static_window_out(n as u64, w as u64, axis).map_err(|e| format!("axis {d}: {e}"))? {
            Dim::Known(out) => usize::try_from(out).map_err(|_| format!("axis {d}: {out} windows are too many"))?,
            _ => return Err(format!("axis {d}: the window count is not static")),
        };
        let mut next = vec![identity; outer * out * inner];
        for a in 0..outer {
            for o in 0..out {
                let row = &mut next[(a * out + o) * inner..][..inner];
                for k in 0..w as i128 {
                    // The tap's position in the unpadded axis.
                    let q = (o as i128) * axis.stride as i128 + k * axis.dilation as i128 - axis.pad_low as i128;
                    if !(0..n as i128).contains(&q) {
                        continue;
                    }
                    let source = &current[(a * n + q as usize) * inner..][..inner];
                    for (y, &x) in row.iter_mut().zip(source) {
                        *y = f(*y, x);
                    }
                }
            }
        }
        current = Cow::Owned(next);
        shape[d] = out;
    }
    Ok(current.into_owned())
}

/// The `tg.reduce_window` op.
pub static REDUCE_WINDOW: ReduceWindow = ReduceWindow;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&REDUCE_WINDOW];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::dtype::DType;
    use crate::infer::{infer_standalone, NoSymbols};

    fn infer(x: Type, attrs: Attrs) -> Result<Vec<Type>, String> {
        infer_standalone(&REDUCE_WINDOW, &[x], &attrs, &NoSymbols)
    }

    fn pool(kind: &str, window: &[i64]) -> Attrs {
        Attrs::from([("kind", Attr::Str(kind.into())), ("window", Attr::ints(window))])
    }

    fn dense(input: u64, window: u64, pad: i64, stride: i64) -> Result<Dim, String> {
        let w = WindowAxis { lhs_dilation: 1, pad_low: pad, pad_high: pad, dilation: 1, stride };
        window_out(&Dim::Known(input), &Dim::Known(window), w)
    }

    #[test]
    fn window_out_static() {
        assert_eq!(dense(32, 3, 1, 1), Ok(Dim::Known(32)));
        assert_eq!(dense(32, 2, 0, 2), Ok(Dim::Known(16)));
        assert_eq!(dense(7, 3, 0, 2), Ok(Dim::Known(3)));
        assert_eq!(dense(224, 7, 3, 2), Ok(Dim::Known(112)));
        let dilated = WindowAxis { lhs_dilation: 2, pad_low: 1, pad_high: 1, dilation: 2, stride: 1 };
        // (4 - 1) * 2 + 1 + 2 = 9 padded; (3 - 1) * 2 + 1 = 5 wide.
        assert_eq!(window_out(&Dim::Known(4), &Dim::Known(3), dilated), Ok(Dim::Known(5)));
        assert_eq!(
            dense(2, 3, 0, 1),
            Err("the window (3 wide after dilation) does not fit the padded input (2)".into())
        );
        assert_eq!(dense(2, 0, 0, 1), Err("the window size is 0".into()));
    }

    #[test]
    fn max_pool_static() {
        let x = Type::static_tensor(&[1, 3, 32, 32], DType::F32);
        let mut attrs = pool("max", &[1, 1, 2, 2]);
        attrs.set("strides", Attr::ints(&[1, 1, 2, 2]));
        assert_eq!(infer(x, attrs), Ok(vec![Type::static_tensor(&[1, 3, 16, 16], DType::F32)]));
    }

    #[test]
    fn pool_keeps_symbolic_batch() {
        let n = Dim::sym("N");
        let x = Type::tensor(vec![n.clone(), Dim::Known(8), Dim::sym("H")], DType::F32);
        let mut attrs = pool("sum", &[1, 1, 3]);
        attrs.set("pad_low", Attr::ints(&[0, 0, 1]));
        attrs.set("pad_high", Attr::ints(&[0, 0, 1]));
        let out = infer(x.clone(), attrs);
        assert_eq!(out, Ok(vec![Type::tensor(vec![n.clone(), Dim::Known(8), Dim::sym("H")], DType::F32)]));
        let mut attrs = pool("min", &[1, 1, 2]);
        attrs.set("strides", Attr::ints(&[1, 1, 2]));
        assert_eq!(infer(x, attrs), Ok(vec![Type::tensor(vec![n, Dim::Known(8), Dim::Unknown], DType::F32)]));
    }

    #[test]
    fn pool_errors() {
        let x = Type::static_tensor(&[1, 3, 4, 4], DType::F32);
        assert_eq!(
            infer(x.clone(), pool("max", &[1, 1, 5, 1])),
            Err("axis 2: the window (5 wide after dilation) does not fit the padded input (4)".into())
        );
        assert_eq!(
            infer(x.clone(), pool("max", &[2, 2])),
            Err("attribute 'window' must have one entry per axis of tensor<1x3x4x4xf32>, got [2, 2]".into())
        );
        assert_eq!(
            infer(x.clone(), pool("avg", &[1, 1, 2, 2])),
            Err("attribute 'kind' must be one of \"sum\", \"max\", \"min\", got \"avg\"".into())
        );
        let mut attrs = pool("max", &[1, 1, 2, 2]);
        attrs.set("strides", Attr::ints(&[1, 1, 0, 2]));
        assert_eq!(
            infer(x.clone(), attrs),
            Err("attribute 'strides' must hold integers >= 1, got [1, 1, 0, 2]".into())
        );
        let mut attrs = pool("max", &[1, 1, 2, 2]);
        attrs.set("pad_low", Attr::ints(&[0, 0, 0, i64::MIN]));
        assert_eq!(
            infer(x.clone(), attrs),
            Err("attribute 'pad_low' holds -9223372036854775808, beyond the supported magnitude 4294967296".into())
        );
        let attrs = Attrs::from([("window", Attr::ints(&[1, 1, 2, 2]))]);
        assert_eq!(infer(x, attrs), Err("missing attribute 'kind'".into()));
    }

    mod eval {
        use super::*;
        use crate::dialect::graph::testing::{arange, eval1, f32s};

        fn run(x: Tensor, attrs: Attrs) -> Result<Tensor, String> {
            eval1(&REDUCE_WINDOW, &[x], &attrs)
        }

        fn with(mut attrs: Attrs, items: &[(&str, &[i64])]) -> Attrs {
            for (name, v) in items {
                attrs.set(name, Attr::ints(v));
            }
            attrs
        }

        #[test]
        fn max_pool_strided_with_padding_as_identity() {
            let x = f32s(&[1, 1, 3, 3], &[1.0, -2.0, 3.0, -4.0, -5.0, -6.0, 7.0, -8.0, -9.0]);
            let attrs = with(pool("max", &[1, 1, 2, 2]), &[("strides", &[1, 1, 2, 2]), ("pad_low", &[0, 0, 1, 1])]);
            // Padded windows: {pad, pad, pad, 1}, {pad, pad, -2, 3}, {pad, -4, pad, 7}, {-5, -6, -8, -9}.
            assert_eq!(run(x.clone(), attrs).map(|t| t.to_f64s()), Ok(vec![1.0, 3.0, 7.0, -5.0]));
            let attrs = with(pool("min", &[1, 1, 3, 1]), &[("pad_high", &[0, 0, 1, 0])]);
            let out = run(x.clone(), attrs).unwrap();
            assert_eq!((out.shape(), out.to_f64s()), (&[1, 1, 2, 3][..], vec![-4.0, -8.0, -9.0, -4.0, -8.0, -9.0]));
            let nan = f32s(&[3], &[1.0, f64::NAN, 2.0]);
            let out = run(nan, pool("max", &[2])).unwrap().to_f64s();
            assert!(out[0].is_nan() && out[1].is_nan());
        }

        #[test]
        fn sum_pool_with_dilation_and_negative_padding() {
            let x = arange(&[2, 6]);
            let attrs = with(pool("sum", &[2, 2]), &[("dilations", &[1, 3]), ("pad_high", &[0, -1])]);
            // Columns (0, 3) and (1, 4) of both rows; column 5 is cropped.
            assert_eq!(run(x.clone(), attrs).map(|t| t.to_f64s()), Ok(vec![18.0, 22.0]));
            let attrs =
                with(pool("sum", &[1, 3]), &[("strides", &[1, 2]), ("pad_low", &[0, 1]), ("pad_high", &[0, 1])]);
            assert_eq!(run(x, attrs).map(|t| t.to_f64s()), Ok(vec![1.0, 6.0, 12.0, 13.0, 24.0, 30.0]));
        }

        #[test]
        fn integer_pools_use_the_dtype_extremes() {
            let x = Tensor::new(crate::dtype::DType::I8, vec![2], Data::Int(vec![-128, -100])).unwrap();
            let attrs = with(pool("max", &[2]), &[("pad_low", &[1])]);
            assert_eq!(run(x.clone(), attrs).map(|t| t.to_i64s()), Ok(vec![-128, -100]));
            let attrs = with(pool("sum", &[2]), &[]);
            assert_eq!(run(x, attrs).map(|t| t.to_i64s()), Ok(vec![28]));
            let u = Tensor::new(crate::dtype::DType::U16, vec![1], Data::UInt(vec![7])).unwrap();
            let attrs = with(pool("min", &[2]), &[("pad_high", &[1])]);
            assert_eq!(run(u, attrs).map(|t| t.to_i64s()), Ok(vec![7]));
            // An empty axis pools its padding alone.
            let attrs = with(pool("max", &[1, 2]), &[("pad_low", &[0, 1]), ("pad_high", &[0, 1])]);
            let out = run(f32s(&[1, 0], &[]), attrs).unwrap();
            assert_eq!((out.shape(), out.to_f64s()), (&[1, 1][..], vec![f64::NEG_INFINITY]));
        }
    }
}
