//! The builtin functions, each mapping to one graph primitive (`exp` to
//! `tg.exp`, `sum` to `tg.reduce_sum`, `conv` to `tg.conv`, ...) or to the
//! few primitives a shape helper needs (`flatten` is a `tg.reshape`; `mean`
//! is a sum and a division). Everything richer lives in the standard
//! library, written in `.tsr`.
//!
//! | builtin | primitive |
//! | --- | --- |
//! | `abs exp log sqrt rsqrt reciprocal tanh sigmoid erf sin cos tan floor ceil round sign` | the `tg.` op of that name |
//! | `maximum(a, b)`, `minimum(a, b)` | `tg.max`, `tg.min` (elementwise) |
//! | `where(cond, a, b)` | `tg.select` |
//! | `cast(x, dtype)` | `tg.cast` |
//! | `sum prod max min (x, axis=, keepdims=)`; `mean` | `tg.reduce_*`; sum / count |
//! | `argmax argmin (x, axis=0, keepdims=)` | `tg.argmax`, `tg.argmin` |
//! | `reshape(x, shape)` (one `-1` allowed), `flatten(x, axis=1)`, `expand_dims(x, axis)`, `squeeze(x, axis)` | `tg.reshape` |
//! | `transpose(x, perm=reversed)`, `swapaxes(x, a, b)` | `tg.transpose` |
//! | `concat(xs, axis=0)` | `tg.concat` |
//! | `broadcast_to(x, shape)` | `tg.broadcast_to` |
//! | `pad(x, pads, value=0, mode="constant")` with `pads = [[lo, hi], ...]` | `tg.pad` |
//! | `take(x, indices, axis=0)` | `tg.gather` |
//! | `matmul(a, b)` | `a @ b` |
//! | `conv(x, w, stride=1, padding=0, dilation=1, groups=1)` | `tg.conv` |
//! | `reduce_window(x, kind, window, strides=, padding=)` | `tg.reduce_window` |
//! | `arange(n, dtype=i64)` | `tg.iota` |
//! | `dropout(x, p=0.5)`, `batch_stats(...)` | the training-mode markers (see [`mode`]) |
//!
//! The unary math builtins also fold compile-time numbers (`sqrt(64)` is 8.0).

use super::ast::{BinOp, Span};
use super::check::{ArgVal, Checker, Emit, TVal, Val};
use super::value::{dim_product, show, Static, MAX_SIZE};
use tessera_ir::attr::{Attr, DenseAttr};
use tessera_ir::dialect::graph::{elementwise as ew, index, linalg, reduce, shape, window};
use tessera_ir::{Attrs, DType, Dim, OpRef, TensorType};

mod mode;

/// Every builtin's name.
pub const BUILTINS: &[&str] = &[
    "abs", "exp", "log", "sqrt", "rsqrt", "reciprocal", "tanh", "sigmoid", "erf", "sin", "cos", "tan", "floor", "ceil",
    "round", "sign", "maximum", "minimum", "where", "cast", "sum", "prod", "max", "min", "mean", "argmax", "argmin",
    "reshape", "flatten", "expand_dims", "squeeze", "transpose", "swapaxes", "concat", "broadcast_to", "pad", "take", "matmul",
    "conv", "reduce_window", "arange", "dropout", "batch_stats",
];

/// Whether `name` is a builtin.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

/// A failure to report: where and what.
type Fail = (Span, String);

type R<V> = Result<Val<V>, Fail>;

/// A call's arguments matched to the builtin's parameter names.
struct Args<V> {
    name: &'static str,
    params: &'static [&'static str],
    slots: Vec<Option<ArgVal<V>>>,
    span: Span,
}

