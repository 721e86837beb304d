//! Compile-time values (numbers, sizes, lists, dtypes, strings) and their
//! arithmetic, which the checker folds as it goes; and how `.tsr` spells
//! types in diagnostics (`f32[N, 256]`).
//!
//! Integers and symbolic sizes share one arithmetic: both are polynomials
//! over dim symbols ([`SymExpr`]), so `D / heads` is the integer 16 when
//! `D = 64` and `heads = 4`, and `N * S` is the size `N*S`. `/` between
//! integers is exact when it divides evenly and a float otherwise (as in
//! Python); a symbolic size must divide exactly.

use super::ast::BinOp;
use tessera_ir::attr::Scalar;
use tessera_ir::{DType, Dim, SymExpr, TensorType};

/// The largest size (or size coefficient) a program may name, so that
/// size arithmetic, element counts included, stays far from overflow.
pub const MAX_SIZE: u128 = 1 << 40;

/// The bound on any polynomial the checker builds (below `i64::MAX`).
const MAX_POLY: u128 = 1 << 62;

/// A value known while compiling.
#[derive(Clone, Debug, PartialEq)]
pub enum Static {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// A symbolic size such as `N` or `4*N` (never a constant: that is `Int`).
    Size(SymExpr),
    /// A string (`"max"`).
    Str(String),
    /// A dtype named in an expression (`cast(x, f16)`).
    DType(DType),
    /// `[a, b, c]`.
    List(Vec<Static>),
    /// A compile-time value not known yet: a parameter of a function
    /// checked on its own, before any call gives it a value.
    Unknown,
}

impl Static {
    /// The value of a dim: an integer, a size, or unknown.
    pub fn from_dim(d: &Dim) -> Static {
        match d {
            Dim::Known(n) => i64::try_from(*n).map(Static::Int).unwrap_or(Static::Unknown),
            Dim::Sym(e) => Static::Size(e.clone()),
            Dim::Unknown => Static::Unknown,
        }
    }

    /// The value as a polynomial, for integers and sizes.
    pub fn poly(&self) -> Option<SymExpr> {
        match self {
            Static::Int(v) => Some(SymExpr::constant(*v)),
            Static::Size(e) => Some(e.clone()),
            _ => None,
        }
    }

    /// An integer or a size from a polynomial.
    pub fn from_poly(e: SymExpr) -> Static {
        match e.as_constant() {
            Some(c) => Static::Int(c),
            None => Static::Size(e),
        }
    }

    /// The value as a dim (`?` for an unknown value).
    pub fn to_dim(&self) -> Result<Dim, String> {
        let too_large = || format!("{} is too large for a size (at most {MAX_SIZE})", self.describe());
        match self {
            Static::Int(v) if *v as u128 > MAX_SIZE => Err(too_large()),
            Static::Int(v) if *v >= 0 => Ok(Dim::Known(*v as u64)),
            Static::Int(v) => Err(format!("a size cannot be negative, got {v}")),
            Static::Size(e) if magnitude(e) > MAX_SIZE => Err(too_large()),
            Static::Size(e) => Ok(Dim::from_expr(e.clone())),
            Static::Unknown => Ok(Dim::Unknown),
            other => Err(format!("a size must be an integer, got {}", other.describe())),
        }
    }

