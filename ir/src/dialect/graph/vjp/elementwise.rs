//! Gradient rules of the elementwise ops: each unary rule gives the local
//! derivative `dy/dx` (multiplied by the cotangent here); binary rules give
//! both partials at the broadcast shape, summed back to each operand's shape.

use super::super::elementwise as ew;
use crate::attr::{Attr, Attrs};
use crate::diag::Diag;
use crate::id::ValueId;
use crate::vjp::{Grads, VjpCx};

/// `g * f(x, y)` for a unary op with operand `x` and result `y`.
fn unary(cx: &mut VjpCx, f: impl FnOnce(&mut VjpCx, ValueId, ValueId) -> Result<ValueId, Diag>) -> Result<Grads, Diag> {
    if !cx.wants(0) {
        return Ok(vec![None]);
    }
    let (x, y, g) = (cx.operand(0), cx.result(0), cx.cot(0)?);
    let d = f(cx, x, y)?;
    Ok(vec![Some(cx.mul(g, d)?)])
}

/// `x * x`.
fn square(cx: &mut VjpCx, x: ValueId) -> Result<ValueId, Diag> {
    cx.mul(x, x)
}

/// `-x`: `-g`.
pub fn neg(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| cx.apply(&ew::NEG, g))
}

/// `|x|`: `g * sign(x)`.
pub fn abs(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| cx.apply(&ew::SIGN, x))
}

/// `e^x`: `g * y`.
pub fn exp(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |_, _, y| Ok(y))
}

/// `ln x`: `g / x`.
pub fn log(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| cx.apply(&ew::RECIPROCAL, x))
}

/// `sqrt x`: `g / (2 y)`.
pub fn sqrt(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, _, y| {
        let r = cx.apply(&ew::RECIPROCAL, y)?;
        cx.scale(r, 0.5)
    })
}

/// `1 / sqrt x`: `g * -y^3 / 2`.
pub fn rsqrt(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, _, y| {
        let y2 = square(cx, y)?;
        let y3 = cx.mul(y2, y)?;
        cx.scale(y3, -0.5)
    })
}

/// `1 / x`: `g * -y^2`.
pub fn reciprocal(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, _, y| {
        let y2 = square(cx, y)?;
        cx.apply(&ew::NEG, y2)
    })
}

/// `tanh x`: `g * (1 - y^2)`.
pub fn tanh(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, _, y| {
        let y2 = square(cx, y)?;
        cx.rsub(1.0, y2)
    })
}

/// `sigmoid x`: `g * y * (1 - y)`.
pub fn sigmoid(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, _, y| {
        let rest = cx.rsub(1.0, y)?;
        cx.mul(y, rest)
    })
}

/// `erf x`: `g * 2 / sqrt(pi) * e^(-x^2)`.
pub fn erf(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| {
        let x2 = square(cx, x)?;
        let minus = cx.apply(&ew::NEG, x2)?;
        let e = cx.apply(&ew::EXP, minus)?;
        cx.scale(e, std::f64::consts::FRAC_2_SQRT_PI)
    })
}

/// `sin x`: `g * cos x`.
pub fn sin(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| cx.apply(&ew::COS, x))
}

/// `cos x`: `g * -sin x`.
pub fn cos(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| {
        let s = cx.apply(&ew::SIN, x)?;
        cx.apply(&ew::NEG, s)
    })
}

/// `tan x`: `g * (1 + y^2)`.
pub fn tan(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, _, y| {
        let y2 = square(cx, y)?;
        let one = cx.constant_like(y, 1.0)?;
        cx.add(one, y2)
    })
}

/// `1 / sqrt(1 - x^2)`, shared by `asin` and `acos`.
fn arc_sine_slope(cx: &mut VjpCx, x: ValueId) -> Result<ValueId, Diag> {
    let x2 = square(cx, x)?;
    let rest = cx.rsub(1.0, x2)?;
    cx.apply(&ew::RSQRT, rest)
}

/// `asin x`: `g / sqrt(1 - x^2)`.
pub fn asin(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| arc_sine_slope(cx, x))
}

/// `acos x`: `-g / sqrt(1 - x^2)`.
pub fn acos(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| {
        let s = arc_sine_slope(cx, x)?;
        cx.apply(&ew::NEG, s)
    })
}

/// `atan x`: `g / (1 + x^2)`.
pub fn atan(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| {
        let x2 = square(cx, x)?;
        let one = cx.constant_like(x, 1.0)?;
        let den = cx.add(one, x2)?;
        cx.apply(&ew::RECIPROCAL, den)
    })
}

