//! Parsing of the value-level syntax: types, dims, attributes and dense
//! constants.

use super::cursor::{Cursor, Number};
use crate::attr::{Attr, DenseAttr, Scalar};
use crate::diag::Diag;
use crate::dim::{Dim, SymExpr, Symbol};
use crate::dtype::DType;
use crate::types::{TensorType, Type};
use std::collections::HashMap;
use std::sync::Arc;

/// Words that cannot name a symbolic dim.
fn is_reserved(word: &str) -> bool {
    DType::from_name(word).is_some() || matches!(word, "x" | "true" | "false" | "inf" | "nan")
}

/// Blobs of the trailing `resources` section, by key.
pub type Resources = HashMap<String, Arc<[u8]>>;

/// Parses a type: `tensor<...>`, `buffer<...>`, `index`, or a dtype.
pub fn parse_type(c: &mut Cursor) -> Result<Type, Diag> {
    c.skip_ws();
    let start = c.loc();
    let word = c.word(false).ok_or_else(|| c.error(format!("expected a type, found {}", c.describe_next())))?;
    match word {
        "tensor" => Ok(Type::Tensor(shaped_body(c)?)),
        "buffer" => Ok(Type::Buffer(shaped_body(c)?)),
        "index" => Ok(Type::Index),
        w => DType::from_name(w).map(Type::Scalar).ok_or_else(|| Diag::error(start, format!("unknown type '{w}'"))),
    }
}

/// Parses `<dim x dim x dtype>` (compact `2x3xf32` or spaced `N x 3 x f32`).
fn shaped_body(c: &mut Cursor) -> Result<TensorType, Diag> {
    if c.peek() != Some('<') {
        return Err(c.error("expected '<' after the type name"));
    }
    c.bump();
    let mut dims = Vec::new();
    loop {
        c.skip_ws();
        let here = c.loc();
        if c.peek().is_some_and(|ch| ch.is_ascii_alphabetic()) {
            let probe: String = c.rest().chars().take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_').collect();
            if let Some(dtype) = DType::from_name(&probe) {
                c.word(false);
                c.skip_ws();
                if c.peek() != Some('>') {
                    return Err(c.error(format!("expected '>' after the dtype, found {}", c.describe_next())));
                }
                c.bump();
                return Ok(TensorType::new(dims, dtype));
            }
        }
        let dim = if c.peek() == Some('?') {
            c.bump();
            Dim::Unknown
        } else {
            let e = dim_expr(c)?;
            let d = Dim::from_expr(e.clone());
            if matches!(d, Dim::Unknown) {
                return Err(Diag::error(here, format!("dimension {e} is negative")));
            }
            d
        };
        dims.push(dim);
        c.skip_ws();
        if c.peek() != Some('x') {
            return Err(c.error(format!("expected 'x' between dimensions, found {}", c.describe_next())));
        }
        c.bump();
    }
}

/// Parses a polynomial dim expression: `4*N + M - 1`, `(N + 1)*2`.
pub fn dim_expr(c: &mut Cursor) -> Result<SymExpr, Diag> {
    let mut acc = dim_term(c)?;
    loop {
        c.skip_inline_ws();
        let sign = match c.peek() {
            Some('+') => 1,
            Some('-') if c.peek2().is_none_or(|ch| ch != '>') => -1,
            _ => return Ok(acc),
        };
        c.bump();
        c.skip_ws();
        acc = acc.add(&dim_term(c)?.scale(sign));
    }
}

fn dim_term(c: &mut Cursor) -> Result<SymExpr, Diag> {
    let mut acc = dim_factor(c)?;
    loop {
        c.skip_inline_ws();
        if c.peek() != Some('*') {
            return Ok(acc);
        }
        c.bump();
        c.skip_ws();
        acc = acc.mul(&dim_factor(c)?);
    }
}

fn dim_factor(c: &mut Cursor) -> Result<SymExpr, Diag> {
    c.skip_ws();
    match c.peek() {
        Some('(') => {
            c.bump();
            let e = dim_expr(c)?;
            c.expect(")")?;
            Ok(e)
        }
        Some('0'..='9') => {
            let n = c.digits().ok_or_else(|| c.error("dimension too large"))?;
            let n = i64::try_from(n).map_err(|_| c.error("dimension too large"))?;
            Ok(SymExpr::constant(n))
        }
        Some('-') => {
            c.bump();
            Ok(dim_factor(c)?.scale(-1))
        }
        _ => {
            let start = c.loc();
            let word = c.word(false).ok_or_else(|| c.error(format!("expected a dimension, found {}", c.describe_next())))?;
            if is_reserved(word) {
                return Err(Diag::error(start, format!("'{word}' cannot name a symbolic dimension")));
            }
            Ok(SymExpr::symbol(Symbol::new(word)))
        }
    }
}

