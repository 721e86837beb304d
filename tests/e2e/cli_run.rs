//! `tessera run` as a user runs it: the bundled CNN against the ONNX
//! reference's output, and every kind of bad input as a clear error.

use crate::binary::{s, scratch, stderr, tessera};
use prost::Message;
use std::path::Path;
use tessera_frontend::npy::{read_npy, write_npy};
use tessera_frontend::onnx::proto::{
    attribute_proto::AttributeType,
    tensor_proto::DataLocation,
    tensor_shape_proto::{dimension, Dimension},
    type_proto, AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use tessera_ir::tensor::{allclose, Tensor};
use tessera_ir::DType;

/// Runs and expects failure whose message contains every `needle`.
fn fails_with(args: &[&str], needles: &[&str]) {
    let out = tessera(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = stderr(&out);
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected {n:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

fn value_info(name: &str, dims: &[Result<i64, &str>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Ok(n) => dimension::Value::DimValue(*n),
                Err(p) => dimension::Value::DimParam(p.to_string()),
            }),
            denotation: String::new(),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: 1, shape: Some(TensorShapeProto { dim }) })),
            denotation: String::new(),
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn model(nodes: Vec<NodeProto>, input: ValueInfoProto, output: ValueInfoProto) -> ModelProto {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }],
        graph: Some(GraphProto { node: nodes, name: "g".into(), input: vec![input], output: vec![output], ..Default::default() }),
        ..Default::default()
    }
}

fn write_model(path: &Path, nodes: Vec<NodeProto>, input: ValueInfoProto, output: ValueInfoProto) {
    std::fs::write(path, model(nodes, input, output).encode_to_vec()).unwrap();
}

fn run_on(model: &Path, input: &str, values: Vec<f64>, dims: Vec<usize>, dir: &Path) -> Result<Vec<f64>, String> {
    let x = dir.join("x.npy");
    write_npy(&x, &Tensor::from_f64(DType::F32, dims, values).unwrap().to_dense()).unwrap();
    let out = tessera(&["run", s(model), "--input", &format!("{input}={}", s(&x)), "--output-dir", s(dir)]);
    if !out.status.success() {
        return Err(stderr(&out));
    }
    Ok(Tensor::from(&read_npy(&dir.join("y.npy")).unwrap()).to_f64s())
}