    /// The value as a float, for numbers.
    pub fn number(&self) -> Option<f64> {
        match self {
            Static::Int(v) => Some(*v as f64),
            Static::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// A phrase naming the value for diagnostics: `the integer 3`, `the size N`.
    pub fn describe(&self) -> String {
        match self {
            Static::Int(v) => format!("the integer {v}"),
            Static::Float(v) => format!("the float {v}"),
            Static::Bool(b) => format!("the bool {b}"),
            Static::Size(e) => format!("the size {e}"),
            Static::Str(s) => format!("the string {s:?}"),
            Static::DType(d) => format!("the dtype {}", dtype_name(*d)),
            Static::List(items) => format!("a list of {} value(s)", items.len()),
            Static::Unknown => "a compile-time value".to_string(),
        }
    }

    /// The element of a rank-0 constant of `dtype` holding this number.
    pub fn scalar(&self, dtype: DType) -> Result<Scalar, String> {
        let mismatch = || format!("{} is not a value of dtype {}", self.describe(), dtype_name(dtype));
        match (self, dtype) {
            (Static::Bool(b), DType::I1) => Ok(Scalar::Bool(*b)),
            (Static::Int(v), d) if d.is_float() => Ok(Scalar::from_f64(d, *v as f64)),
            (Static::Float(v), d) if d.is_float() => Ok(Scalar::from_f64(d, *v)),
            (Static::Int(v), d) if d.is_signed_int() => Ok(Scalar::Int(d, *v)),
            (Static::Int(v), d) if d.is_int() && *v >= 0 => Ok(Scalar::UInt(d, *v as u64)),
            (Static::Unknown, d) => Ok(Scalar::from_f64(d, 0.0)),
            _ => Err(mismatch()),
        }
    }
}

/// Folds `a op b` for compile-time operands.
pub fn fold(op: BinOp, a: &Static, b: &Static) -> Result<Static, String> {
    use Static::*;
    let cannot = || format!("cannot {} {} and {}", op.verb(), a.describe(), b.describe());
    if matches!(a, Unknown) || matches!(b, Unknown) {
        return Ok(Unknown);
    }
    match (op, a, b) {
        (BinOp::And, Bool(x), Bool(y)) => return Ok(Bool(*x && *y)),
        (BinOp::Or, Bool(x), Bool(y)) => return Ok(Bool(*x || *y)),
        (BinOp::Eq, Bool(x), Bool(y)) => return Ok(Bool(x == y)),
        (BinOp::Ne, Bool(x), Bool(y)) => return Ok(Bool(x != y)),
        (BinOp::Eq, Str(x), Str(y)) => return Ok(Bool(x == y)),
        (BinOp::Ne, Str(x), Str(y)) => return Ok(Bool(x != y)),
        (BinOp::Add, List(x), List(y)) => return Ok(List([x.as_slice(), y].concat())),
        (BinOp::Mul, List(x), Int(n)) | (BinOp::Mul, Int(n), List(x)) => {
            let n = usize::try_from(*n).map_err(|_| format!("cannot repeat a list {n} times"))?;
            if x.len().saturating_mul(n) > 1 << 20 {
                return Err(format!("repeating a list of {} value(s) {n} times makes it too long", x.len()));
            }
            return Ok(List(x.iter().cloned().cycle().take(x.len() * n).collect()));
        }
        _ => {}
    }
    if let (Int(x), Int(y)) = (a, b) {
        return fold_ints(op, *x, *y).ok_or_else(cannot)?;
    }
    if let (Some(pa), Some(pb)) = (a.poly(), b.poly()) {
        return fold_sizes(op, a, b, pa, pb).ok_or_else(cannot)?;
    }
    if let (Some(x), Some(y)) = (a.number(), b.number()) {
        return fold_floats(op, x, y).ok_or_else(cannot);
    }
    Err(cannot())
}

fn fold_ints(op: BinOp, x: i64, y: i64) -> Option<Result<Static, String>> {
    let overflow = || Err(format!("{x} {} {y} overflows 64 bits", op.symbol()));
    let checked = |r: Option<i64>| Some(r.map(Static::Int).map_or_else(overflow, Ok));
    match op {
        BinOp::Add => checked(x.checked_add(y)),
        BinOp::Sub => checked(x.checked_sub(y)),
        BinOp::Mul => checked(x.checked_mul(y)),
        BinOp::Div if y == 0 => Some(Err("division by zero".into())),
        BinOp::Div if x.checked_rem(y) == Some(0) => checked(x.checked_div(y)),
        BinOp::Div => Some(Ok(Static::Float(x as f64 / y as f64))),
        BinOp::Mod if y == 0 => Some(Err("remainder by zero".into())),
        BinOp::Mod => checked(x.checked_rem(y).map(|r| if r != 0 && (r < 0) != (y < 0) { r + y } else { r })),
        BinOp::Pow if y >= 0 => checked(u32::try_from(y).ok().and_then(|e| x.checked_pow(e))),
        BinOp::Pow => Some(Ok(Static::Float((x as f64).powf(y as f64)))),
        _ => fold_floats(op, x as f64, y as f64).map(Ok),
    }
}

fn fold_sizes(op: BinOp, a: &Static, b: &Static, pa: SymExpr, pb: SymExpr) -> Option<Result<Static, String>> {
    let (ma, mb) = (magnitude(&pa), magnitude(&pb));
    let grows = match op {
        BinOp::Add | BinOp::Sub => ma.saturating_add(mb),
        BinOp::Mul => ma.saturating_mul(mb),
        _ => 0,
    };
    if grows >= MAX_POLY {
        return Some(Err(format!("{} {} {} is too large a size", a.describe(), op.symbol(), b.describe())));
    }
    Some(Ok(match op {
        BinOp::Add => Static::from_poly(pa.add(&pb)),
        BinOp::Sub => Static::from_poly(pa.add(&pb.scale(-1))),
        BinOp::Mul => Static::from_poly(pa.mul(&pb)),
        BinOp::Div => {
            let q = match pb.as_constant() {
                Some(0) => return Some(Err("division by zero".into())),
                Some(k) => pa.div_exact(k),
                None => pa.div_monomial(&pb),
            };
            match q {
                Some(q) => Static::from_poly(q),
                None => {
                    return Some(Err(format!(
                        "{} is not divisible by {}: a size must divide exactly",
                        a.describe(),
                        b.describe()
                    )))
                }
            }
        }
        BinOp::Eq if pa == pb => Static::Bool(true),
        BinOp::Ne if pa == pb => Static::Bool(false),
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            return Some(Err(format!(
                "cannot decide whether {} {} {} while compiling: the comparison depends on input sizes",
                a.describe(),
                op.symbol(),
                b.describe()
            )))
        }
        _ => return None,
    }))
}

fn fold_floats(op: BinOp, x: f64, y: f64) -> Option<Static> {
    Some(match op {
        BinOp::Add => Static::Float(x + y),
        BinOp::Sub => Static::Float(x - y),
        BinOp::Mul => Static::Float(x * y),
        BinOp::Div => Static::Float(x / y),
        BinOp::Mod => Static::Float(x - y * (x / y).floor()),
        BinOp::Pow => Static::Float(x.powf(y)),
        BinOp::Eq => Static::Bool(x == y),
        BinOp::Ne => Static::Bool(x != y),
        BinOp::Lt => Static::Bool(x < y),
        BinOp::Le => Static::Bool(x <= y),
        BinOp::Gt => Static::Bool(x > y),
        BinOp::Ge => Static::Bool(x >= y),
        BinOp::MatMul | BinOp::And | BinOp::Or => return None,
    })
}

/// The sum of the magnitudes of a polynomial's coefficients: a bound on
/// every coefficient, and on the value when each symbol is at most 1.
pub fn magnitude(e: &SymExpr) -> u128 {
    // The canonical text is `4*N*S - 2*N + 7`: the coefficient, if any, leads each term.
    let text = e.to_string().replace(" - ", " + ");
    text.split(" + ")
        .map(|term| match term.trim_start_matches('-').split('*').next() {
            Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => f.parse::<u128>().unwrap_or(u128::MAX),
            _ => 1,
        })
        .fold(0u128, u128::saturating_add)
}

/// The product of dims (an element count), or an error when it could overflow.
pub fn dim_product(dims: &[Dim]) -> Result<Dim, String> {
    let mut bound: u128 = 1;
    for d in dims {
        bound = bound.saturating_mul(d.expr().map_or(1, |e| magnitude(&e)));
    }
    if bound >= MAX_POLY {
        return Err(format!("{} has too many elements", tessera_ir::infer::show_dims(dims)));
    }
    Ok(dims.iter().fold(Dim::Known(1), |acc, d| acc.mul(d)))
}

/// How `.tsr` spells a dtype (`bool` for `i1`).
pub fn dtype_name(d: DType) -> String {
    match d {
        DType::I1 => "bool".to_string(),
        d => d.to_string(),
    }
}

/// How `.tsr` spells a tensor type: `f32[N, 256]`, `f32[]` for rank 0.
pub fn show(t: &TensorType) -> String {
    let dims: Vec<String> = t.dims.iter().map(Dim::to_string).collect();
    format!("{}[{}]", dtype_name(t.dtype), dims.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_ir::Symbol;

    fn size(name: &str) -> Static {
        Static::Size(SymExpr::symbol(Symbol::new(name)))
    }

    #[test]
    fn integers_and_sizes_share_polynomial_arithmetic() {
        assert_eq!(fold(BinOp::Div, &Static::Int(64), &Static::Int(4)), Ok(Static::Int(16)));
        assert_eq!(fold(BinOp::Div, &Static::Int(7), &Static::Int(2)), Ok(Static::Float(3.5)));
        assert_eq!(fold(BinOp::Mod, &Static::Int(-7), &Static::Int(3)), Ok(Static::Int(2)));
        let n4 = fold(BinOp::Mul, &size("N"), &Static::Int(4)).unwrap();
        assert_eq!(n4.to_dim().unwrap().to_string(), "4*N");
        assert_eq!(fold(BinOp::Div, &n4, &Static::Int(2)).unwrap().to_dim().unwrap().to_string(), "2*N");
        assert_eq!(fold(BinOp::Sub, &n4, &n4), Ok(Static::Int(0)));
        let err = fold(BinOp::Div, &size("N"), &Static::Int(2)).unwrap_err();
        assert!(err.contains("is not divisible"), "{err}");
        assert!(fold(BinOp::Lt, &size("N"), &Static::Int(2)).is_err());
        assert_eq!(fold(BinOp::Eq, &size("N"), &size("N")), Ok(Static::Bool(true)));
    }

    #[test]
    fn lists_floats_and_overflow() {
        let l = Static::List(vec![Static::Int(1)]);
        assert_eq!(fold(BinOp::Mul, &l, &Static::Int(3)), Ok(Static::List(vec![Static::Int(1); 3])));
        assert_eq!(fold(BinOp::Add, &l, &l), Ok(Static::List(vec![Static::Int(1); 2])));
        assert_eq!(fold(BinOp::Mul, &Static::Float(0.5), &Static::Int(3)), Ok(Static::Float(1.5)));
        assert!(fold(BinOp::Mul, &Static::Int(i64::MAX), &Static::Int(2)).unwrap_err().contains("overflows"));
        assert!(fold(BinOp::Add, &Static::Str("a".into()), &Static::Int(1)).is_err());
        assert_eq!(fold(BinOp::Add, &Static::Unknown, &Static::Int(1)), Ok(Static::Unknown));
    }

    #[test]
    fn sizes_stay_far_from_overflow() {
        let n = size("N");
        let big = Static::Int(1 << 40);
        let mut x = n.clone();
        let mut failed = false;
        for _ in 0..4 {
            match fold(BinOp::Mul, &x, &big) {
                Ok(v) => x = v,
                Err(e) => {
                    assert!(e.contains("too large"), "{e}");
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed);
        assert!(Static::Int(1 << 41).to_dim().is_err());
        let poly = fold(BinOp::Sub, &fold(BinOp::Mul, &n, &Static::Int(4)).unwrap(), &Static::Int(7)).unwrap();
        assert_eq!(poly.poly().map(|p| magnitude(&p)), Some(11));
        let huge = vec![Dim::Known(1 << 40); 2];
        assert!(dim_product(&huge).unwrap_err().contains("too many elements"));
        assert_eq!(dim_product(&[Dim::Known(3), Dim::sym("N")]).unwrap().to_string(), "3*N");
        assert!(matches!(fold(BinOp::Div, &Static::Int(i64::MIN), &Static::Int(-1)), Ok(Static::Float(_))));
    }

    #[test]
    fn types_print_in_tsr_syntax() {
        let t = TensorType::new(vec![Dim::sym("N"), Dim::Known(256)], DType::F32);
        assert_eq!(show(&t), "f32[N, 256]");
        assert_eq!(show(&TensorType::scalar(DType::I1)), "bool[]");
    }
}