/// `sinh x`: `g * cosh x`.
pub fn sinh(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| cx.apply(&ew::COSH, x))
}

/// `cosh x`: `g * sinh x`.
pub fn cosh(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| cx.apply(&ew::SINH, x))
}

/// `asinh x`: `g / sqrt(x^2 + 1)`.
pub fn asinh(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| {
        let x2 = square(cx, x)?;
        let one = cx.constant_like(x, 1.0)?;
        let s = cx.add(x2, one)?;
        cx.apply(&ew::RSQRT, s)
    })
}

/// `acosh x`: `g / sqrt(x^2 - 1)`.
pub fn acosh(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| {
        let x2 = square(cx, x)?;
        let one = cx.constant_like(x, 1.0)?;
        let s = cx.sub(x2, one)?;
        cx.apply(&ew::RSQRT, s)
    })
}

/// `atanh x`: `g / (1 - x^2)`.
pub fn atanh(cx: &mut VjpCx) -> Result<Grads, Diag> {
    unary(cx, |cx, x, _| {
        let x2 = square(cx, x)?;
        let den = cx.rsub(1.0, x2)?;
        cx.apply(&ew::RECIPROCAL, den)
    })
}

/// Piecewise-constant ops (`floor`, `ceil`, `round`, `sign`): a zero gradient.
pub fn zero(cx: &mut VjpCx) -> Result<Grads, Diag> {
    Ok(vec![None; cx.num_operands()])
}

/// Both partials of a binary op, computed at the broadcast shape from
/// `(a, b, y, g)`, then summed back to each operand's shape.
fn binary(
    cx: &mut VjpCx,
    f: impl FnOnce(&mut VjpCx, [ValueId; 4]) -> Result<(Option<ValueId>, Option<ValueId>), Diag>,
) -> Result<Grads, Diag> {
    if !cx.wants(0) && !cx.wants(1) {
        return Ok(vec![None, None]);
    }
    let values = [cx.operand(0), cx.operand(1), cx.result(0), cx.cot(0)?];
    let (ga, gb) = f(cx, values)?;
    let ga = match ga {
        Some(v) => cx.grad_for(0, v)?,
        None => None,
    };
    let gb = match gb {
        Some(v) => cx.grad_for(1, v)?,
        None => None,
    };
    Ok(vec![ga, gb])
}

/// `a + b`: `(g, g)`.
pub fn add(cx: &mut VjpCx) -> Result<Grads, Diag> {
    binary(cx, |_, [.., g]| Ok((Some(g), Some(g))))
}

/// `a - b`: `(g, -g)`.
pub fn sub(cx: &mut VjpCx) -> Result<Grads, Diag> {
    binary(cx, |cx, [.., g]| {
        let gb = if cx.wants(1) { Some(cx.apply(&ew::NEG, g)?) } else { None };
        Ok((Some(g), gb))
    })
}

/// `a * b`: `(g b, g a)`.
pub fn mul(cx: &mut VjpCx) -> Result<Grads, Diag> {
    binary(cx, |cx, [a, b, _, g]| {
        let ga = if cx.wants(0) { Some(cx.mul(g, b)?) } else { None };
        let gb = if cx.wants(1) { Some(cx.mul(g, a)?) } else { None };
        Ok((ga, gb))
    })
}

/// `a / b`: `(g / b, -g y / b)`.
pub fn div(cx: &mut VjpCx) -> Result<Grads, Diag> {
    binary(cx, |cx, [_, b, y, g]| {
        let ga = cx.div(g, b)?;
        let gb = if cx.wants(1) {
            let gy = cx.mul(ga, y)?;
            Some(cx.apply(&ew::NEG, gy)?)
        } else {
            None
        };
        Ok((Some(ga), gb))
    })
}

/// `a ^ b`: `(g b a^(b-1), g y ln a)`, the latter 0 where `a = 0`.
pub fn pow(cx: &mut VjpCx) -> Result<Grads, Diag> {
    binary(cx, |cx, [a, b, y, g]| {
        let ga = if cx.wants(0) {
            let one = cx.constant_like(b, 1.0)?;
            let bm1 = cx.sub(b, one)?;
            let p = cx.b.binary(&ew::POW, a, bm1)?;
            let bp = cx.mul(b, p)?;
            Some(cx.mul(g, bp)?)
        } else {
            None
        };
        let gb = if cx.wants(1) {
            let ln = cx.apply(&ew::LOG, a)?;
            let gy = cx.mul(g, y)?;
            let full = cx.mul(gy, ln)?;
            let zero = cx.constant_like(a, 0.0)?;
            let at_zero = cx.b.binary(&ew::EQ, a, zero)?;
            Some(cx.b.op(&ew::SELECT, &[at_zero, zero, full], Attrs::new())?)
        } else {
            None
        };
        Ok((ga, gb))
    })
}

