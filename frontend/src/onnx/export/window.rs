//! ONNX emitters: windows. `tg.reduce_window` over the spatial axes is
//! ONNX pooling: "max" is `MaxPool`, "min" a `MaxPool` of the negation,
//! "sum" an `AveragePool` counting the padding, times the window size.
//! Padding ONNX pools refuse (as large as the window) is written as an
//! explicit `Pad` with the reduction's identity; negative padding crops
//! with a `Slice`. A window over the batch or channel axes (LRN's sum over
//! channels) pools a view with two size-1 axes in front. (The compact
//! MaxPool/AveragePool forms are recognised in `compact`.)

use super::cx::{attr_int, attr_ints, attr_str, OpCx};
use super::registry::Emit;
use super::shape::reshape_shape;
use tessera_ir::infer::InferCx;
use tessera_ir::{DType, Dim};

/// A pooling window over the spatial axes.
pub(super) struct Pool {
    /// Window size per spatial axis.
    pub kernel: Vec<i64>,
    /// Step per spatial axis.
    pub strides: Vec<i64>,
    /// Tap spacing per spatial axis.
    pub dilations: Vec<i64>,
    /// Padding before each spatial axis.
    pub low: Vec<i64>,
    /// Padding after each spatial axis.
    pub high: Vec<i64>,
}

impl Pool {
    /// The spatial window of a `tg.reduce_window` on a tensor of `rank`;
    /// an error when the window touches the batch or channel axes.
    pub fn read(a: &InferCx, rank: usize) -> Result<Pool, String> {
        let lists = Pool::lists(a, rank)?;
        if rank < 3 || !Pool::spatial_only(&lists) {
            return Err("the window touches the batch or channel axes".to_string());
        }
        Ok(Pool::from_lists(&lists, 2))
    }

    /// The window, strides, dilations and pads of a `tg.reduce_window` on
    /// a tensor of `rank`, one entry per axis each.
    fn lists(a: &InferCx, rank: usize) -> Result<[Vec<i64>; 5], String> {
        let lists = [
            a.ints("window")?,
            a.ints_or("strides", vec![1; rank])?,
            a.ints_or("dilations", vec![1; rank])?,
            a.ints_or("pad_low", vec![0; rank])?,
            a.ints_or("pad_high", vec![0; rank])?,
        ];
        if lists.iter().any(|l| l.len() != rank) {
            return Err(format!("the window needs one entry per axis of the rank-{rank} input"));
        }
        Ok(lists)
    }

    /// Whether the window leaves the first two (batch and channel) axes alone.
    fn spatial_only(lists: &[Vec<i64>; 5]) -> bool {
        lists.iter().zip([1, 1, 1, 0, 0]).all(|(l, d)| l.len() >= 2 && l[0] == d && l[1] == d)
    }

    /// The pool over the axes of `lists` from `first` on.
    fn from_lists(lists: &[Vec<i64>; 5], first: usize) -> Pool {
        let [window, strides, dilations, low, high] = lists;
        Pool {
            kernel: window[first..].to_vec(),
            strides: strides[first..].to_vec(),
            dilations: dilations[first..].to_vec(),
            low: low[first..].to_vec(),
            high: high[first..].to_vec(),
        }
    }

    /// Whether ONNX pools accept the padding as it is (each pad non-negative
    /// and smaller than the window).
    pub fn pads_fit(&self) -> bool {
        self.low.iter().chain(&self.high).zip(self.kernel.iter().chain(&self.kernel)).all(|(&p, &k)| p >= 0 && p < k)
    }

    /// The pool's attributes: kernel, strides, pads and dilations (the last
    /// three left out at their defaults).
    pub fn attrs(&self) -> Vec<crate::onnx::proto::AttributeProto> {
        let mut out = vec![attr_ints("kernel_shape", &self.kernel)];
        if self.strides.iter().any(|&s| s != 1) {
            out.push(attr_ints("strides", &self.strides));
        }
        if self.low.iter().chain(&self.high).any(|&p| p != 0) {
            out.push(attr_ints("pads", &[self.low.clone(), self.high.clone()].concat()));
        }
        if self.dilations.iter().any(|&d| d != 1) {
            out.push(attr_ints("dilations", &self.dilations));
        }
        out
    }
}

/// The lowest value of `dtype` (the padding of a max).
fn lowest(dtype: DType) -> f64 {
    match dtype {
        DType::I8 => f64::from(i8::MIN),
        DType::I16 => f64::from(i16::MIN),
        DType::I32 => f64::from(i32::MIN),
        DType::I64 => i64::MIN as f64,
        d if d.is_float() => f64::NEG_INFINITY,
        _ => 0.0,
    }
}

