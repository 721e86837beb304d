//! The context shape inference hooks receive, and the shape rules several
//! ops share (numpy broadcasting, axis normalisation).

use crate::attr::{Attr, Attrs};
use crate::dim::Dim;
use crate::dtype::{DType, DTypeClass};
use crate::types::{TensorType, Type};

/// What the module knows about symbols (`@f`, `@weight`), for ops that refer to them.
pub trait SymbolTable {
    /// Argument and result types of function `name`.
    fn func_signature(&self, name: &str) -> Option<(Vec<Type>, Vec<Type>)>;
    /// The type of parameter `name`.
    fn param_type(&self, name: &str) -> Option<Type>;
}

/// A symbol table that knows nothing; for ops inferred outside a module.
pub struct NoSymbols;

impl SymbolTable for NoSymbols {
    fn func_signature(&self, _: &str) -> Option<(Vec<Type>, Vec<Type>)> {
        None
    }
    fn param_type(&self, _: &str) -> Option<Type> {
        None
    }
}

/// The types flowing through one region of an op: its entry block's
/// arguments and the operands of its terminator.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegionSig {
    /// Types of the entry block's arguments.
    pub args: Vec<Type>,
    /// Types of the values the region yields.
    pub yields: Vec<Type>,
}

/// Everything an inference hook may look at.
pub struct InferCx<'a> {
    /// Operand types, in order.
    pub operands: &'a [Type],
    /// The op's attributes.
    pub attrs: &'a Attrs,
    /// One signature per region.
    pub regions: &'a [RegionSig],
    /// Functions and parameters of the enclosing module.
    pub symbols: &'a dyn SymbolTable,
}

impl<'a> InferCx<'a> {
    /// Operand `i` as a tensor.
    pub fn tensor(&self, i: usize) -> Result<&'a TensorType, String> {
        match self.operands.get(i) {
            Some(Type::Tensor(t)) => Ok(t),
            Some(other) => Err(format!("operand #{i} must be a tensor, got {other}")),
            None => Err(format!("missing operand #{i}")),
        }
    }

    /// Operand `i` as a tensor whose dtype is in `class`.
    pub fn tensor_of(&self, i: usize, class: DTypeClass) -> Result<&'a TensorType, String> {
        let t = self.tensor(i)?;
        if !t.dtype.is_in(class) {
            return Err(format!("operand #{i} must have {}, got {}", class.describe(), t.dtype));
        }
        Ok(t)
    }

    /// Every operand as a tensor.
    pub fn tensors(&self) -> Result<Vec<&'a TensorType>, String> {
        (0..self.operands.len()).map(|i| self.tensor(i)).collect()
    }

    /// A required attribute.
    pub fn attr(&self, name: &str) -> Result<&'a Attr, String> {
        self.attrs.get(name).ok_or_else(|| format!("missing attribute '{name}'"))
    }

    /// A required integer attribute.
    pub fn int(&self, name: &str) -> Result<i64, String> {
        let a = self.attr(name)?;
        a.as_int().ok_or_else(|| format!("attribute '{name}' must be an integer, got {}", a.kind_name()))
    }

    /// An optional integer attribute.
    pub fn int_or(&self, name: &str, default: i64) -> Result<i64, String> {
        if self.attrs.get(name).is_some() {
            self.int(name)
        } else {
            Ok(default)
        }
    }

    /// A required array-of-ints attribute.
    pub fn ints(&self, name: &str) -> Result<Vec<i64>, String> {
        let a = self.attr(name)?;
        a.as_ints().ok_or_else(|| format!("attribute '{name}' must be an array of integers"))
    }

    /// An optional array-of-ints attribute.
    pub fn ints_or(&self, name: &str, default: Vec<i64>) -> Result<Vec<i64>, String> {
        if self.attrs.get(name).is_some() {
            self.ints(name)
        } else {
            Ok(default)
        }
    }

    /// An optional bool attribute.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.attrs.get(name) {
            None => Ok(default),
            Some(Attr::Bool(b)) => Ok(*b),
            Some(a) => Err(format!("attribute '{name}' must be a bool, got {}", a.kind_name())),
        }
    }

    /// An optional string attribute restricted to `allowed` values.
    pub fn choice(&self, name: &str, allowed: &[&'static str], default: &'static str) -> Result<&'a str, String> {
        let s = match self.attrs.get(name) {
            None => return Ok(allowed.iter().find(|a| **a == default).copied().unwrap_or(default)),
            Some(Attr::Str(s)) => s.as_str(),
            Some(a) => return Err(format!("attribute '{name}' must be a string, got {}", a.kind_name())),
        };
        if allowed.contains(&s) {
            Ok(s)
        } else {
            Err(format!("attribute '{name}' must be one of {}, got \"{s}\"", quoted_list(allowed)))
        }
    }

    /// A required dtype attribute.
    pub fn dtype(&self, name: &str) -> Result<DType, String> {
        match self.attr(name)? {
            Attr::DType(d) => Ok(*d),
            a => Err(format!("attribute '{name}' must be a dtype, got {}", a.kind_name())),
        }
    }

    /// A required shape attribute (ints or symbolic dims).
    pub fn shape(&self, name: &str) -> Result<Vec<Dim>, String> {
        let a = self.attr(name)?;
        a.as_shape().ok_or_else(|| format!("attribute '{name}' must be a shape of non-negative sizes"))
    }

    /// A required symbol-reference attribute.
    pub fn symbol(&self, name: &str) -> Result<&'a str, String> {
        match self.attr(name)? {
            Attr::SymbolRef(s) => Ok(s),
            a => Err(format!("attribute '{name}' must be a symbol (@name), got {}", a.kind_name())),
        }
    }

    /// Integer attribute `name` read as an axis of a rank-`rank` tensor
    /// (negative counts from the end); returns it in `0..rank`.
    pub fn axis(&self, name: &str, rank: usize) -> Result<usize, String> {
        normalize_axis(self.int(name)?, rank).map_err(|e| format!("attribute '{name}': {e}"))
    }

    /// Array attribute `name` read as distinct axes of a rank-`rank` tensor.
    pub fn axes(&self, name: &str, rank: usize) -> Result<Vec<usize>, String> {
        let raw = self.ints(name)?;
        normalize_axes(&raw, rank).map_err(|e| format!("attribute '{name}': {e}"))
    }
}

