//! Builders for multi-node test models, shared with the index and control tests.

pub use super::super::elementwise::testing::*;
use crate::onnx::proto::attribute_proto::AttributeType;
use crate::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    ValueInfoProto,
};

/// A node `op(inputs) -> outputs`.
pub fn node(
    op: &str,
    inputs: &[&str],
    outputs: &[&str],
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: format!("{op}_{}", outputs.first().copied().unwrap_or_default()),
        op_type: op.into(),
        attribute,
        ..Default::default()
    }
}

/// A floats attribute.
pub fn floats_attr(name: &str, v: &[f32]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        floats: v.to_vec(),
        r#type: AttributeType::Floats as i32,
        ..Default::default()
    }
}

/// A graph attribute.
pub fn graph_attr(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        g: Some(g),
        r#type: AttributeType::Graph as i32,
        ..Default::default()
    }
}

/// An untyped graph output (or subgraph input: the region gives the type).
pub fn named(name: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        ..Default::default()
    }
}

/// A graph of `nodes` with the given inputs, initializers and outputs.
pub fn graph(
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    inits: Vec<TensorProto>,
    outputs: &[&str],
) -> GraphProto {
    GraphProto {
        node: nodes,
        name: "g".into(),
        initializer: inits,
        input: inputs,
        output: outputs.iter().map(|o| named(o)).collect(),
        ..Default::default()
    }
}

/// A model around `g` importing `opset`.
pub fn model_of(opset: i64, g: GraphProto) -> ModelProto {
    ModelProto {
        ir_version: 8,
        graph: Some(g),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        ..Default::default()
    }
}

/// The printed result types of `@main`.
pub fn result_types(m: &ModelProto) -> String {
    let text = ir(m);
    let sig = text
        .lines()
        .find(|l| l.starts_with("func @main"))
        .unwrap_or_default()
        .to_string();
    sig.rsplit("-> ")
        .next()
        .unwrap_or_default()
        .trim_end_matches(" {")
        .to_string()
}
