//! Tensor dimensions: static sizes, named symbolic sizes and their
//! polynomial combinations, and the unknown size `?`.
//!
//! A symbolic dim is a polynomial over named symbols with integer
//! coefficients (`N`, `4*N`, `N + M`, `N*S - 1`), kept in a canonical form so
//! two dims are equal exactly when their polynomials are. The same symbol in
//! two places is the same size at run time: an input `tensor<N x 784 x f32>`
//! and an output `tensor<N x 10 x f32>` share their batch. Reshaping
//! `N x 4` to one axis gives `4*N`; concatenating `N` and `M` gives `N + M`.
//! What a polynomial cannot express (a floor division that does not divide
//! evenly, a data-dependent size) becomes `?`, which equals nothing, not
//! even another `?`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The name of a symbolic dimension (`N`, `batch`, `seq_len`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(Arc<str>);

impl Symbol {
    /// A symbol with the given name.
    pub fn new(name: &str) -> Symbol {
        Symbol(Arc::from(name))
    }

    /// The symbol's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A polynomial over symbols: monomial (a sorted list of symbols, repeated
/// for powers; the empty list is the constant term) to a non-zero coefficient.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SymExpr {
    terms: BTreeMap<Vec<Symbol>, i64>,
}

impl SymExpr {
    /// The constant polynomial `c`.
    pub fn constant(c: i64) -> SymExpr {
        let mut e = SymExpr::default();
        e.add_term(Vec::new(), c);
        e
    }

    /// The polynomial consisting of one symbol.
    pub fn symbol(s: Symbol) -> SymExpr {
        let mut e = SymExpr::default();
        e.add_term(vec![s], 1);
        e
    }

    fn add_term(&mut self, monomial: Vec<Symbol>, coeff: i64) {
        if coeff == 0 {
            return;
        }
        let slot = self.terms.entry(monomial).or_insert(0);
        *slot += coeff;
        if *slot == 0 {
            self.terms.retain(|_, c| *c != 0);
        }
    }

    /// The value when no symbol occurs.
    pub fn as_constant(&self) -> Option<i64> {
        match self.terms.len() {
            0 => Some(0),
            1 => self.terms.get(&Vec::new()).copied(),
            _ => None,
        }
    }

    /// Sum of two polynomials.
    pub fn add(&self, other: &SymExpr) -> SymExpr {
        let mut out = self.clone();
        for (m, c) in &other.terms {
            out.add_term(m.clone(), *c);
        }
        out
    }

    /// `self * k`.
    pub fn scale(&self, k: i64) -> SymExpr {
        let mut out = SymExpr::default();
        for (m, c) in &self.terms {
            out.add_term(m.clone(), c * k);
        }
        out
    }

    /// Product of two polynomials.
    pub fn mul(&self, other: &SymExpr) -> SymExpr {
        let mut out = SymExpr::default();
        for (ma, ca) in &self.terms {
            for (mb, cb) in &other.terms {
                let mut m = ma.clone();
                m.extend(mb.iter().cloned());
                m.sort();
                out.add_term(m, ca * cb);
            }
        }
        out
    }

    /// `self / k` when every coefficient is divisible by `k`.
    pub fn div_exact(&self, k: i64) -> Option<SymExpr> {
        if k == 0 || self.terms.values().any(|c| c % k != 0) {
            return None;
        }
        let mut out = SymExpr::default();
        for (m, c) in &self.terms {
            out.add_term(m.clone(), c / k);
        }
        Some(out)
    }

    /// `self / other` when `other` is a single monomial dividing every term.
    pub fn div_monomial(&self, other: &SymExpr) -> Option<SymExpr> {
        let (dm, dc) = match other.terms.iter().collect::<Vec<_>>().as_slice() {
            [(m, c)] => ((*m).clone(), **c),
            _ => return None,
        };
        let mut out = SymExpr::default();
        for (m, c) in &self.terms {
            let mut rest = m.clone();
            for s in &dm {
                let at = rest.iter().position(|r| r == s)?;
                rest.remove(at);
            }
            if c % dc != 0 {
                return None;
            }
            out.add_term(rest, c / dc);
        }
        Some(out)
    }

    /// The terms: each monomial (its symbols, repeated for powers; empty
    /// for the constant term) with its non-zero coefficient.
    pub fn terms(&self) -> impl Iterator<Item = (&[Symbol], i64)> {
        self.terms.iter().map(|(m, c)| (m.as_slice(), *c))
    }

    /// Every symbol occurring in the polynomial.
    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.terms.keys().flatten()
    }

    /// Replaces each symbol by a constant where `value` gives one.
    pub fn substitute(&self, value: &dyn Fn(&Symbol) -> Option<i64>) -> SymExpr {
        let mut out = SymExpr::default();
        for (m, c) in &self.terms {
            let mut coeff = *c;
            let mut rest = Vec::new();
            for s in m {
                match value(s) {
                    Some(v) => coeff *= v,
                    None => rest.push(s.clone()),
                }
            }
            out.add_term(rest, coeff);
        }
        out
    }
}

impl fmt::Display for SymExpr {
    /// Terms in descending degree, then by name: `N*M + 4*N - 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return f.write_str("0");
        }
        let mut terms: Vec<_> = self.terms.iter().collect();
        terms.sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        for (i, (m, c)) in terms.into_iter().enumerate() {
            let c = *c;
            let mag = c.unsigned_abs();
            if i == 0 {
                if c < 0 {
                    f.write_str("-")?;
                }
            } else {
                f.write_str(if c < 0 { " - " } else { " + " })?;
            }
            if m.is_empty() {
                write!(f, "{mag}")?;
                continue;
            }
            if mag != 1 {
                write!(f, "{mag}*")?;
            }
            let names: Vec<&str> = m.iter().map(Symbol::as_str).collect();
            f.write_str(&names.join("*"))?;
        }
        Ok(())
    }
}

