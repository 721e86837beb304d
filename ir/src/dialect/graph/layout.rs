//! Element movement the reference semantics of the graph ops share: moving
//! elements of any dtype through flat-index maps, permuting axes, joining
//! and stacking element vectors, and splitting a shape around one axis.
//! The arithmetic on the moved elements lives in `kernels`.

use crate::dtype::DType;
use crate::tensor::{strides, Data, Tensor};
use std::borrow::Cow;

/// Applies one generic expression to the element vector of a [`Data`],
/// whatever its domain, and wraps the vector it gives in the same variant:
/// `map_elements!(x.data(), v => pick(v, indices)?)`.
macro_rules! map_elements {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::tensor::Data::Float($v) => $crate::tensor::Data::Float($body),
            $crate::tensor::Data::Int($v) => $crate::tensor::Data::Int($body),
            $crate::tensor::Data::UInt($v) => $crate::tensor::Data::UInt($body),
            $crate::tensor::Data::Bool($v) => $crate::tensor::Data::Bool($body),
        }
    };
}
pub(crate) use map_elements;

/// For one output axis: what each coordinate adds to the flat index of the
/// source element (its source coordinate times the source stride), or
/// `None` where the output holds a fill value instead.
pub type AxisOffsets = Vec<Option<usize>>;

/// The offsets of an axis read in order: coordinate `i` adds `i * stride`.
pub fn identity_offsets(size: usize, stride: usize) -> AxisOffsets {
    (0..size).map(|i| Some(i * stride)).collect()
}

/// The flat source index of every element of an output whose axis `d`
/// reads `axes[d]`, in row-major order of the output; `None` where any axis
/// is fill. Rank 0 (no axes) gives the single index 0.
pub struct FlatIndices<'a> {
    axes: &'a [AxisOffsets],
    /// The output coordinate of the next element.
    pos: Vec<usize>,
    /// `prefix[d]`: the sum of the offsets of axes `0..d` at `pos`.
    prefix: Vec<Option<usize>>,
    remaining: usize,
}

/// Iterates the flat source indices an output described by `axes` reads.
pub fn flat_indices(axes: &[AxisOffsets]) -> FlatIndices<'_> {
    let remaining = axes.iter().map(Vec::len).product();
    let mut prefix = vec![Some(0); axes.len()];
    if remaining > 0 {
        for d in 1..axes.len() {
            prefix[d] = add_offsets(prefix[d - 1], axes[d - 1][0]);
        }
    }
    FlatIndices { axes, pos: vec![0; axes.len()], prefix, remaining }
}

fn add_offsets(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    Some(a? + b?)
}

impl Iterator for FlatIndices<'_> {
    type Item = Option<usize>;

    fn next(&mut self) -> Option<Option<usize>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let Some(last) = self.axes.len().checked_sub(1) else { return Some(Some(0)) };
        let item = add_offsets(self.prefix[last], self.axes[last][self.pos[last]]);
        if self.remaining > 0 {
            // Advance like an odometer, then refresh the prefixes after the axis that moved.
            let mut d = last;
            self.pos[d] += 1;
            while self.pos[d] == self.axes[d].len() {
                self.pos[d] = 0;
                d -= 1;
                self.pos[d] += 1;
            }
            for e in d..last {
                self.prefix[e + 1] = add_offsets(self.prefix[e], self.axes[e][self.pos[e]]);
            }
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for FlatIndices<'_> {}

/// The elements of `v` at `indices`; an index that is `None` or out of
/// range is an error.
pub fn pick<T: Copy>(v: &[T], indices: impl Iterator<Item = Option<usize>>) -> Result<Vec<T>, String> {
    indices
        .map(|i| {
            i.and_then(|i| v.get(i).copied())
                .ok_or_else(|| format!("an element index is out of range for {} element(s)", v.len()))
        })
        .collect()
}

/// The elements of `data` at `indices`, in the same domain.
pub fn take(data: &Data, indices: impl Iterator<Item = Option<usize>>) -> Result<Data, String> {
    Ok(map_elements!(data, v => pick(v, indices)?))
}

/// A tensor of `x`'s dtype whose axis `d` reads `axes[d]` (which has no
/// fill entries); its shape is the lengths of `axes`.
pub fn rearrange(x: &Tensor, axes: &[AxisOffsets]) -> Result<Tensor, String> {
    let shape = axes.iter().map(Vec::len).collect();
    Tensor::new(x.dtype(), shape, take(x.data(), flat_indices(axes))?)
}

/// The elements of several `Data` of one domain, one after another.
pub fn concat_data(parts: &[&Data]) -> Result<Data, String> {
    fn join<T: Copy>(parts: &[&Data], get: impl Fn(&Data) -> Option<&Vec<T>>) -> Result<Vec<T>, String> {
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            out.extend_from_slice(get(p).ok_or("the operands hold elements of different domains")?);
        }
        Ok(out)
    }
    let Some(first) = parts.first() else { return Err("nothing to concatenate".into()) };
    Ok(match first {
        Data::Float(_) => Data::Float(join(parts, |d| if let Data::Float(v) = d { Some(v) } else { None })?),
        Data::Int(_) => Data::Int(join(parts, |d| if let Data::Int(v) = d { Some(v) } else { None })?),
        Data::UInt(_) => Data::UInt(join(parts, |d| if let Data::UInt(v) = d { Some(v) } else { None })?),
        Data::Bool(_) => Data::Bool(join(parts, |d| if let Data::Bool(v) = d { Some(v) } else { None })?),
    })
}