impl<V: Clone> Args<V> {
    fn bind(name: &'static str, params: &'static [&'static str], args: Vec<ArgVal<V>>, span: Span) -> Result<Args<V>, Fail> {
        let mut slots: Vec<Option<ArgVal<V>>> = params.iter().map(|_| None).collect();
        let mut next = 0;
        for a in args {
            let i = match &a.key {
                None => {
                    next += 1;
                    if next > params.len() {
                        return Err((a.span, format!("'{name}' takes {} argument(s) ({}), got more", params.len(), params.join(", "))));
                    }
                    next - 1
                }
                Some(k) => params.iter().position(|p| *p == k.name).ok_or_else(|| {
                    (k.span, format!("'{name}' has no parameter '{}' (it takes {})", k.name, params.join(", ")))
                })?,
            };
            if slots[i].is_some() {
                return Err((a.span, format!("argument '{}' of '{name}' is given twice", params[i])));
            }
            slots[i] = Some(a);
        }
        Ok(Args { name, params, slots, span })
    }

    fn take(&mut self, i: usize) -> Option<ArgVal<V>> {
        self.slots.get_mut(i).and_then(Option::take)
    }

    fn missing(&self, i: usize) -> Fail {
        (self.span, format!("'{}' needs an argument '{}'", self.name, self.params[i]))
    }

    /// Argument `i`, required.
    fn value(&mut self, i: usize) -> Result<(Val<V>, Span), Fail> {
        let a = self.take(i).ok_or_else(|| self.missing(i))?;
        Ok((a.val, a.span))
    }

    /// Argument `i` as a tensor.
    fn tensor(&mut self, i: usize) -> Result<(TVal<V>, Span), Fail> {
        match self.value(i)? {
            (Val::Tensor(t), s) => Ok((t, s)),
            (other, s) => Err((s, format!("'{}' of '{}' must be a tensor, got {}", self.params[i], self.name, other.describe()))),
        }
    }

    /// Argument `i` as a compile-time value, if given.
    fn opt_static(&mut self, i: usize) -> Result<Option<(Static, Span)>, Fail> {
        match self.take(i) {
            None => Ok(None),
            Some(ArgVal { val: Val::Static(s), span, .. }) => Ok(Some((s, span))),
            Some(a) => Err((a.span, format!("'{}' of '{}' must be known while compiling, got {}", self.params[i], self.name, a.val.describe()))),
        }
    }

    fn opt_bool(&mut self, i: usize, default: bool) -> Result<bool, Fail> {
        match self.opt_static(i)? {
            None | Some((Static::Unknown, _)) => Ok(default),
            Some((Static::Bool(b), _)) => Ok(b),
            Some((s, span)) => Err((span, format!("'{}' of '{}' must be a bool, got {}", self.params[i], self.name, s.describe()))),
        }
    }
}

/// An integer (or unknown) from a compile-time value.
fn int<E: Emit>(cx: &mut Checker<'_, E>, s: &Static, span: Span, what: &str) -> Result<Option<i64>, Fail> {
    cx.int_of(s, what).map_err(|m| (span, m))
}

/// Integers from an integer or a list of them (unknown entries become `default`).
fn ints<E: Emit>(cx: &mut Checker<'_, E>, s: &Static, span: Span, what: &str, default: i64) -> Result<Vec<i64>, Fail> {
    match s {
        Static::List(items) => items.iter().map(|i| int(cx, i, span, what).map(|v| v.unwrap_or(default))).collect(),
        other => Ok(vec![int(cx, other, span, what)?.unwrap_or(default)]),
    }
}

/// Dims from a list of sizes.
fn sizes(s: &Static, span: Span, what: &str) -> Result<Vec<Static>, Fail> {
    match s {
        Static::List(items) => Ok(items.clone()),
        other => Err((span, format!("{what} is a list of sizes such as [N, 4], got {}", other.describe()))),
    }
}

/// Calls builtin `name`; `None` when there is no such builtin.
pub fn call<E: Emit>(cx: &mut Checker<'_, E>, name: &str, args: Vec<ArgVal<E::V>>, span: Span) -> Option<Val<E::V>> {
    let name: &'static str = BUILTINS.iter().find(|b| **b == name)?;
    let result = match name {
        "maximum" | "minimum" => binary(cx, name, args, span),
        "where" => select(cx, args, span),
        "cast" => cast(cx, args, span),
        "sum" | "prod" | "max" | "min" | "mean" => reduction(cx, name, args, span),
        "argmax" | "argmin" => arg_reduction(cx, name, args, span),
        "reshape" => reshape_builtin(cx, args, span),
        "flatten" => flatten(cx, args, span),
        "expand_dims" | "squeeze" => expand_or_squeeze(cx, name, args, span),
        "transpose" => transpose(cx, args, span),
        "swapaxes" => swapaxes(cx, args, span),
        "concat" => concat(cx, args, span),
        "broadcast_to" => broadcast_to(cx, args, span),
        "pad" => pad(cx, args, span),
        "take" => take(cx, args, span),
        "matmul" => Args::bind(name, &["a", "b"], args, span).and_then(|mut a| {
            let (x, _) = a.value(0)?;
            let (y, _) = a.value(1)?;
            Ok(cx.matmul(x, y, span))
        }),
        "conv" => conv(cx, args, span),
        "reduce_window" => reduce_window(cx, args, span),
        "arange" => arange(cx, args, span),
        "dropout" => mode::dropout(cx, args, span),
        "batch_stats" => mode::batch_stats(cx, args, span),
        _ => unary(cx, name, args, span),
    };
    Some(result.unwrap_or_else(|(s, m)| {
        cx.error(s, m);
        Val::Error
    }))
}

/// How a unary math builtin folds a compile-time number.
type Fold = fn(f64) -> f64;

/// The primitive and compile-time fold of a unary math builtin.
fn unary_def(name: &str) -> Option<(OpRef, Option<Fold>)> {
    Some(match name {
        "abs" => (&ew::ABS, Some(f64::abs)),
        "exp" => (&ew::EXP, Some(f64::exp)),
        "log" => (&ew::LOG, Some(f64::ln)),
        "sqrt" => (&ew::SQRT, Some(f64::sqrt)),
        "rsqrt" => (&ew::RSQRT, Some(|x: f64| 1.0 / x.sqrt())),
        "reciprocal" => (&ew::RECIPROCAL, Some(f64::recip)),
        "tanh" => (&ew::TANH, Some(f64::tanh)),
        "sigmoid" => (&ew::SIGMOID, Some(|x: f64| 1.0 / (1.0 + (-x).exp()))),
        "erf" => (&ew::ERF, None),
        "sin" => (&ew::SIN, Some(f64::sin)),
        "cos" => (&ew::COS, Some(f64::cos)),
        "tan" => (&ew::TAN, Some(f64::tan)),
        "floor" => (&ew::FLOOR, Some(f64::floor)),
        "ceil" => (&ew::CEIL, Some(f64::ceil)),
        "round" => (&ew::ROUND, Some(f64::round_ties_even)),
        "sign" => (&ew::SIGN, Some(|x: f64| if x == 0.0 { 0.0 } else { x.signum() })),
        _ => return None,
    })
}

fn unary<E: Emit>(cx: &mut Checker<'_, E>, name: &'static str, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind(name, &["x"], args, span)?;
    let (def, fold) = unary_def(name).ok_or_else(|| (span, format!("'{name}' is not a builtin")))?;
    match a.value(0)? {
        (Val::Tensor(t), _) => Ok(cx.prim(def, &[&t], Attrs::new(), span)),
        (Val::Static(Static::Unknown), _) => Ok(Val::Static(Static::Unknown)),
        (Val::Static(s), s_span) => match (s.number(), fold) {
            (Some(v), Some(f)) => Ok(Val::Static(Static::Float(f(v)))),
            _ => Err((s_span, format!("'{name}' of {} is not computed while compiling; pass a tensor", s.describe()))),
        },
        (other, s) => Err((s, format!("'{name}' takes a tensor, got {}", other.describe()))),
    }
}

fn binary<E: Emit>(cx: &mut Checker<'_, E>, name: &'static str, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind(name, &["a", "b"], args, span)?;
    let (x, _) = a.value(0)?;
    let (y, _) = a.value(1)?;
    let max = name == "maximum";
    if let (Val::Static(p), Val::Static(q)) = (&x, &y) {
        return match (p.number(), q.number()) {
            (Some(u), Some(v)) => Ok(Val::Static(Static::Float(if max { u.max(v) } else { u.min(v) }))),
            _ => Ok(Val::Static(Static::Unknown)),
        };
    }
    let def: OpRef = if max { &ew::MAX } else { &ew::MIN };
    Ok(cx.elementwise(def, BinOp::Add, x, y, span))
}

fn select<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("where", &["cond", "a", "b"], args, span)?;
    let (c, c_span) = a.value(0)?;
    let (x, _) = a.value(1)?;
    let (y, _) = a.value(2)?;
    let c = match c {
        Val::Static(Static::Bool(b)) => return Ok(if b { x } else { y }),
        Val::Tensor(t) if t.ty.dtype == DType::I1 => t,
        other => return Err((c_span, format!("the condition of 'where' is a bool tensor, got {}", other.describe()))),
    };
    let Some((x, y)) = cx.tensor_pair("choose between", x, y, span) else { return Ok(Val::Error) };
    if let Some(why) = super::ops::broadcast_mismatch(&[&c.ty, &x.ty, &y.ty]) {
        let msg = format!("cannot broadcast the condition {} with {} and {}: {why}", show(&c.ty), show(&x.ty), show(&y.ty));
        return Err((span, msg));
    }
    Ok(cx.prim(&ew::SELECT, &[&c, &x, &y], Attrs::new(), span))
}

