//! Gradient rule of `reduce_window` (pooling), tap by tap: for each
//! position `t` of the window, the output element's cotangent goes to the
//! input element under `t` — always for `sum`; for `max` and `min` only at
//! the first tap (row-major) holding the extremum, as PyTorch's pooling
//! does. Each tap's share is spread by the stride and padded into place.

use super::super::elementwise as ew;
use super::super::window::window_axes;
use crate::attr::Attrs;
use crate::diag::Diag;
use crate::dim::Dim;
use crate::id::ValueId;
use crate::vjp::{Grads, VjpCx};

/// The most window taps the rule unrolls.
const MAX_TAPS: u64 = 4096;

/// How the window moves along one axis, with the sizes the rule needs.
struct Axis {
    window: i64,
    stride: i64,
    dilation: i64,
    pad_low: i64,
    pad_high: i64,
    /// The input size (`None` on an axis the window leaves alone, which may be symbolic).
    size: Option<i64>,
    /// The output size (same convention).
    out: Option<i64>,
}

impl Axis {
    /// A window of 1 with stride 1 and no padding: the axis passes through.
    fn plain(&self) -> bool {
        self.window == 1 && self.stride == 1 && self.pad_low == 0 && self.pad_high == 0
    }
}

/// The window's axes, with static sizes wherever the window moves.
fn read_axes(cx: &VjpCx) -> Result<Vec<Axis>, Diag> {
    let (xd, yd) = (cx.dims(cx.operand(0))?, cx.dims(cx.result(0))?);
    let at = cx.attrs();
    let window = at.ints("window").map_err(|e| cx.error(e))?;
    let moves = window_axes(&at, xd.len()).map_err(|e| cx.error(e))?;
    let mut axes = Vec::with_capacity(xd.len());
    for (i, (m, &w)) in moves.iter().zip(&window).enumerate() {
        let mut axis = Axis {
            window: w,
            stride: m.stride,
            dilation: m.dilation,
            pad_low: m.pad_low,
            pad_high: m.pad_high,
            size: None,
            out: None,
        };
        if !axis.plain() {
            let static_size = |d: &Dim| {
                d.known().map(|k| k as i64).ok_or_else(|| {
                    cx.error(format!("differentiating 'tg.reduce_window' needs a static size on axis {i}, got {d}"))
                })
            };
            axis.size = Some(static_size(&xd[i])?);
            axis.out = Some(static_size(&yd[i])?);
        }
        axes.push(axis);
    }
    Ok(axes)
}

/// Every tap of the window, row-major, as one offset per axis.
fn taps(axes: &[Axis]) -> Vec<Vec<i64>> {
    let mut all = vec![Vec::new()];
    for a in axes {
        all = all.into_iter().flat_map(|t: Vec<i64>| (0..a.window).map(move |k| [t.as_slice(), &[k]].concat())).collect();
    }
    all
}

/// Places `c` (output-shaped) at tap `t` of an input-shaped zero tensor.
fn place(cx: &mut VjpCx, c: ValueId, axes: &[Axis], t: &[i64]) -> Result<ValueId, Diag> {
    let mut v = c;
    let (mut low, mut high) = (vec![0; axes.len()], vec![0; axes.len()]);
    for (i, a) in axes.iter().enumerate() {
        let (Some(n), Some(out)) = (a.size, a.out) else { continue };
        v = cx.spread(v, i, a.stride as u64)?;
        low[i] = t[i] * a.dilation - a.pad_low;
        high[i] = n - low[i] - out * a.stride;
    }
    cx.pad_zeros(v, &low, &high)
}

/// The elements of `xp` (the padded input) under tap `t`, output-shaped.
fn under_tap(cx: &mut VjpCx, xp: ValueId, axes: &[Axis], t: &[i64]) -> Result<ValueId, Diag> {
    let (mut starts, mut ends, mut which, mut steps) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, a) in axes.iter().enumerate() {
        let Some(out) = a.out else { continue };
        let start = t[i] * a.dilation;
        starts.push(start);
        ends.push(start + (out - 1) * a.stride + 1);
        which.push(i as i64);
        steps.push(a.stride);
    }
    cx.b.slice(xp, &starts, &ends, &which, &steps)
}

/// `reduce_window {kind, window, strides, dilations, pad_low, pad_high}`.
pub fn reduce_window(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let kind = cx.attrs().choice("kind", &["sum", "max", "min"], "sum").map_err(|e| cx.error(e))?.to_string();
        let axes = read_axes(cx)?;
        let count: u64 = axes.iter().map(|a| a.window.max(0) as u64).product();
        if count > MAX_TAPS {
            return Err(cx.error(format!("differentiating a window of {count} taps is not supported (at most {MAX_TAPS})")));
        }
        let x = cx.operand(0);
        let y = cx.result(0);
        let extremum = match kind.as_str() {
            "max" => Some(f64::NEG_INFINITY),
            "min" => Some(f64::INFINITY),
            _ => None,
        };
        let padded = match extremum {
            Some(fill) => {
                let value = cx.constant_like(x, fill)?;
                let low: Vec<i64> = axes.iter().map(|a| a.pad_low).collect();
                let high: Vec<i64> = axes.iter().map(|a| a.pad_high).collect();
                let attrs = Attrs::from([("low", crate::attr::Attr::ints(&low)), ("high", crate::attr::Attr::ints(&high))]);
                Some(cx.b.op(&super::super::shape::PAD, &[x, value], attrs)?)
            }
            None => None,
        };
        let zero = cx.constant_like(g, 0.0)?;
        let mut taken: Option<ValueId> = None;
        let mut total: Option<ValueId> = None;
        for t in taps(&axes) {
            let share = match padded {
                Some(xp) => {
                    let at = under_tap(cx, xp, &axes, &t)?;
                    let hit = cx.b.binary(&ew::EQ, at, y)?;
                    let first = match taken {
                        Some(prev) => {
                            let fresh = cx.b.unary(&ew::NOT, prev)?;
                            let first = cx.b.binary(&ew::AND, hit, fresh)?;
                            taken = Some(cx.b.binary(&ew::OR, prev, hit)?);
                            first
                        }
                        None => {
                            taken = Some(hit);
                            hit
                        }
                    };
                    cx.b.op(&ew::SELECT, &[first, g, zero], Attrs::new())?
                }
                None => g,
            };
            let placed = place(cx, share, &axes, &t)?;
            total = Some(match total {
                Some(sum) => cx.add(sum, placed)?,
                None => placed,
            });
        }
        match total {
            Some(t) => Ok(t),
            None => cx.zeros_like(x),
        }
    })
}
