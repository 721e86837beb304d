//! The builtins whose meaning depends on whether the model trains, each
//! one training-mode marker of the graph dialect
//! (`tessera_ir::dialect::graph::mode`): the inference form when a model
//! runs, compiles or exports; the training form under `tessera train`.
//!
//! | builtin | primitive |
//! | --- | --- |
//! | `dropout(x, p=0.5)` | `tg.dropout {ratio = p}` |
//! | `batch_stats(x, running_mean, running_var, axes, momentum=0.9)`, a pair `(mean, var)` | `tg.batch_stats` |

use super::{int, Args, Fail, R};
use crate::tsr::check::{ArgVal, Checker, Emit, TVal, Val};
use crate::tsr::ast::Span;
use crate::tsr::value::{show, Static};
use tessera_ir::attr::Attr;
use tessera_ir::dialect::graph::mode;
use tessera_ir::{Attrs, Dim};

/// A compile-time fraction in `[0, 1)` (`what` names it), or `default`
/// when absent; an unknown value (a function checked on its own) checks
/// as `default`.
fn fraction<E: Emit>(a: &mut Args<E::V>, i: usize, default: f64, what: &str) -> Result<f64, Fail> {
    let Some((s, span)) = a.opt_static(i)? else { return Ok(default) };
    let v = match s {
        Static::Unknown => return Ok(default),
        s => s.number().ok_or_else(|| (span, format!("{what} is a number in [0, 1), got {}", s.describe())))?,
    };
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err((span, format!("{what} must be in [0, 1), got {v}")))
    }
}

/// `dropout(x, p)`: zeroes a random fraction `p` of a float tensor while
/// training (scaling the rest by `1 / (1 - p)`); the identity otherwise.
pub(super) fn dropout<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("dropout", &["x", "p"], args, span)?;
    let (x, x_span) = a.tensor(0)?;
    if !x.ty.dtype.is_float() {
        return Err((x_span, format!("'dropout' drops elements of a float tensor, got {}", show(&x.ty))));
    }
    let p = fraction::<E>(&mut a, 1, 0.5, "the dropout probability p")?;
    Ok(cx.prim(&mode::DROPOUT, &[&x], Attrs::from([("ratio", Attr::Float(p))]), span))
}

/// `batch_stats(x, running_mean, running_var, axes, momentum)`: the mean
/// and variance a batch normalisation of `x` divides by, shaped like the
/// running statistics (`x`'s dims without `axes`) — the running statistics
/// themselves except while training, where they are the batch's, and the
/// running ones become `momentum * running + (1 - momentum) * batch`.
pub(super) fn batch_stats<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("batch_stats", &["x", "running_mean", "running_var", "axes", "momentum"], args, span)?;
    let (x, x_span) = a.tensor(0)?;
    let (mean, m_span) = a.tensor(1)?;
    let (var, v_span) = a.tensor(2)?;
    if !x.ty.dtype.is_float() {
        return Err((x_span, format!("'batch_stats' normalises a float tensor, got {}", show(&x.ty))));
    }
    let (axes, axes_span) = a.opt_static(3)?.ok_or_else(|| a.missing(3))?;
    let axes = match axes {
        Static::List(items) => items.iter().map(|i| int(cx, i, axes_span, "an axis").map(|v| v.unwrap_or(0))).collect::<Result<Vec<_>, _>>()?,
        other => return Err((axes_span, format!("the axes of 'batch_stats' are a list such as [0, 2, 3], got {}", other.describe()))),
    };
    let momentum = fraction::<E>(&mut a, 4, 0.9, "the momentum")?;
    let Some(reduced) = cx.axes(&axes, &x.ty, axes_span) else { return Ok(Val::Error) };
    let kept: Vec<Dim> = (0..x.ty.rank()).filter(|d| !reduced.contains(d)).map(|d| x.ty.dims[d].clone()).collect();
    for (stat, stat_span, what) in [(&mean, m_span, "running_mean"), (&var, v_span, "running_var")] {
        check_statistic(&x, &axes, &kept, stat, what).map_err(|m| (stat_span, m))?;
    }
    let attrs = Attrs::from([("axes", Attr::ints(&reduced.iter().map(|&d| d as i64).collect::<Vec<_>>())), ("momentum", Attr::Float(momentum))]);
    Ok(cx.prim_all(&mode::BATCH_STATS, &[&x, &mean, &var], attrs, span).map_or(Val::Error, |r| Val::Tuple(r.into_iter().map(Val::Tensor).collect())))
}

/// A running statistic has `x`'s dtype and `x`'s dims without the reduced axes.
fn check_statistic<V>(x: &TVal<V>, axes: &[i64], kept: &[Dim], stat: &TVal<V>, what: &str) -> Result<(), String> {
    if stat.ty.dtype != x.ty.dtype {
        return Err(format!("{what} {} must have the dtype of x {}", show(&stat.ty), show(&x.ty)));
    }
    let fits = stat.ty.rank() == kept.len()
        && kept.iter().zip(&stat.ty.dims).all(|(k, s)| k == s || matches!(k, Dim::Unknown) || matches!(s, Dim::Unknown));
    if fits {
        return Ok(());
    }
    let want: Vec<String> = kept.iter().map(Dim::to_string).collect();
    Err(format!("{what} {} does not match x {} reduced over axes {axes:?}, which leaves [{}]", show(&stat.ty), show(&x.ty), want.join(", ")))
}