/// Parses an attribute value.
pub fn parse_attr(c: &mut Cursor, resources: &Resources) -> Result<Attr, Diag> {
    c.skip_ws();
    let start = c.loc();
    match c.peek() {
        Some('"') => Ok(Attr::Str(c.string()?)),
        Some('@') => {
            c.bump();
            Ok(Attr::SymbolRef(symbol_name(c)?))
        }
        Some('[') => array(c, resources),
        Some('0'..='9') => number_attr(c),
        Some('-') if c.peek2().is_some_and(|ch| ch.is_ascii_digit() || ch == 'i') => number_attr(c),
        _ => {
            let probe: String = c.rest().chars().take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_').collect();
            match probe.as_str() {
                "true" | "false" => {
                    c.word(false);
                    Ok(Attr::Bool(probe == "true"))
                }
                "inf" | "nan" => number_attr(c),
                "dense" | "dense_resource" => Ok(Attr::Dense(parse_dense(c, resources)?)),
                w if DType::from_name(w).is_some() => {
                    c.word(false);
                    Ok(Attr::DType(DType::from_name(w).expect("checked above")))
                }
                _ => Err(Diag::error(start, format!("expected an attribute value, found {}", c.describe_next()))),
            }
        }
    }
}

fn number_attr(c: &mut Cursor) -> Result<Attr, Diag> {
    Ok(match c.number()? {
        Number::Int(v) => Attr::Int(v),
        Number::Float(v) => Attr::Float(v),
        Number::UInt(v) => return Err(c.error(format!("integer {v} is out of range for an attribute"))),
    })
}

/// Parses a symbol name after `@`: bare or quoted.
pub fn symbol_name(c: &mut Cursor) -> Result<String, Diag> {
    if c.peek() == Some('"') {
        return c.string();
    }
    c.bare_name().map(str::to_string).ok_or_else(|| c.error(format!("expected a symbol name, found {}", c.describe_next())))
}

/// An array: of attributes, or a shape when an element is symbolic.
fn array(c: &mut Cursor, resources: &Resources) -> Result<Attr, Diag> {
    c.expect("[")?;
    let mut items: Vec<Result<Attr, Dim>> = Vec::new();
    if !c.eat("]") {
        loop {
            c.skip_ws();
            let starts_dim = match c.peek() {
                Some('?' | '(') => true,
                Some(ch) if ch.is_ascii_alphabetic() || ch == '_' => {
                    let probe: String = c.rest().chars().take_while(|x| x.is_ascii_alphanumeric() || *x == '_').collect();
                    !is_reserved(&probe) && probe != "dense" && probe != "dense_resource"
                }
                Some('0'..='9') => {
                    let tail = c.rest().trim_start_matches(|x: char| x.is_ascii_digit()).trim_start();
                    tail.starts_with('*') || tail.starts_with('+') || (tail.starts_with('-') && !tail.starts_with("->"))
                }
                _ => false,
            };
            if starts_dim {
                if c.peek() == Some('?') {
                    c.bump();
                    items.push(Err(Dim::Unknown));
                } else {
                    let e = dim_expr(c)?;
                    match e.as_constant() {
                        Some(v) => items.push(Ok(Attr::Int(v))),
                        None => items.push(Err(Dim::from_expr(e))),
                    }
                }
            } else {
                items.push(Ok(parse_attr(c, resources)?));
            }
            if c.eat("]") {
                break;
            }
            c.expect(",")?;
        }
    }
    if items.iter().all(Result::is_ok) {
        return Ok(Attr::Array(items.into_iter().map(|i| i.expect("all ok")).collect()));
    }
    let mut dims = Vec::new();
    for item in items {
        dims.push(match item {
            Err(d) => d,
            Ok(Attr::Int(v)) if v >= 0 => Dim::Known(v as u64),
            Ok(other) => return Err(c.error(format!("a shape may hold only sizes and symbols, found {}", other.kind_name()))),
        });
    }
    Ok(Attr::shape(&dims))
}