/// Maps `axis` in `-rank..rank` to `0..rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// Normalises several axes and rejects repeats.
pub fn normalize_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>, String> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = normalize_axis(a, rank)?;
        if out.contains(&n) {
            return Err(format!("axis {a} is repeated"));
        }
        out.push(n);
    }
    Ok(out)
}

/// The numpy broadcast of several shapes: align from the right; each axis
/// takes the one size that is not 1 (sizes must agree otherwise).
pub fn broadcast_dims(shapes: &[&[Dim]]) -> Result<Vec<Dim>, String> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(rank);
    for axis in 0..rank {
        let mut dim = Dim::Known(1);
        for s in shapes {
            let Some(i) = (axis + s.len()).checked_sub(rank) else { continue };
            let d = &s[i];
            dim = match (&dim, d) {
                (_, Dim::Known(1)) => dim,
                (Dim::Known(1), _) => d.clone(),
                (a, b) if a.same(b) => dim,
                (Dim::Unknown, _) | (_, Dim::Unknown) => Dim::Unknown,
                (a, b) => {
                    let shown: Vec<String> = shapes.iter().map(|s| show_dims(s)).collect();
                    return Err(format!(
                        "shapes {} do not broadcast: axis {axis} has sizes {a} and {b}",
                        shown.join(" and ")
                    ));
                }
            };
        }
        out.push(dim);
    }
    Ok(out)
}

/// Requires all operands to share one dtype and returns it.
pub fn same_dtype(tensors: &[&TensorType]) -> Result<DType, String> {
    let first = tensors.first().ok_or("expected at least one operand")?.dtype;
    for (i, t) in tensors.iter().enumerate() {
        if t.dtype != first {
            return Err(format!("operand #{i} has dtype {}, but operand #0 has {first}", t.dtype));
        }
    }
    Ok(first)
}

/// `[2, N, 3]`, for diagnostics.
pub fn show_dims(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn quoted_list(items: &[&str]) -> String {
    items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
}

/// Runs `def`'s inference on bare operand types, outside any function
/// (for ops without regions; symbols resolve against `symbols`).
pub fn infer_standalone(
    def: crate::op::OpRef,
    operands: &[Type],
    attrs: &Attrs,
    symbols: &dyn SymbolTable,
) -> Result<Vec<Type>, String> {
    if !def.operands().allows(operands.len()) {
        return Err(format!("expects {} operand(s), got {}", def.operands(), operands.len()));
    }
    let regions = vec![RegionSig::default(); def.num_regions()];
    def.infer(&InferCx { operands, attrs, regions: &regions, symbols })
}