/// `max`/`min`: the cotangent goes to the operand `pick` prefers, split
/// evenly on ties (as PyTorch's `maximum` and `minimum`).
fn extremum(cx: &mut VjpCx, pick: &'static ew::Binary) -> Result<Grads, Diag> {
    binary(cx, |cx, [a, b, _, g]| {
        let zero = cx.constant_like(g, 0.0)?;
        let wins = cx.b.binary(pick, a, b)?;
        let ties = cx.b.binary(&ew::EQ, a, b)?;
        let half = cx.scale(g, 0.5)?;
        let tied = cx.b.op(&ew::SELECT, &[ties, half, zero], Attrs::new())?;
        let ga = cx.b.op(&ew::SELECT, &[wins, g, tied], Attrs::new())?;
        let gb = if cx.wants(1) { Some(cx.sub(g, ga)?) } else { None };
        Ok((Some(ga), gb))
    })
}

/// `max(a, b)`.
pub fn max(cx: &mut VjpCx) -> Result<Grads, Diag> {
    extremum(cx, &ew::GT)
}

/// `min(a, b)`.
pub fn min(cx: &mut VjpCx) -> Result<Grads, Diag> {
    extremum(cx, &ew::LT)
}

/// `a - q b` with `q = a / b` truncated (`rem`) or floored (`mod`): `(g, -g q)`.
fn remainder(cx: &mut VjpCx, truncate: bool) -> Result<Grads, Diag> {
    binary(cx, |cx, [a, b, _, g]| {
        let gb = if cx.wants(1) {
            let q = cx.div(a, b)?;
            let q = if truncate {
                let s = cx.apply(&ew::SIGN, q)?;
                let m = cx.apply(&ew::ABS, q)?;
                let f = cx.apply(&ew::FLOOR, m)?;
                cx.mul(s, f)?
            } else {
                cx.apply(&ew::FLOOR, q)?
            };
            let gq = cx.mul(g, q)?;
            Some(cx.apply(&ew::NEG, gq)?)
        } else {
            None
        };
        Ok((Some(g), gb))
    })
}

/// `fmod(a, b)`.
pub fn rem(cx: &mut VjpCx) -> Result<Grads, Diag> {
    remainder(cx, true)
}

/// `a mod b` (the divisor's sign).
pub fn modulo(cx: &mut VjpCx) -> Result<Grads, Diag> {
    remainder(cx, false)
}

/// `atan2(a, b)`: `(g b / (a^2 + b^2), -g a / (a^2 + b^2))`.
pub fn atan2(cx: &mut VjpCx) -> Result<Grads, Diag> {
    binary(cx, |cx, [a, b, _, g]| {
        let (a2, b2) = (square(cx, a)?, square(cx, b)?);
        let r2 = cx.add(a2, b2)?;
        let s = cx.div(g, r2)?;
        let ga = cx.mul(s, b)?;
        let sa = cx.mul(s, a)?;
        let gb = cx.apply(&ew::NEG, sa)?;
        Ok((Some(ga), Some(gb)))
    })
}

/// `select(c, a, b)`: the cotangent where `c` holds goes to `a`, elsewhere to `b`.
pub fn select(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let g = cx.cot(0)?;
    let c = cx.operand(0);
    let zero = cx.constant_like(g, 0.0)?;
    let mut grads = vec![None; 3];
    if cx.wants(1) {
        let ga = cx.b.op(&ew::SELECT, &[c, g, zero], Attrs::new())?;
        grads[1] = cx.grad_for(1, ga)?;
    }
    if cx.wants(2) {
        let gb = cx.b.op(&ew::SELECT, &[c, zero, g], Attrs::new())?;
        grads[2] = cx.grad_for(2, gb)?;
    }
    Ok(grads)
}

/// `cast`: the cotangent cast back to the operand's dtype (only float
/// operands want one).
pub fn cast(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let to = cx.dtype(cx.operand(0))?;
        cx.b.op(&ew::CAST, &[g], Attrs::from([("to", Attr::DType(to))]))
    })
}
