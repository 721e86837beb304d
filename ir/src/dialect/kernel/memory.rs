//! Buffers and their elements: `k.dim`, `k.alloc`, `k.view`,
//! `k.buffer_constant`, `k.param`, `k.load` and `k.store`.
//!
//! Buffers are row-major. An element is addressed by one `index` per axis;
//! an index outside its axis is an error, never a wrap. `k.buffer_constant`
//! and `k.param` buffers are read-only.

use super::{buffer, indices_from, scalar_operand};
use crate::attr::Attr;
use crate::dim::Dim;
use crate::dtype::DType;
use crate::infer::{show_dims, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpSpec, Traits};
use crate::types::{TensorType, Type};

/// `%n = k.dim %buf {axis = 1} : index`: the extent of axis `axis` of a buffer.
pub struct DimOp;

impl OpDef for DimOp {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.dim", "the extent of axis `axis` of a buffer, as an index")
            .attrs(&[AttrSpec::req("axis", AttrKind::Int)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let b = buffer(cx, 0)?;
        let axis = cx.int("axis")?;
        if usize::try_from(axis).map_or(true, |a| a >= b.rank()) {
            return Err(format!("axis {axis} is out of range for {}", Type::Buffer(b.clone())));
        }
        Ok(vec![Type::Index])
    }
}

/// The `k.dim` op.
pub static DIM: DimOp = DimOp;

/// `%t = k.alloc {shape = [N, 4], dtype = f32} : buffer<N x 4 x f32>`: a new
/// temporary buffer, its contents undefined until stored. Symbolic dims
/// take the sizes the function's argument buffers bind them to at run time.
pub struct Alloc;

impl OpDef for Alloc {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.alloc", "a new temporary buffer of `shape` and `dtype`")
            .traits(Traits::NONE)
            .operands(Arity::Exactly(0))
            .attrs(&[AttrSpec::req("shape", AttrKind::Shape), AttrSpec::req("dtype", AttrKind::DType)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let dims = cx.shape("shape")?;
        if dims.contains(&Dim::Unknown) {
            return Err(format!(
                "shape {} has a '?' dim; an allocation needs static or symbolic dims",
                show_dims(&dims)
            ));
        }
        Ok(vec![Type::Buffer(TensorType::new(dims, cx.dtype("dtype")?))])
    }
}

/// The `k.alloc` op.
pub static ALLOC: Alloc = Alloc;

/// `%t = k.view %arena, %offset {shape = [N, 4], dtype = f32} : buffer<N x 4 x f32>`:
/// a buffer of `shape` and `dtype` laid out in the bytes of the rank-1 `u8`
/// buffer `arena` from byte `offset` (an index, a multiple of the dtype's
/// size) on; it must fit. Memory planning makes its temporaries views into
/// one arena: views whose lifetimes overlap never share bytes, and a view
/// reads only what was stored through it.
pub struct View;

impl OpDef for View {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("k.view", "a buffer of `shape` and `dtype` in the bytes of a u8 arena from a byte offset")
                .traits(Traits::NONE)
                .operands(Arity::Exactly(2))
                .attrs(&[AttrSpec::req("shape", AttrKind::Shape), AttrSpec::req("dtype", AttrKind::DType)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let arena = buffer(cx, 0)?;
        if arena.rank() != 1 || arena.dtype != DType::U8 {
            return Err(format!("the arena must be a rank-1 u8 buffer, got {}", Type::Buffer(arena.clone())));
        }
        indices_from(cx, 1)?;
        let dims = cx.shape("shape")?;
        if dims.contains(&Dim::Unknown) {
            return Err(format!("shape {} has a '?' dim; a view needs static or symbolic dims", show_dims(&dims)));
        }
        Ok(vec![Type::Buffer(TensorType::new(dims, cx.dtype("dtype")?))])
    }
}

/// The `k.view` op.
pub static VIEW: View = View;

/// `%c = k.buffer_constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : buffer<2xf32>`:
/// a read-only buffer holding a literal (a global constant in generated code).
pub struct BufferConstant;

impl OpDef for BufferConstant {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.buffer_constant", "a read-only buffer holding the dense literal `value`")
            .operands(Arity::Exactly(0))
            .attrs(&[AttrSpec::req("value", AttrKind::Dense)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        match cx.attr("value")? {
            Attr::Dense(d) => Ok(vec![Type::Buffer(d.ty().clone())]),
            a => Err(format!("attribute 'value' must be a dense constant, got {}", a.kind_name())),
        }
    }
}

/// The `k.buffer_constant` op.
pub static BUFFER_CONSTANT: BufferConstant = BufferConstant;

/// `%w = k.param @fc.weight : buffer<10x784xf32>`: the module parameter `sym`
/// as a read-only buffer (weights stay where they are).
pub struct ParamBuffer;

impl OpDef for ParamBuffer {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.param", "the module parameter `sym` as a read-only buffer")
            .operands(Arity::Exactly(0))
            .attrs(&[AttrSpec::req("sym", AttrKind::Symbol)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let name = cx.symbol("sym")?;
        match cx.symbols.param_type(name) {
            Some(Type::Tensor(t)) => Ok(vec![Type::Buffer(t)]),
            Some(other) => Err(format!("parameter @{name} has type {other}, not a tensor")),
            None => Err(format!("no parameter named @{name} in the module")),
        }
    }
}

/// The `k.param` op.
pub static PARAM: ParamBuffer = ParamBuffer;

/// Checks that the operands from `from` on index every axis of `b`.
fn check_indices(cx: &InferCx, b: &TensorType, from: usize) -> Result<(), String> {
    let given = cx.operands.len().saturating_sub(from);
    if given != b.rank() {
        return Err(format!("{} takes {} index(es), got {given}", Type::Buffer(b.clone()), b.rank()));
    }
    indices_from(cx, from)
}

/// `%v = k.load %buf, %i, %j : f32`: the element of a buffer at one index per axis.
pub struct Load;

impl OpDef for Load {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.load", "the element of the buffer at the given indices")
            .traits(Traits::NONE)
            .operands(Arity::AtLeast(1));
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let b = buffer(cx, 0)?;
        check_indices(cx, b, 1)?;
        Ok(vec![Type::Scalar(b.dtype)])
    }
}

/// The `k.load` op.
pub static LOAD: Load = Load;

/// `k.store %v, %buf, %i, %j`: writes a scalar of the buffer's dtype at one
/// index per axis.
pub struct Store;

impl OpDef for Store {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.store", "writes the scalar into the buffer at the given indices")
            .traits(Traits::NONE)
            .operands(Arity::AtLeast(2))
            .results(Arity::Exactly(0));
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let v = scalar_operand(cx, 0)?;
        let b = buffer(cx, 1)?;
        if v != b.dtype {
            return Err(format!("cannot store a {v} into {}", Type::Buffer(b.clone())));
        }
        check_indices(cx, b, 2)?;
        Ok(Vec::new())
    }
}

/// The `k.store` op.
pub static STORE: Store = Store;
