//! Builders for the neural-network family's one-node test models.

pub use super::super::elementwise::testing::*;
use crate::onnx::proto::ModelProto;

/// A one-node model with graph inputs `(name, dims)` (all f32).
pub fn f32_model(
    opset: i64,
    op: &str,
    inputs: &[(&str, &[i64])],
    attrs: Vec<crate::onnx::proto::AttributeProto>,
) -> ModelProto {
    let values = inputs.iter().map(|(n, d)| value(n, FLOAT, d)).collect();
    let names: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
    model(opset, op, values, vec![], &names, attrs)
}

/// Requests the node outputs `names` (the first is the graph output `y`).
pub fn with_outputs(mut m: ModelProto, names: &[&str]) -> ModelProto {
    if let Some(g) = m.graph.as_mut() {
        g.node[0].output = names.iter().map(|s| s.to_string()).collect();
        g.output = names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| crate::onnx::proto::ValueInfoProto { name: n.to_string(), ..Default::default() })
            .collect();
    }
    m
}