/// `x` cropped where the pool's pads are negative and padded with
/// `identity` where ONNX pools would refuse them; the pool's pads are
/// cleared when that happens.
fn explicit_pads(cx: &mut OpCx, x: String, pool: &mut Pool, dtype: DType, identity: f64) -> Result<String, String> {
    if pool.pads_fit() {
        return Ok(x);
    }
    let n = pool.kernel.len();
    let mut x = x;
    let cropped: Vec<usize> = (0..n).filter(|&i| pool.low[i] < 0 || pool.high[i] < 0).collect();
    if !cropped.is_empty() {
        let starts: Vec<i64> = cropped.iter().map(|&i| (-pool.low[i]).max(0)).collect();
        let ends: Vec<i64> = cropped.iter().map(|&i| if pool.high[i] < 0 { pool.high[i] } else { i64::MAX }).collect();
        let axes: Vec<i64> = cropped.iter().map(|&i| 2 + i as i64).collect();
        let (s, e, a, t) = (cx.ints(&starts), cx.ints(&ends), cx.ints(&axes), cx.ints(&vec![1; cropped.len()]));
        x = cx.node1("Slice", &[&x, &s, &e, &a, &t], vec![]);
    }
    let mut pads = vec![0i64; 2 * (n + 2)];
    for i in 0..n {
        pads[2 + i] = pool.low[i].max(0);
        pads[n + 4 + i] = pool.high[i].max(0);
    }
    pool.low = vec![0; n];
    pool.high = vec![0; n];
    if pads.iter().all(|&p| p == 0) {
        return Ok(x);
    }
    let pads = cx.ints(&pads);
    let value = cx.scalar(dtype, identity)?;
    Ok(cx.node1("Pad", &[&x, &pads, &value], vec![attr_str("mode", "constant")]))
}

/// A pool over the spatial axes; a window touching the batch or channel
/// axes pools a view with two leading size-1 axes added, all of whose
/// original axes are then spatial.
fn reduce_window(cx: &mut OpCx) -> Result<(), String> {
    let (xt, yt) = (cx.input_ty(0)?, cx.out_type()?);
    let kind = cx.attrs().choice("kind", &["sum", "max", "min"], "sum")?.to_string();
    let lists = Pool::lists(&cx.attrs(), xt.rank())?;
    let lifted = xt.rank() < 3 || !Pool::spatial_only(&lists);
    let mut pool = Pool::from_lists(&lists, if lifted { 0 } else { 2 });
    let dtype = xt.dtype;
    let (mut x, y) = (cx.input(0), cx.out(0));
    if lifted {
        let mut view = vec![Dim::Known(1), Dim::Known(1)];
        view.extend(xt.dims.iter().cloned());
        let (shape, allowzero) = reshape_shape(cx, &xt.dims, &view)?;
        x = cx.node1("Reshape", &[&x, &shape], if allowzero { vec![attr_int("allowzero", 1)] } else { vec![] });
    }
    let pooled = if lifted { cx.temp() } else { y.clone() };
    match kind.as_str() {
        "max" | "min" => {
            let max_pool_ok = dtype.is_float() || matches!(dtype, DType::I8 | DType::U8);
            if !max_pool_ok || (kind == "min" && !(dtype.is_float() || dtype == DType::I8)) {
                return Err(format!("ONNX MaxPool does not take {dtype} for a windowed {kind}"));
            }
            let source = if kind == "min" { cx.node1("Neg", &[&x], vec![]) } else { x };
            let source = explicit_pads(cx, source, &mut pool, dtype, lowest(dtype))?;
            if kind == "min" {
                let m = cx.node1("MaxPool", &[&source], pool.attrs());
                cx.node("Neg", &[&m], &[&pooled], vec![]);
            } else {
                cx.node("MaxPool", &[&source], &[&pooled], pool.attrs());
            }
        }
        _ => {
            if !dtype.is_float() {
                return Err(format!("ONNX AveragePool does not take {dtype} for a windowed sum"));
            }
            if pool.dilations.iter().any(|&d| d != 1) {
                cx.require_opset(19, "AveragePool with dilations")?;
            }
            let source = explicit_pads(cx, x, &mut pool, dtype, 0.0)?;
            let mut attrs = pool.attrs();
            attrs.push(attr_int("count_include_pad", 1));
            let mean = cx.node1("AveragePool", &[&source], attrs);
            let size = cx.scalar(dtype, pool.kernel.iter().product::<i64>() as f64)?;
            cx.node("Mul", &[&mean, &size], &[&pooled], vec![]);
        }
    }
    if lifted {
        let mut view = vec![Dim::Known(1), Dim::Known(1)];
        view.extend(yt.dims.iter().cloned());
        let (shape, allowzero) = reshape_shape(cx, &view, &yt.dims)?;
        cx.node("Reshape", &[&pooled, &shape], &[&y], if allowzero { vec![attr_int("allowzero", 1)] } else { vec![] });
    }
    Ok(())
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[("tg.reduce_window", reduce_window)];