impl fmt::Debug for SymExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One dimension of a tensor or buffer type.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A size known at compile time.
    Known(u64),
    /// A symbolic size; never a constant polynomial (that is `Known`).
    Sym(SymExpr),
    /// A size nobody can name (`?`); equal to no other dim.
    Unknown,
}

impl Dim {
    /// A symbolic dim named `name`.
    pub fn sym(name: &str) -> Dim {
        Dim::Sym(SymExpr::symbol(Symbol::new(name)))
    }

    /// Normalises a polynomial: constants become `Known`, negative constants `?`.
    pub fn from_expr(e: SymExpr) -> Dim {
        match e.as_constant() {
            Some(c) if c >= 0 => Dim::Known(c as u64),
            Some(_) => Dim::Unknown,
            None => Dim::Sym(e),
        }
    }

    /// The polynomial of a known or symbolic dim.
    pub fn expr(&self) -> Option<SymExpr> {
        match self {
            Dim::Known(n) => Some(SymExpr::constant(*n as i64)),
            Dim::Sym(e) => Some(e.clone()),
            Dim::Unknown => None,
        }
    }

    /// The symbol this dim consists of, when it is exactly one symbol
    /// (`N`, not `4*N` or `N + M`): the dims that bind symbols from shapes.
    pub fn as_symbol(&self) -> Option<Symbol> {
        let Dim::Sym(e) = self else { return None };
        let first = e.symbols().next()?.clone();
        (*e == SymExpr::symbol(first.clone())).then_some(first)
    }

    /// The static size, if known.
    pub fn known(&self) -> Option<u64> {
        match self {
            Dim::Known(n) => Some(*n),
            _ => None,
        }
    }

    /// Whether two dims are provably the same size (`?` never is).
    pub fn same(&self, other: &Dim) -> bool {
        !matches!(self, Dim::Unknown) && self == other
    }

    /// `self + other`.
    pub fn add(&self, other: &Dim) -> Dim {
        self.combine(other, |a, b| a.add(b))
    }

    /// `self - other`.
    pub fn sub(&self, other: &Dim) -> Dim {
        self.combine(other, |a, b| a.add(&b.scale(-1)))
    }

    /// `self * other`.
    pub fn mul(&self, other: &Dim) -> Dim {
        if self.known() == Some(0) || other.known() == Some(0) {
            return Dim::Known(0);
        }
        self.combine(other, |a, b| a.mul(b))
    }

    /// `self + k` for a possibly negative constant.
    pub fn add_const(&self, k: i64) -> Dim {
        match self.expr() {
            Some(e) => Dim::from_expr(e.add(&SymExpr::constant(k))),
            None => Dim::Unknown,
        }
    }

    /// `floor(self / k)` for `k > 0`; `?` when a symbolic dim does not divide evenly.
    pub fn floor_div(&self, k: u64) -> Dim {
        match self {
            Dim::Known(n) if k > 0 => Dim::Known(n / k),
            Dim::Sym(e) if k > 0 => e.div_exact(k as i64).map(Dim::from_expr).unwrap_or(Dim::Unknown),
            _ => Dim::Unknown,
        }
    }

    /// `self / other` when it divides exactly (statically or symbolically).
    pub fn div_exact(&self, other: &Dim) -> Option<Dim> {
        let (a, b) = (self.expr()?, other.expr()?);
        let q = match b.as_constant() {
            Some(0) => return None,
            Some(k) => a.div_exact(k)?,
            None => a.div_monomial(&b)?,
        };
        Some(Dim::from_expr(q))
    }

    fn combine(&self, other: &Dim, f: impl Fn(&SymExpr, &SymExpr) -> SymExpr) -> Dim {
        match (self.expr(), other.expr()) {
            (Some(a), Some(b)) => Dim::from_expr(f(&a, &b)),
            _ => Dim::Unknown,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(n) => write!(f, "{n}"),
            Dim::Sym(e) => write!(f, "{e}"),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

impl fmt::Debug for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<u64> for Dim {
    fn from(n: u64) -> Dim {
        Dim::Known(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_arithmetic_is_canonical() {
        let n = Dim::sym("N");
        let m = Dim::sym("M");
        assert_eq!(n.mul(&Dim::Known(4)).to_string(), "4*N");
        assert_eq!(n.add(&m), m.add(&n));
        assert_eq!(n.add(&m).to_string(), "M + N");
        assert_eq!(n.mul(&m).add_const(-1).to_string(), "M*N - 1");
        assert_eq!(n.sub(&n), Dim::Known(0));
        assert_eq!(n.mul(&Dim::Known(4)).div_exact(&Dim::Known(2)), Some(n.mul(&Dim::Known(2))));
        assert_eq!(n.mul(&m).div_exact(&m), Some(n.clone()));
        assert_eq!(n.div_exact(&Dim::Known(2)), None);
        assert_eq!(n.floor_div(2), Dim::Unknown);
        assert!(!Dim::Unknown.same(&Dim::Unknown));
        assert_eq!(n.as_symbol().map(|s| s.as_str().to_string()), Some("N".to_string()));
        assert!(n.mul(&Dim::Known(4)).as_symbol().is_none());
        assert!(n.add(&m).as_symbol().is_none());
    }
}