/// The elements of a row-major array of `shape` with its axes reordered so
/// that axis `i` of the result is axis `order[i]` of `v`; borrowed when the
/// order is the identity. `order` must be a permutation of the axes.
pub fn permute<'v, T: Copy>(v: &'v [T], shape: &[usize], order: &[usize]) -> Result<Cow<'v, [T]>, String> {
    if order.iter().enumerate().all(|(i, &a)| i == a) {
        return Ok(Cow::Borrowed(v));
    }
    let st = strides(shape);
    let axes: Vec<AxisOffsets> = order.iter().map(|&a| identity_offsets(shape[a], st[a])).collect();
    pick(v, flat_indices(&axes)).map(Cow::Owned)
}

/// Stacks tensors of dtype `dtype` and shape `item` along a new leading
/// axis: the result has shape `[parts.len(), item...]` (so no parts give an
/// empty tensor of shape `[0, item...]`). Every part must match.
pub(crate) fn stack(dtype: DType, item: &[usize], parts: &[Tensor]) -> Result<Tensor, String> {
    let mut shape = vec![parts.len()];
    shape.extend_from_slice(item);
    for (i, p) in parts.iter().enumerate() {
        if p.dtype() != dtype || p.shape() != item {
            return Err(format!(
                "part #{i} is {:?} x {}, but the parts must all be {item:?} x {dtype}",
                p.shape(),
                p.dtype()
            ));
        }
    }
    if parts.is_empty() {
        return Ok(Tensor::zeros(dtype, shape));
    }
    let data: Vec<&Data> = parts.iter().map(Tensor::data).collect();
    Tensor::new(dtype, shape, concat_data(&data)?)
}

/// `shape` seen around `axis` as `(outer, len, inner)`: the products of the
/// sizes before the axis, the axis's size, and the sizes after it. Element
/// `k` along the axis at `(o, i)` sits at flat index `(o * len + k) * inner + i`.
pub(crate) fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape.iter().take(axis).product();
    let len = shape.get(axis).copied().unwrap_or(1);
    let inner = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    (outer, len, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_indices_walk_row_major() {
        let axes = vec![identity_offsets(2, 3), vec![Some(2), None, Some(0)]];
        let got: Vec<Option<usize>> = flat_indices(&axes).collect();
        assert_eq!(got, [Some(2), None, Some(0), Some(5), None, Some(3)]);
        assert_eq!(flat_indices(&[]).collect::<Vec<_>>(), [Some(0)]);
        assert_eq!(flat_indices(&[identity_offsets(3, 1), Vec::new()]).count(), 0);
    }

    #[test]
    fn permute_transposes_and_borrows_identity() {
        let v = [0, 1, 2, 3, 4, 5];
        assert_eq!(permute(&v, &[2, 3], &[1, 0]).unwrap().as_ref(), [0, 3, 1, 4, 2, 5]);
        assert!(matches!(permute(&v, &[2, 3], &[0, 1]).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn take_and_concat_keep_the_domain() {
        let d = Data::Bool(vec![true, false]);
        assert_eq!(take(&d, [Some(1), Some(0), Some(1)].into_iter()), Ok(Data::Bool(vec![false, true, false])));
        assert!(take(&d, [Some(2)].into_iter()).is_err());
        let e = Data::Bool(vec![true]);
        assert_eq!(concat_data(&[&d, &e]), Ok(Data::Bool(vec![true, false, true])));
        assert!(concat_data(&[&d, &Data::Int(vec![1])]).is_err());
    }

    #[test]
    fn stack_checks_parts_and_keeps_empty_shapes() {
        let x = Tensor::new(DType::I32, vec![3], Data::Int(vec![10, 20, 30])).unwrap();
        let s = stack(DType::I32, &[3], &[x.clone(), x.reshaped(vec![1, 3]).unwrap()]);
        assert_eq!(s.unwrap_err(), "part #1 is [1, 3] x i32, but the parts must all be [3] x i32");
        let s = stack(DType::I32, &[3], &[x.clone(), x]).unwrap();
        assert_eq!((s.shape(), s.to_i64s()), (&[2, 3][..], vec![10, 20, 30, 10, 20, 30]));
        let empty = stack(DType::F16, &[4, 2], &[]).unwrap();
        assert_eq!((empty.shape(), empty.dtype(), empty.len()), (&[0, 4, 2][..], DType::F16, 0));
    }

    #[test]
    fn axis_split() {
        assert_eq!(split_at_axis(&[2, 3, 4], 1), (2, 3, 4));
        assert_eq!(split_at_axis(&[2, 3, 4], 0), (1, 2, 12));
        assert_eq!(split_at_axis(&[2, 3, 4], 2), (6, 4, 1));
    }
}