/// Parses `dense<...> : tensor<...>` or `dense_resource<key> : tensor<...>`.
pub fn parse_dense(c: &mut Cursor, resources: &Resources) -> Result<DenseAttr, Diag> {
    c.skip_ws();
    let start = c.loc();
    let word = c.word(false).unwrap_or_default();
    if word == "dense_resource" {
        c.expect("<")?;
        c.skip_ws();
        let key = c.bare_name().ok_or_else(|| c.error("expected a resource key"))?.to_string();
        c.expect(">")?;
        let ty = dense_type(c)?;
        let bytes = resources.get(&key).ok_or_else(|| {
            Diag::error(start.clone(), format!("resource '{key}' is not defined in the resources section"))
        })?;
        return DenseAttr::from_bytes(ty, bytes.clone()).map_err(|e| Diag::error(start, e));
    }
    if word != "dense" {
        return Err(Diag::error(start, "expected 'dense<...>' or 'dense_resource<...>'"));
    }
    c.expect("<")?;
    let mut elements = Vec::new();
    let mut splat = false;
    c.skip_ws();
    if c.peek() == Some('[') {
        nested_elements(c, &mut elements)?;
    } else {
        elements.push(element(c)?);
        splat = true;
    }
    c.expect(">")?;
    let ty = dense_type(c)?;
    let count = ty.static_dims().map(|d| d.iter().product::<u64>() as usize).unwrap_or(0);
    if splat {
        elements = vec![elements[0]; count];
    }
    if elements.len() != count {
        return Err(Diag::error(start, format!("dense constant of type {ty} needs {count} element(s), got {}", elements.len())));
    }
    let mut bytes = Vec::with_capacity(count * ty.dtype.size_bytes());
    for e in elements {
        scalar_of(ty.dtype, e).map_err(|m| Diag::error(start.clone(), m))?.write_le(&mut bytes);
    }
    DenseAttr::from_bytes(ty, bytes.into()).map_err(|e| Diag::error(start, e))
}

fn dense_type(c: &mut Cursor) -> Result<TensorType, Diag> {
    c.expect(":")?;
    match parse_type(c)? {
        Type::Tensor(t) if t.static_dims().is_some() => Ok(t),
        other => Err(c.error(format!("a dense constant needs a static tensor type, got {other}"))),
    }
}

#[derive(Copy, Clone)]
enum Element {
    Bool(bool),
    Num(Number),
}

fn element(c: &mut Cursor) -> Result<Element, Diag> {
    c.skip_ws();
    if c.rest().starts_with("true") {
        c.word(false);
        return Ok(Element::Bool(true));
    }
    if c.rest().starts_with("false") {
        c.word(false);
        return Ok(Element::Bool(false));
    }
    Ok(Element::Num(c.number()?))
}

fn nested_elements(c: &mut Cursor, out: &mut Vec<Element>) -> Result<(), Diag> {
    c.expect("[")?;
    if c.eat("]") {
        return Ok(());
    }
    loop {
        if c.next_is('[') {
            nested_elements(c, out)?;
        } else {
            out.push(element(c)?);
        }
        if c.eat("]") {
            return Ok(());
        }
        c.expect(",")?;
    }
}

fn scalar_of(dtype: DType, e: Element) -> Result<Scalar, String> {
    match (dtype, e) {
        (DType::I1, Element::Bool(b)) => Ok(Scalar::Bool(b)),
        (d, Element::Num(Number::Float(v))) if d.is_float() => Ok(Scalar::from_f64(d, v)),
        (d, Element::Num(Number::Int(v))) if d.is_float() => Ok(Scalar::from_f64(d, v as f64)),
        (d, Element::Num(Number::Int(v))) if d.is_int() => int_scalar(d, v),
        (d @ DType::U64, Element::Num(Number::UInt(v))) => Ok(Scalar::UInt(d, v)),
        (d, _) => Err(format!("element does not fit dtype {d}")),
    }
}

fn int_scalar(dtype: DType, v: i64) -> Result<Scalar, String> {
    let bits = dtype.size_bytes() as u32 * 8;
    let fits = if dtype.is_signed_int() {
        bits == 64 || (v >= -(1i64 << (bits - 1)) && v < (1i64 << (bits - 1)))
    } else {
        v >= 0 && (bits == 64 || v < (1i64 << bits))
    };
    if !fits {
        return Err(format!("{v} does not fit dtype {dtype}"));
    }
    Ok(if dtype.is_signed_int() { Scalar::Int(dtype, v) } else { Scalar::UInt(dtype, v as u64) })
}