fn cast<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("cast", &["x", "dtype"], args, span)?;
    let (x, _) = a.value(0)?;
    let dtype = match a.opt_static(1)? {
        Some((Static::DType(d), _)) => d,
        Some((s, s_span)) => return Err((s_span, format!("'cast' takes a dtype such as f32 or i64, got {}", s.describe()))),
        None => return Err(a.missing(1)),
    };
    match x {
        Val::Tensor(t) => Ok(cx.prim(&ew::CAST, &[&t], Attrs::from([("to", Attr::DType(dtype))]), span)),
        Val::Static(s) => Ok(cx.scalar(&s, dtype, span).map_or(Val::Error, Val::Tensor)),
        other => Err((span, format!("'cast' takes a tensor, got {}", other.describe()))),
    }
}

/// The axes of a reduction: all when absent, else an integer or a list of them.
fn reduce_axes<E: Emit>(cx: &mut Checker<'_, E>, a: &mut Args<E::V>, i: usize) -> Result<Option<Vec<i64>>, Fail> {
    match a.opt_static(i)? {
        None => Ok(None),
        Some((s, s_span)) => ints(cx, &s, s_span, "an axis", 0).map(Some),
    }
}

fn reduction<E: Emit>(cx: &mut Checker<'_, E>, name: &'static str, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    if matches!(name, "max" | "min") && args.get(1).is_some_and(|a| a.key.is_none() && matches!(a.val, Val::Tensor(_))) {
        let other = if name == "max" { "maximum" } else { "minimum" };
        return Err((args[1].span, format!("'{name}' reduces one tensor along axes; the elementwise {other} of two is {other}(a, b)")));
    }
    let mut a = Args::bind(name, &["x", "axis", "keepdims"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let axes = reduce_axes(cx, &mut a, 1)?;
    let keepdims = a.opt_bool(2, false)?;
    let def: OpRef = match name {
        "prod" => &reduce::REDUCE_PROD,
        "max" => &reduce::REDUCE_MAX,
        "min" => &reduce::REDUCE_MIN,
        _ => &reduce::REDUCE_SUM,
    };
    let total = cx.reduce(def, &x, axes.clone(), keepdims, span);
    if name != "mean" {
        return Ok(total);
    }
    let Val::Tensor(total) = total else { return Ok(Val::Error) };
    if !x.ty.dtype.is_float() {
        return Err((span, format!("'mean' averages floats, got {}; cast() first", show(&x.ty))));
    }
    let axes = match axes {
        Some(a) => cx.axes(&a, &x.ty, span).unwrap_or_default(),
        None => (0..x.ty.rank()).collect(),
    };
    let picked: Vec<Dim> = axes.iter().map(|&a| x.ty.dims[a].clone()).collect();
    let count = dim_product(&picked).map_err(|e| (span, e))?;
    let divisor = match count {
        Dim::Known(n) => match cx.scalar(&Static::Float(n as f64), x.ty.dtype, span) {
            Some(d) => d,
            None => return Ok(Val::Error),
        },
        _ => match runtime_count(cx, &x, &axes, span) {
            Some(d) => d,
            None => return Ok(Val::Error),
        },
    };
    Ok(cx.prim(&ew::DIV, &[&total, &divisor], Attrs::new(), span))
}

/// The element count of `x` over `axes` when the model runs, as a rank-0 tensor of x's dtype.
fn runtime_count<E: Emit>(cx: &mut Checker<'_, E>, x: &TVal<E::V>, axes: &[usize], span: Span) -> Option<TVal<E::V>> {
    let Val::Tensor(dims) = cx.prim(&shape::SHAPE_OF, &[x], Attrs::new(), span) else { return None };
    let picks: Vec<f64> = axes.iter().map(|&a| a as f64).collect();
    let ty = TensorType::of(&[picks.len() as u64], DType::I64);
    let value = DenseAttr::from_f64s(ty, &picks).ok()?;
    let loc = cx.loc(span);
    let idx = cx.emit.constant(value, &loc).ok()?;
    let Val::Tensor(sel) = cx.prim(&index::GATHER, &[&dims, &idx], Attrs::from([("axis", Attr::Int(0))]), span) else { return None };
    let Val::Tensor(n) = cx.reduce(&reduce::REDUCE_PROD, &sel, Some(vec![0]), false, span) else { return None };
    match cx.prim(&ew::CAST, &[&n], Attrs::from([("to", Attr::DType(x.ty.dtype))]), span) {
        Val::Tensor(t) => Some(t),
        _ => None,
    }
}

fn arg_reduction<E: Emit>(cx: &mut Checker<'_, E>, name: &'static str, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind(name, &["x", "axis", "keepdims"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let axis = match a.opt_static(1)? {
        Some((s, s_span)) => int(cx, &s, s_span, "the axis")?.unwrap_or(0),
        None => 0,
    };
    let keepdims = a.opt_bool(2, false)?;
    if cx.axes(&[axis], &x.ty, span).is_none() {
        return Ok(Val::Error);
    }
    let def: OpRef = if name == "argmax" { &reduce::ARGMAX } else { &reduce::ARGMIN };
    Ok(cx.prim(def, &[&x], Attrs::from([("axis", Attr::Int(axis)), ("keepdims", Attr::Bool(keepdims))]), span))
}

/// `tg.reshape` of `x` to `dims` (at most one `-1`, solved from the element count).
pub fn reshape<E: Emit>(cx: &mut Checker<'_, E>, x: &TVal<E::V>, dims: &[Static], span: Span) -> R<E::V> {
    let mut out = Vec::with_capacity(dims.len());
    let mut infer_at = None;
    for (i, d) in dims.iter().enumerate() {
        match d {
            Static::Int(-1) if infer_at.is_none() => {
                infer_at = Some(i);
                out.push(Dim::Known(1));
            }
            Static::Int(-1) => return Err((span, "a shape may hold only one -1".into())),
            d => out.push(d.to_dim().map_err(|e| (span, e))?),
        }
    }
    let total = dim_product(&x.ty.dims).map_err(|e| (span, e))?;
    let shown: Vec<String> = dims.iter().map(|d| match d {
        Static::Int(v) => v.to_string(),
        Static::Size(e) => e.to_string(),
        _ => "?".to_string(),
    }).collect();
    let target = format!("[{}]", shown.join(", "));
    let rest = dim_product(&out).map_err(|e| (span, e))?;
    if let Some(i) = infer_at {
        out[i] = match (&total, &rest) {
            (Dim::Unknown, _) | (_, Dim::Unknown) => Dim::Unknown,
            _ => total.div_exact(&rest).ok_or_else(|| {
                (span, format!("cannot reshape {} ({total} elements) to {target}: {total} is not a multiple of {rest}", show(&x.ty)))
            })?,
        };
    } else if !matches!(total, Dim::Unknown) && !matches!(rest, Dim::Unknown) && total != rest {
        return Err((span, format!("cannot reshape {} ({total} elements) to {target} ({rest} elements)", show(&x.ty))));
    }
    Ok(cx.prim(&shape::RESHAPE, &[x], Attrs::from([("shape", Attr::shape(&out))]), span))
}

fn reshape_builtin<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("reshape", &["x", "shape"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let (s, s_span) = a.opt_static(1)?.ok_or_else(|| a.missing(1))?;
    let dims = sizes(&s, s_span, "the shape")?;
    reshape(cx, &x, &dims, span)
}

fn flatten<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("flatten", &["x", "axis"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let axis = match a.opt_static(1)? {
        Some((s, s_span)) => int(cx, &s, s_span, "the axis")?.unwrap_or(1),
        None => 1,
    };
    let r = x.ty.rank() as i64;
    let at = if axis < 0 { axis + r } else { axis };
    if !(0..=r).contains(&at) {
        return Err((span, format!("axis {axis} is out of range for flattening {}", show(&x.ty))));
    }
    let (head, tail) = x.ty.dims.split_at(at as usize);
    let prod = |d: &[Dim]| dim_product(d).map(|p| Static::from_dim(&p)).map_err(|e| (span, e));
    reshape(cx, &x, &[prod(head)?, prod(tail)?], span)
}

fn expand_or_squeeze<E: Emit>(cx: &mut Checker<'_, E>, name: &'static str, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind(name, &["x", "axis"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let (s, s_span) = a.opt_static(1)?.ok_or_else(|| a.missing(1))?;
    let axis = int(cx, &s, s_span, "the axis")?.unwrap_or(0);
    let mut dims: Vec<Static> = x.ty.dims.iter().map(Static::from_dim).collect();
    let r = dims.len() as i64;
    if name == "expand_dims" {
        let at = if axis < 0 { axis + r + 1 } else { axis };
        if !(0..=r).contains(&at) {
            return Err((s_span, format!("axis {axis} is out of range for adding an axis to {}", show(&x.ty))));
        }
        dims.insert(at as usize, Static::Int(1));
    } else {
        let at = if axis < 0 { axis + r } else { axis };
        if !(0..r).contains(&at) {
            return Err((s_span, format!("axis {axis} is out of range for {}", show(&x.ty))));
        }
        let d = &x.ty.dims[at as usize];
        if !matches!(d, Dim::Known(1) | Dim::Unknown) {
            return Err((s_span, format!("cannot squeeze axis {axis} of {}: its size is {d}, not 1", show(&x.ty))));
        }
        dims.remove(at as usize);
    }
    reshape(cx, &x, &dims, span)
}

fn transpose<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("transpose", &["x", "perm"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let r = x.ty.rank();
    let perm = match a.opt_static(1)? {
        Some((s, s_span)) => ints(cx, &s, s_span, "a permutation entry", 0)?,
        None => (0..r as i64).rev().collect(),
    };
    let mut seen = vec![false; r];
    let valid = perm.len() == r
        && perm.iter().all(|&p| {
            let p = if p < 0 { p + r as i64 } else { p };
            usize::try_from(p).ok().filter(|&i| i < r && !seen[i]).map(|i| seen[i] = true).is_some()
        });
    if !valid {
        return Err((span, format!("{perm:?} is not a permutation of the {r} axes of {}", show(&x.ty))));
    }
    let perm: Vec<i64> = perm.iter().map(|&p| if p < 0 { p + r as i64 } else { p }).collect();
    Ok(cx.prim(&shape::TRANSPOSE, &[&x], Attrs::from([("perm", Attr::ints(&perm))]), span))
}

fn swapaxes<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("swapaxes", &["x", "a", "b"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let mut pick = |i: usize| -> Result<i64, Fail> {
        let (s, s_span) = a.opt_static(i)?.ok_or_else(|| a.missing(i))?;
        Ok(int(cx, &s, s_span, "an axis")?.unwrap_or(0))
    };
    let (i, j) = (pick(1)?, pick(2)?);
    let Some(ij) = cx.axes(&[i, j], &x.ty, span) else { return Ok(Val::Error) };
    let mut perm: Vec<i64> = (0..x.ty.rank() as i64).collect();
    perm.swap(ij[0], ij[1]);
    Ok(cx.prim(&shape::TRANSPOSE, &[&x], Attrs::from([("perm", Attr::ints(&perm))]), span))
}

fn concat<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("concat", &["xs", "axis"], args, span)?;
    let (xs, xs_span) = a.value(0)?;
    let axis = match a.opt_static(1)? {
        Some((s, s_span)) => int(cx, &s, s_span, "the axis")?.unwrap_or(0),
        None => 0,
    };
    let parts: Vec<TVal<E::V>> = match xs {
        Val::Tuple(items) => items
            .into_iter()
            .map(|v| match v {
                Val::Tensor(t) => Ok(t),
                other => Err((xs_span, format!("'concat' joins tensors, got {}", other.describe()))),
            })
            .collect::<Result<_, _>>()?,
        Val::Tensor(t) => vec![t],
        other => return Err((xs_span, format!("'concat' takes a list of tensors, as in concat([a, b], axis=1), got {}", other.describe()))),
    };
    let Some(first) = parts.first() else { return Err((xs_span, "'concat' needs at least one tensor".into())) };
    let Some(at) = cx.axes(&[axis], &first.ty, span).and_then(|v| v.first().copied()) else { return Ok(Val::Error) };
    for p in &parts[1..] {
        let mismatch = if p.ty.dtype != first.ty.dtype {
            Some("their dtypes differ".to_string())
        } else if p.ty.rank() != first.ty.rank() {
            Some("their ranks differ".to_string())
        } else {
            (0..p.ty.rank())
                .filter(|&i| i != at)
                .find(|&i| {
                    let (x, y) = (&first.ty.dims[i], &p.ty.dims[i]);
                    x != y && !matches!(x, Dim::Unknown) && !matches!(y, Dim::Unknown)
                })
                .map(|i| format!("axis {i} has {} and {}", first.ty.dims[i], p.ty.dims[i]))
        };
        if let Some(why) = mismatch {
            return Err((span, format!("cannot concatenate {} and {} along axis {axis}: {why}", show(&first.ty), show(&p.ty))));
        }
    }
    let refs: Vec<&TVal<E::V>> = parts.iter().collect();
    Ok(cx.prim(&shape::CONCAT, &refs, Attrs::from([("axis", Attr::Int(at as i64))]), span))
}

fn broadcast_to<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("broadcast_to", &["x", "shape"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let (s, s_span) = a.opt_static(1)?.ok_or_else(|| a.missing(1))?;
    let dims = sizes(&s, s_span, "the shape")?.iter().map(Static::to_dim).collect::<Result<Vec<_>, _>>().map_err(|e| (s_span, e))?;
    let target = TensorType::new(dims.clone(), x.ty.dtype);
    if x.ty.rank() > dims.len() {
        return Err((span, format!("cannot broadcast {} to the lower-rank {}", show(&x.ty), show(&target))));
    }
    if let Some(why) = super::ops::broadcast_mismatch(&[&x.ty, &target]) {
        return Err((span, format!("cannot broadcast {} to {}: {why}", show(&x.ty), show(&target))));
    }
    Ok(cx.prim(&shape::BROADCAST_TO, &[&x], Attrs::from([("shape", Attr::shape(&dims))]), span))
}

fn pad<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("pad", &["x", "pads", "value", "mode"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let (pads, p_span) = a.opt_static(1)?.ok_or_else(|| a.missing(1))?;
    let bad = || (p_span, format!("'pad' takes one [low, high] pair per axis of {}", show(&x.ty)));
    let Static::List(pairs) = pads else { return Err(bad()) };
    if pairs.len() != x.ty.rank() {
        return Err(bad());
    }
    let (mut low, mut high) = (Vec::new(), Vec::new());
    for p in &pairs {
        let Static::List(pair) = p else { return Err(bad()) };
        let [lo, hi] = pair.as_slice() else { return Err(bad()) };
        for (v, out) in [(lo, &mut low), (hi, &mut high)] {
            let amount = int(cx, v, p_span, "a padding")?.unwrap_or(0);
            if amount.unsigned_abs() as u128 > MAX_SIZE {
                return Err((p_span, format!("the padding {amount} is too large (at most {MAX_SIZE})")));
            }
            out.push(amount);
        }
    }
    let value = a.opt_static(2)?.map_or(Static::Int(0), |(s, _)| s);
    let mode = match a.opt_static(3)? {
        None => "constant".to_string(),
        Some((Static::Str(m), _)) if ["constant", "reflect", "edge"].contains(&m.as_str()) => m,
        Some((s, s_span)) => return Err((s_span, format!("the padding mode is \"constant\", \"reflect\" or \"edge\", got {}", s.describe()))),
    };
    let Some(v) = cx.scalar(&value, x.ty.dtype, span) else { return Ok(Val::Error) };
    let attrs = Attrs::from([("low", Attr::ints(&low)), ("high", Attr::ints(&high)), ("mode", Attr::Str(mode))]);
    Ok(cx.prim(&shape::PAD, &[&x, &v], attrs, span))
}

fn take<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("take", &["x", "indices", "axis"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let (i, i_span) = a.value(1)?;
    let axis = match a.opt_static(2)? {
        Some((s, s_span)) => int(cx, &s, s_span, "the axis")?.unwrap_or(0),
        None => 0,
    };
    if cx.axes(&[axis], &x.ty, span).is_none() {
        return Ok(Val::Error);
    }
    let idx = match i {
        Val::Tensor(t) if t.ty.dtype.is_int() => t,
        Val::Static(Static::List(items)) => {
            let values = ints(cx, &Static::List(items), i_span, "an index", 0)?;
            let ty = TensorType::of(&[values.len() as u64], DType::I64);
            let floats: Vec<f64> = values.iter().map(|&v| v as f64).collect();
            let dense = DenseAttr::from_f64s(ty, &floats).map_err(|e| (i_span, e))?;
            let loc = cx.loc(i_span);
            cx.emit.constant(dense, &loc).map_err(|e| (i_span, e))?
        }
        Val::Static(s) => match cx.scalar(&s, DType::I64, i_span) {
            Some(t) => t,
            None => return Ok(Val::Error),
        },
        other => return Err((i_span, format!("'take' picks with integer indices, got {}", other.describe()))),
    };
    Ok(cx.prim(&index::GATHER, &[&x, &idx], Attrs::from([("axis", Attr::Int(axis))]), span))
}

/// A per-spatial-axis attribute from an integer (the same on each axis) or a list.
fn spatial<E: Emit>(cx: &mut Checker<'_, E>, a: &mut Args<E::V>, i: usize, n: usize, default: i64) -> Result<Vec<i64>, Fail> {
    match a.opt_static(i)? {
        None => Ok(vec![default; n]),
        Some((s @ Static::List(_), s_span)) => {
            let v = ints(cx, &s, s_span, a.params[i], default)?;
            if v.len() != n {
                return Err((s_span, format!("'{}' needs {n} entries (one per spatial axis), got {}", a.params[i], v.len())));
            }
            Ok(v)
        }
        Some((s, s_span)) => Ok(vec![int(cx, &s, s_span, a.params[i])?.unwrap_or(default); n]),
    }
}

fn conv<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("conv", &["x", "w", "stride", "padding", "dilation", "groups"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let (w, _) = a.tensor(1)?;
    if x.ty.rank() < 3 || w.ty.rank() != x.ty.rank() {
        return Err((span, format!("'conv' takes an input [N, C, ...] and a weight [O, C/groups, ...] of the same rank, got {} and {}", show(&x.ty), show(&w.ty))));
    }
    let n = x.ty.rank() - 2;
    let strides = spatial(cx, &mut a, 2, n, 1)?;
    let padding = spatial(cx, &mut a, 3, n, 0)?;
    let dilations = spatial(cx, &mut a, 4, n, 1)?;
    let groups = match a.opt_static(5)? {
        Some((s, s_span)) => int(cx, &s, s_span, "groups")?.unwrap_or(1),
        None => 1,
    };
    let channels = (&x.ty.dims[1], &w.ty.dims[1]);
    if let (Dim::Known(c), Dim::Known(wc)) = channels {
        if groups > 0 && wc.checked_mul(groups as u64) != Some(*c) {
            return Err((span, format!("cannot convolve {} with {}: the input has {c} channels but the weight expects {wc} x {groups} group(s)", show(&x.ty), show(&w.ty))));
        }
    }
    let attrs = Attrs::from([
        ("strides", Attr::ints(&strides)),
        ("pad_low", Attr::ints(&padding)),
        ("pad_high", Attr::ints(&padding)),
        ("dilations", Attr::ints(&dilations)),
        ("groups", Attr::Int(groups)),
    ]);
    Ok(cx.prim(&linalg::CONV, &[&x, &w], attrs, span))
}

fn reduce_window<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("reduce_window", &["x", "kind", "window", "strides", "padding"], args, span)?;
    let (x, _) = a.tensor(0)?;
    let kind = match a.opt_static(1)? {
        Some((Static::Str(k), _)) if ["max", "min", "sum"].contains(&k.as_str()) => k,
        Some((s, s_span)) => return Err((s_span, format!("the kind of window reduction is \"max\", \"min\" or \"sum\", got {}", s.describe()))),
        None => return Err(a.missing(1)),
    };
    let r = x.ty.rank();
    if a.slots[2].is_none() {
        return Err(a.missing(2));
    }
    let window = spatial(cx, &mut a, 2, r, 1)?;
    let strides = spatial(cx, &mut a, 3, r, 1)?;
    let padding = spatial(cx, &mut a, 4, r, 0)?;
    let attrs = Attrs::from([
        ("kind", Attr::Str(kind)),
        ("window", Attr::ints(&window)),
        ("strides", Attr::ints(&strides)),
        ("pad_low", Attr::ints(&padding)),
        ("pad_high", Attr::ints(&padding)),
    ]);
    Ok(cx.prim(&window::REDUCE_WINDOW, &[&x], attrs, span))
}

fn arange<E: Emit>(cx: &mut Checker<'_, E>, args: Vec<ArgVal<E::V>>, span: Span) -> R<E::V> {
    let mut a = Args::bind("arange", &["n", "dtype"], args, span)?;
    let (n, n_span) = a.opt_static(0)?.ok_or_else(|| a.missing(0))?;
    let dim = n.to_dim().map_err(|e| (n_span, e))?;
    let dtype = match a.opt_static(1)? {
        None => DType::I64,
        Some((Static::DType(d), _)) => d,
        Some((s, s_span)) => return Err((s_span, format!("'arange' takes a dtype, got {}", s.describe()))),
    };
    let attrs = Attrs::from([("shape", Attr::shape(&[dim])), ("dtype", Attr::DType(dtype)), ("axis", Attr::Int(0))]);
    Ok(cx.prim(&shape::IOTA, &[], attrs, span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unary_builtin_has_a_primitive() {
        let unary = ["abs", "exp", "log", "sqrt", "rsqrt", "reciprocal", "tanh", "sigmoid", "erf", "sin", "cos", "tan", "floor", "ceil", "round", "sign"];
        for name in unary {
            assert!(is_builtin(name) && unary_def(name).is_some(), "{name}");
        }
        assert!(unary_def("relu").is_none() && !is_builtin("relu"));
    }
}
