//! tract (`tract-onnx`) as a peer in the same process: an ONNX file loaded
//! with concrete input facts, optimised and planned once, then run on
//! tessera tensors with tessera tensors back. `tessera bench` times it;
//! the tests check the models tessera exports against it.

use std::path::Path;
use tessera_ir::tensor::Tensor;
use tessera_ir::{DType, DenseAttr, Dim, TensorType};
use tract_onnx::prelude::{
    Framework, InferenceFact, InferenceModelExt, IntoTValue, OutletId, TVec, TValue, TypedModel, TypedRunnableModel,
};

/// A model planned by tract for one set of input values.
pub struct TractPlan {
    plan: TypedRunnableModel<TypedModel>,
    inputs: TVec<TValue>,
}

impl TractPlan {
    /// Loads the ONNX model at `path`, gives each graph input the type of
    /// the value of the same name in `inputs`, and optimises and plans it
    /// for those shapes. The types the file declares for intermediate and
    /// output values are dropped first: with symbolic dims they would
    /// contradict the concrete inputs, and tract infers them anyway. The
    /// error says which stage failed: loading (an operator tract does not
    /// know), a missing value, typing, or optimising.
    pub fn new(path: &Path, inputs: &[(String, Tensor)]) -> Result<TractPlan, String> {
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(|e| format!("tract cannot load it: {e:#}"))?;
        let outlets = model.input_outlets().map_err(|e| e.to_string())?.to_vec();
        for node in 0..model.nodes().len() {
            if outlets.iter().all(|o| o.node != node) {
                for slot in 0..model.node(node).outputs.len() {
                    model.set_outlet_fact(OutletId::new(node, slot), InferenceFact::default()).map_err(|e| e.to_string())?;
                }
            }
        }
        let mut values = TVec::new();
        for (i, outlet) in outlets.iter().enumerate() {
            let name = &model.node(outlet.node).name;
            let (_, t) = inputs
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| format!("no value for tract's input '{name}'"))?;
            let value = to_tract(t)?;
            let fact = InferenceFact::dt_shape(value.datum_type(), value.shape());
            model.set_input_fact(i, fact).map_err(|e| e.to_string())?;
            values.push(value.into_tvalue());
        }
        let typed = model.into_typed().map_err(|e| format!("tract cannot type it: {e:#}"))?;
        let plan = typed
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(|e| format!("tract cannot optimise it: {e:#}"))?;
        Ok(TractPlan { plan, inputs: values })
    }

    /// Runs the plan once on its inputs; the outputs in the graph's order.
    pub fn run(&self) -> Result<Vec<Tensor>, String> {
        let outputs = self.plan.run(self.inputs.clone()).map_err(|e| format!("tract failed: {e:#}"))?;
        outputs.iter().map(|t| from_tract(t)).collect()
    }
}

/// A tessera tensor as a tract one (same dtype, shape and bytes).
fn to_tract(t: &Tensor) -> Result<tract_onnx::prelude::Tensor, String> {
    let dt = datum_type(t.dtype()).ok_or_else(|| format!("tract has no {} tensors", t.dtype()))?;
    let dense = t.to_dense();
    // SAFETY: `dense` holds the tensor's elements, little-endian, in `dt`'s layout.
    unsafe { tract_onnx::prelude::Tensor::from_raw_dt(dt, t.shape(), dense.bytes()) }.map_err(|e| e.to_string())
}

/// A tract tensor as a tessera one; symbolic dims (`TDim`) must have become integers.
fn from_tract(t: &tract_onnx::prelude::Tensor) -> Result<Tensor, String> {
    use tract_onnx::prelude::DatumType as T;
    let t = if t.datum_type() == T::TDim { t.cast_to_dt(T::I64).map_err(|e| e.to_string())? } else { std::borrow::Cow::Borrowed(t) };
    let dtype = dtype(t.datum_type()).ok_or_else(|| format!("tract gave a {:?} output", t.datum_type()))?;
    let ty = TensorType::new(t.shape().iter().map(|&d| Dim::Known(d as u64)).collect(), dtype);
    let dense = DenseAttr::from_bytes(ty, t.as_bytes().into())?;
    Ok(Tensor::from(&dense))
}

/// The pairs of tessera and tract element types that share a layout (tract has no bf16).
const DTYPES: &[(DType, tract_onnx::prelude::DatumType)] = {
    use tract_onnx::prelude::DatumType as T;
    &[
        (DType::F32, T::F32),
        (DType::F64, T::F64),
        (DType::F16, T::F16),
        (DType::I8, T::I8),
        (DType::I16, T::I16),
        (DType::I32, T::I32),
        (DType::I64, T::I64),
        (DType::U8, T::U8),
        (DType::U16, T::U16),
        (DType::U32, T::U32),
        (DType::U64, T::U64),
        (DType::I1, T::Bool),
    ]
};

/// tract's element type for `dtype`.
fn datum_type(dtype: DType) -> Option<tract_onnx::prelude::DatumType> {
    DTYPES.iter().find(|(d, _)| *d == dtype).map(|(_, t)| *t)
}

/// tessera's element type for tract's `dt`.
fn dtype(dt: tract_onnx::prelude::DatumType) -> Option<DType> {
    DTYPES.iter().find(|(_, t)| *t == dt).map(|(d, _)| *d)
}