#[test]
fn run_bundled_cnn_matches_the_onnx_reference() {
    let out_dir = scratch("tessera-run", "cnn");
    let out = tessera(&["run", "models/tiny_cnn.onnx", "--input", "input=models/tiny_cnn_input.npy", "--output-dir", s(&out_dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let actual = Tensor::from(&read_npy(&out_dir.join("probabilities.npy")).unwrap());
    let expected = Tensor::from(&read_npy(Path::new("models/tiny_cnn_expected.npy")).unwrap());
    allclose(&actual, &expected, 1e-4, 1e-6).unwrap();
    std::fs::remove_dir_all(&out_dir).unwrap();
}

#[test]
fn run_names_bad_inputs() {
    let dir = scratch("tessera-run", "inputs");
    let out = s(&dir);
    let f64_input = dir.join("f64.npy");
    write_npy(&f64_input, &Tensor::zeros(DType::F64, vec![2, 1, 28, 28]).to_dense()).unwrap();
    let wrong_shape = dir.join("shape.npy");
    write_npy(&wrong_shape, &Tensor::zeros(DType::F32, vec![2, 1, 27, 28]).to_dense()).unwrap();
    let bad_npy = dir.join("bad.npy");
    std::fs::write(&bad_npy, b"\x93NUMPY\x01\x00garbage").unwrap();
    let model = "models/tiny_cnn.onnx";
    let good = "input=models/tiny_cnn_input.npy";
    fails_with(&["run", model, "--output-dir", out], &["input 'input'", "missing"]);
    fails_with(&["run", model, "--input", good, "--input", "image=models/tiny_cnn_input.npy", "--output-dir", out], &["no input 'image'", "'input'"]);
    fails_with(&["run", model, "--input", &format!("input={}", s(&f64_input)), "--output-dir", out], &["input 'input'", "f32", "f64"]);
    fails_with(&["run", model, "--input", &format!("input={}", s(&wrong_shape)), "--output-dir", out], &["input 'input'", "tensor<N x 1 x 28 x 28 x f32>", "tensor<2x1x27x28xf32>"]);
    fails_with(&["run", model, "--input", &format!("input={}", s(&bad_npy)), "--output-dir", out], &["input 'input'", "bad.npy"]);
    fails_with(&["run", model, "--input", "input=no/such.npy", "--output-dir", out], &["no/such.npy"]);
    fails_with(&["run", model, "--input", "input", "--output-dir", out], &["NAME=FILE.npy"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_rejects_bad_model_files() {
    let dir = scratch("tessera-run", "models");
    let out = s(&dir);
    let garbage = dir.join("garbage.onnx");
    std::fs::write(&garbage, b"this is not a protobuf \xff\xff\xff").unwrap();
    let truncated = dir.join("truncated.onnx");
    let bytes = std::fs::read("models/tiny_cnn.onnx").unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let empty = dir.join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    for bad in [&garbage, &truncated, &empty] {
        fails_with(&["run", s(bad), "--input", "input=models/tiny_cnn_input.npy", "--output-dir", out], &[bad.file_name().unwrap().to_str().unwrap()]);
    }
    fails_with(&["run", "no/such/model.onnx", "--output-dir", out], &["no/such/model.onnx"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unsupported_operators_are_all_named_and_inspect_still_reports() {
    let dir = scratch("tessera-run", "unsupported");
    let model = dir.join("m.onnx");
    write_model(
        &model,
        vec![node("Frobnicate", "first", &["x"], &["a"]), node("Relu", "ok", &["a"], &["b"]), node("Defrobnicate", "second", &["b"], &["y"])],
        value_info("x", &[Ok(2)]),
        value_info("y", &[Ok(2)]),
    );
    fails_with(&["run", s(&model), "--output-dir", s(&dir)], &["'first' (Frobnicate)", "'second' (Defrobnicate)", "opset 17"]);
    let out = tessera(&["inspect", s(&model)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 unsupported") && text.contains("Frobnicate") && text.contains("UNSUPPORTED"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_names_become_safe_file_names() {
    let dir = scratch("tessera-run", "names");
    let model = dir.join("m.onnx");
    write_model(&model, vec![node("Relu", "r", &["in:0"], &["out/put:0"])], value_info("in:0", &[Err("N"), Ok(3)]), value_info("out/put:0", &[Err("N"), Ok(3)]));
    let input = dir.join("x.npy");
    write_npy(&input, &Tensor::from_f64(DType::F32, vec![2, 3], vec![-1.0, 2.0, -3.0, 4.0, -5.0, 6.0]).unwrap().to_dense()).unwrap();
    let out = tessera(&["run", s(&model), "--input", &format!("in:0={}", s(&input)), "--output-dir", s(&dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let y = Tensor::from(&read_npy(&dir.join("out_put_0.npy")).unwrap());
    assert_eq!(y.to_f64s(), vec![0.0, 2.0, 0.0, 4.0, 0.0, 6.0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn external_weights_load_and_a_missing_file_is_named() {
    let dir = scratch("tessera-run", "external");
    let weights: Vec<u8> = [1.0f32, -2.0, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut blob = vec![0u8; 8];
    blob.extend(&weights);
    std::fs::write(dir.join("weights.bin"), &blob).unwrap();
    let entry = |k: &str, v: &str| StringStringEntryProto { key: k.into(), value: v.into() };
    let w = TensorProto {
        name: "w".into(),
        dims: vec![3],
        data_type: 1,
        data_location: DataLocation::External as i32,
        external_data: vec![entry("location", "weights.bin"), entry("offset", "8"), entry("length", "12")],
        ..Default::default()
    };
    let mut m = model(vec![node("Mul", "scale", &["x", "w"], &["y"])], value_info("x", &[Ok(3)]), value_info("y", &[Ok(3)]));
    m.graph.as_mut().unwrap().initializer.push(w);
    let path = dir.join("m.onnx");
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    assert_eq!(run_on(&path, "x", vec![2.0, 2.0, 2.0], vec![3], &dir).unwrap(), vec![2.0, -4.0, 6.0]);
    std::fs::remove_file(dir.join("weights.bin")).unwrap();
    let err = run_on(&path, "x", vec![2.0, 2.0, 2.0], vec![3], &dir).unwrap_err();
    assert!(err.contains("weights.bin") && err.contains("'w'") && !err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn model_local_functions_are_inlined_with_their_attributes() {
    let dir = scratch("tessera-run", "function");
    let alpha = |name: &str, value: f32, reference: &str| AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f: value,
        ref_attr_name: reference.into(),
        ..Default::default()
    };
    let mut body = node("LeakyRelu", "inner", &["a"], &["b"]);
    body.attribute.push(alpha("alpha", 0.0, "slope"));
    let function = FunctionProto {
        name: "MyLeaky".into(),
        domain: "my.domain".into(),
        input: vec!["a".into()],
        output: vec!["b".into()],
        attribute: vec!["slope".into()],
        node: vec![body],
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }],
        ..Default::default()
    };
    let mut call = node("MyLeaky", "call", &["x"], &["y"]);
    call.domain = "my.domain".into();
    call.attribute.push(alpha("slope", 0.5, ""));
    let mut m = model(vec![call], value_info("x", &[Ok(4)]), value_info("y", &[Ok(4)]));
    m.functions.push(function);
    m.opset_import.push(OperatorSetIdProto { domain: "my.domain".into(), version: 1 });
    let path = dir.join("m.onnx");
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    assert_eq!(run_on(&path, "x", vec![-2.0, -1.0, 0.0, 3.0], vec![4], &dir).unwrap(), vec![-1.0, -0.5, 0.0, 3.0]);
    std::fs::remove_dir_all(&dir).unwrap();
}
