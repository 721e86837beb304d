//! Reading ONNX files: a model (`.onnx`) with its external data, and the
//! single values of test-data files (`input_0.pb`: a tensor, sequence or
//! optional).
//!
//! Nothing a file holds can make these panic: a missing or unreadable file,
//! a directory, an empty file, bytes that are not protobuf, a truncated
//! model, and external data that is missing, too short or outside the
//! model's folder are each a [`Diag`] naming the file (and the tensor).

use super::proto::tensor_proto::DataLocation;
use super::proto::{
    AttributeProto, GraphProto, ModelProto, OptionalProto, SequenceProto, SparseTensorProto, TensorProto,
};
use super::tensor::describe_tensor;
use prost::Message;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use tessera_ir::{Diag, Loc};

fn error(message: String) -> Diag {
    Diag::error(Loc::Unknown, message)
}

/// Reads a whole file; `kind` names what it should be (`ONNX model`).
fn read_file(path: &Path, kind: &str) -> Result<Vec<u8>, Diag> {
    let shown = path.display();
    if path.is_dir() {
        return Err(error(format!("'{shown}' is a directory, not an {kind} file")));
    }
    std::fs::read(path).map_err(|e| error(format!("cannot read {kind} '{shown}': {e}")))
}

/// Decodes `bytes` as `M`; `kind` names what the file should be.
fn decode<M: Message + Default>(bytes: &[u8], path: &Path, kind: &str) -> Result<M, Diag> {
    M::decode(bytes).map_err(|e| {
        error(format!(
            "'{}' is not a valid {kind} (the file is truncated or not ONNX protobuf): {e}",
            path.display()
        ))
    })
}

/// The folder relative paths in a file's external data are resolved against.
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads an ONNX model and loads every tensor whose data is external
/// (`data_location = EXTERNAL`) into its `raw_data`, resolving each
/// `location` relative to the model's folder.
pub fn load_model(path: &Path) -> Result<ModelProto, Diag> {
    let bytes = read_file(path, "ONNX model")?;
    let mut model = decode_model(&bytes, path)?;
    resolve_external_data(&mut model, &folder_of(path))?;
    Ok(model)
}

/// Decodes the bytes of an ONNX model without touching external data, and
/// checks that it looks like a model: non-empty, with an IR version, a graph
/// and (from IR version 3) an opset import. `path` names the file in errors.
pub fn decode_model(bytes: &[u8], path: &Path) -> Result<ModelProto, Diag> {
    let shown = path.display();
    if bytes.is_empty() {
        return Err(error(format!("'{shown}' is empty, not an ONNX model")));
    }
    let model: ModelProto = decode(bytes, path, "ONNX model")?;
    let not_a_model = |what: &str| {
        error(format!("'{shown}' is not a valid ONNX model: {what} (the file is truncated or not an ONNX model)"))
    };
    if model.ir_version <= 0 {
        return Err(not_a_model("it has no IR version"));
    }
    if model.graph.is_none() {
        return Err(not_a_model("it has no graph"));
    }
    if model.ir_version >= 3 && model.opset_import.is_empty() {
        return Err(not_a_model("it imports no operator set"));
    }
    Ok(model)
}

/// Reads a `TensorProto` file (a test-data `input_<i>.pb` / `output_<i>.pb`),
/// loading external data relative to the file's folder. An empty file, or
/// one without an element type, is an error.
pub fn load_tensor(path: &Path) -> Result<TensorProto, Diag> {
    let bytes = read_file(path, "ONNX tensor")?;
    if bytes.is_empty() {
        return Err(error(format!("'{}' is empty, not an ONNX tensor", path.display())));
    }
    let mut tensor: TensorProto = decode(&bytes, path, "ONNX tensor")?;
    if tensor.data_type == 0 {
        return Err(error(format!(
            "'{}' is not a valid ONNX tensor: it has no element type (data_type)",
            path.display()
        )));
    }
    let mut loader = ExternalData::new(&folder_of(path));
    loader.load(&mut tensor)?;
    Ok(tensor)
}

/// Reads a `SequenceProto` file (a test-data value of a sequence-typed input
/// or output). An empty file is an empty sequence.
pub fn load_sequence(path: &Path) -> Result<SequenceProto, Diag> {
    decode(&read_file(path, "ONNX sequence")?, path, "ONNX sequence")
}

/// Reads an `OptionalProto` file (a test-data value of an optional-typed
/// input or output). An empty file is an absent value.
pub fn load_optional(path: &Path) -> Result<OptionalProto, Diag> {
    decode(&read_file(path, "ONNX optional")?, path, "ONNX optional")
}

/// Loads the external data of every tensor in the model — initializers,
/// sparse initializers, tensor attributes of nodes in the graph, in every
/// subgraph, in model-local functions and in training graphs — into
/// `raw_data`, and marks the tensors as stored inline.
///
/// Keys of `external_data`: `location` (required; a relative path inside
/// `base_dir`, no `..` and no absolute path, symlinks leaving the folder
/// are refused too), `offset` and `length` (optional byte counts; without a
/// length the data runs to the end of the file). `checksum` is not verified.
pub fn resolve_external_data(model: &mut ModelProto, base_dir: &Path) -> Result<(), Diag> {
    let mut loader = ExternalData::new(base_dir);
    if let Some(g) = &mut model.graph {
        loader.graph(g)?;
    }
    for f in &mut model.functions {
        for node in &mut f.node {
            loader.attributes(&mut node.attribute)?;
        }
        loader.attributes(&mut f.attribute_proto)?;
    }
    for info in &mut model.training_info {
        for g in info.initialization.iter_mut().chain(info.algorithm.iter_mut()) {
            loader.graph(g)?;
        }
    }
    Ok(())
}

/// Walks tensors and fills in their external data, keeping files open.
struct ExternalData {
    base_dir: PathBuf,
    /// The canonical `base_dir`, computed on the first external tensor.
    canonical_base: Option<PathBuf>,
    files: HashMap<PathBuf, (File, u64)>,
}

impl ExternalData {
    fn new(base_dir: &Path) -> ExternalData {
        ExternalData { base_dir: base_dir.to_path_buf(), canonical_base: None, files: HashMap::new() }
    }

    fn graph(&mut self, g: &mut GraphProto) -> Result<(), Diag> {
        for t in &mut g.initializer {
            self.load(t)?;
        }
        for s in &mut g.sparse_initializer {
            self.sparse(s)?;
        }
        for node in &mut g.node {
            self.attributes(&mut node.attribute)?;
        }
        Ok(())
    }

    fn attributes(&mut self, attrs: &mut [AttributeProto]) -> Result<(), Diag> {
        for a in attrs {
            for t in a.t.iter_mut().chain(a.tensors.iter_mut()) {
                self.load(t)?;
            }
            for s in a.sparse_tensor.iter_mut().chain(a.sparse_tensors.iter_mut()) {
                self.sparse(s)?;
            }
            for g in a.g.iter_mut().chain(a.graphs.iter_mut()) {
                self.graph(g)?;
            }
        }
        Ok(())
    }

    fn sparse(&mut self, s: &mut SparseTensorProto) -> Result<(), Diag> {
        for t in s.values.iter_mut().chain(s.indices.iter_mut()) {
            self.load(t)?;
        }
        Ok(())
    }

    /// Loads one tensor's external data, if it has any.
    fn load(&mut self, t: &mut TensorProto) -> Result<(), Diag> {
        if t.data_location != DataLocation::External as i32 {
            return Ok(());
        }
        let what = describe_tensor(t);
        let err = |msg: String| error(format!("{what}: {msg}"));
        let (mut location, mut offset, mut length) = (None, 0u64, None);
        for entry in &t.external_data {
            let number = || {
                entry.value.trim().parse::<u64>().map_err(|_| {
                    err(format!("external data {} '{}' is not a non-negative integer", entry.key, entry.value))
                })
            };
            match entry.key.as_str() {
                "location" => location = Some(entry.value.clone()),
                "offset" => offset = number()?,
                "length" => length = Some(number()?),
                _ => {}
            }
        }
        let location = location.ok_or_else(|| err("external data has no 'location'".into()))?;
        let path = self.resolve(&location).map_err(err)?;
        let (file, file_len) = match self.files.get_mut(&path) {
            Some(entry) => entry,
            None => {
                let file =
                    File::open(&path).map_err(|e| err(format!("cannot open external data file '{location}': {e}")))?;
                let len = file
                    .metadata()
                    .map_err(|e| err(format!("cannot read external data file '{location}': {e}")))?
                    .len();
                self.files.entry(path.clone()).or_insert((file, len))
            }
        };
        let file_len = *file_len;
        let end = match length {
            Some(n) => offset.checked_add(n),
            None => Some(file_len),
        };
        let end = end.filter(|&end| end <= file_len && offset <= end).ok_or_else(|| {
            let wanted = match length {
                Some(n) => format!("{n} bytes at offset {offset}"),
                None => format!("the bytes from offset {offset}"),
            };
            err(format!("external data file '{location}' has {file_len} bytes, too short for {wanted}"))
        })?;
        let count = usize::try_from(end - offset)
            .map_err(|_| err(format!("external data in '{location}' is too large to load")))?;
        let mut data = vec![0u8; count];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut data))
            .map_err(|e| err(format!("cannot read external data file '{location}': {e}")))?;
        t.raw_data = data;
        t.external_data.clear();
        t.data_location = DataLocation::Default as i32;
        Ok(())
    }

    /// The file `location` names inside the base folder; an error message
    /// when it is absolute, climbs out with `..`, is missing, or (through a
    /// symlink) lies outside the folder.
    fn resolve(&mut self, location: &str) -> Result<PathBuf, String> {
        let rel = Path::new(location);
        if location.is_empty() {
            return Err("external data has an empty 'location'".into());
        }
        if rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(format!(
                "external data location '{location}' must be a relative path inside the model's folder"
            ));
        }
        let joined = self.base_dir.join(rel);
        if !joined.exists() {
            return Err(format!(
                "external data file '{location}' not found (looked for '{}')",
                joined.display()
            ));
        }
        let base = match &self.canonical_base {
            Some(b) => b.clone(),
            None => {
                let b = self
                    .base_dir
                    .canonicalize()
                    .map_err(|e| format!("cannot resolve the model's folder '{}': {e}", self.base_dir.display()))?;
                self.canonical_base = Some(b.clone());
                b
            }
        };
        let real = joined.canonicalize().map_err(|e| format!("cannot resolve external data file '{location}': {e}"))?;
        if !real.starts_with(&base) {
            return Err(format!("external data location '{location}' leads outside the model's folder"));
        }
        if real.is_dir() {
            return Err(format!("external data location '{location}' is a directory"));
        }
        Ok(real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::{
        attribute_proto::AttributeType, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    };
    use crate::onnx::tensor::tensor_to_dense;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh folder under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tessera-load-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }

        fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("parent dir");
            }
            std::fs::write(&path, bytes).expect("write");
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn external(name: &str, dims: &[i64], entries: &[(&str, &str)]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: 1,
            data_location: DataLocation::External as i32,
            external_data: entries
                .iter()
                .map(|(k, v)| StringStringEntryProto { key: k.to_string(), value: v.to_string() })
                .collect(),
            ..Default::default()
        }
    }

    fn model(initializer: Vec<TensorProto>) -> ModelProto {
        ModelProto {
            ir_version: 10,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 21 }],
            graph: Some(GraphProto { name: "g".into(), initializer, ..Default::default() }),
            ..Default::default()
        }
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn load_err(path: &Path) -> String {
        load_model(path).expect_err("must fail").message
    }

    #[test]
    fn loads_a_model() {
        let dir = TempDir::new();
        let path = dir.write("m.onnx", &model(vec![]).encode_to_vec());
        let m = load_model(&path).expect("loads");
        assert_eq!(m.ir_version, 10);
        assert_eq!(m.graph.expect("graph").name, "g");
    }

    #[test]
    fn unreadable_files_are_clear_errors() {
        let dir = TempDir::new();
        let missing = dir.0.join("nope.onnx");
        let msg = load_err(&missing);
        assert!(msg.starts_with(&format!("cannot read ONNX model '{}'", missing.display())), "{msg}");

        assert_eq!(load_err(&dir.0), format!("'{}' is a directory, not an ONNX model file", dir.0.display()));

        let empty = dir.write("empty.onnx", b"");
        assert_eq!(load_err(&empty), format!("'{}' is empty, not an ONNX model", empty.display()));
    }

    #[test]
    fn garbage_and_truncated_models_are_clear_errors() {
        let dir = TempDir::new();
        let bytes = model(vec![external("w", &[2], &[("location", "w.bin")])]).encode_to_vec();
        for cut in 1..bytes.len() {
            let path = dir.write("cut.onnx", &bytes[..cut]);
            let msg = load_err(&path);
            assert!(msg.contains(&path.display().to_string()) && msg.contains("not a valid ONNX model"), "{cut}: {msg}");
        }
        for garbage in [&b"hello, world\n"[..], &[0xff; 64][..], b"\x08\x0a\x3a\xff\xff\xff\xff\x0f", b"\x0a"] {
            let path = dir.write("garbage.onnx", garbage);
            let msg = load_err(&path);
            assert!(msg.contains("not a valid ONNX model"), "{msg}");
        }
        // Deep nesting hits prost's recursion limit: an error, not a stack overflow.
        let mut g = GraphProto::default();
        for _ in 0..200 {
            let attr = AttributeProto { r#type: AttributeType::Graph as i32, g: Some(g), ..Default::default() };
            g = GraphProto { node: vec![NodeProto { attribute: vec![attr], ..Default::default() }], ..Default::default() };
        }
        let deep = ModelProto { graph: Some(g), ..model(vec![]) };
        let path = dir.write("deep.onnx", &deep.encode_to_vec());
        assert!(load_err(&path).contains("recursion limit"));
    }

    #[test]
    fn external_data_is_loaded() {
        let dir = TempDir::new();
        let mut blob = vec![0xAA; 16];
        blob.extend(f32_bytes(&[1.0, 2.0, 3.0]));
        blob.extend(f32_bytes(&[4.0, 5.0]));
        dir.write("data/weights.bin", &blob);
        dir.write("tail.bin", &f32_bytes(&[6.0]));
        let w = external("w", &[3], &[("location", "data/weights.bin"), ("offset", "16"), ("length", "12")]);
        let v = external("v", &[2], &[("location", "./data/weights.bin"), ("offset", "28")]);
        let t = external("t", &[1], &[("location", "tail.bin"), ("checksum", "ignored")]);
        // A Constant inside an If branch keeps its value externally too.
        let constant = NodeProto {
            op_type: "Constant".into(),
            attribute: vec![AttributeProto {
                name: "value".into(),
                r#type: AttributeType::Tensor as i32,
                t: Some(external("c", &[1], &[("location", "tail.bin")])),
                ..Default::default()
            }],
            ..Default::default()
        };
        let branch = GraphProto { node: vec![constant], ..Default::default() };
        let if_node = NodeProto {
            op_type: "If".into(),
            attribute: vec![AttributeProto {
                name: "then_branch".into(),
                r#type: AttributeType::Graph as i32,
                g: Some(branch),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut m = model(vec![w, v, t]);
        m.graph.as_mut().expect("graph").node.push(if_node);
        let path = dir.write("model.onnx", &m.encode_to_vec());

        let loaded = load_model(&path).expect("loads");
        let g = loaded.graph.expect("graph");
        let values = |t: &TensorProto| {
            let d = tensor_to_dense(t).expect("dense");
            (0..d.len()).map(|i| d.get(i).to_f64()).collect::<Vec<_>>()
        };
        assert_eq!(values(&g.initializer[0]), vec![1.0, 2.0, 3.0]);
        assert_eq!(values(&g.initializer[1]), vec![4.0, 5.0]);
        assert_eq!(values(&g.initializer[2]), vec![6.0]);
        assert!(g.initializer.iter().all(|t| t.data_location == 0 && t.external_data.is_empty()));
        let c = g.node[0].attribute[0].g.as_ref().and_then(|b| b.node[0].attribute[0].t.as_ref()).expect("c");
        assert_eq!(values(c), vec![6.0]);
    }

    fn external_err(dir: &TempDir, t: TensorProto) -> String {
        let path = dir.write("model.onnx", &model(vec![t]).encode_to_vec());
        load_err(&path)
    }

    #[test]
    fn bad_external_data_is_a_clear_error() {
        let dir = TempDir::new();
        dir.write("small.bin", &[0; 8]);
        let msg = external_err(&dir, external("w", &[4], &[("location", "weights.bin")]));
        assert!(msg.starts_with("tensor 'w': external data file 'weights.bin' not found (looked for '"), "{msg}");

        let msg = external_err(&dir, external("w", &[4], &[("location", "small.bin"), ("length", "16")]));
        assert_eq!(msg, "tensor 'w': external data file 'small.bin' has 8 bytes, too short for 16 bytes at offset 0");
        let msg = external_err(&dir, external("w", &[4], &[("location", "small.bin"), ("offset", "9")]));
        assert_eq!(msg, "tensor 'w': external data file 'small.bin' has 8 bytes, too short for the bytes from offset 9");
        let msg = external_err(
            &dir,
            external("w", &[4], &[("location", "small.bin"), ("offset", "1"), ("length", "18446744073709551615")]),
        );
        assert!(msg.contains("too short"), "{msg}");
        let msg = external_err(&dir, external("w", &[4], &[("location", "small.bin"), ("offset", "-3")]));
        assert_eq!(msg, "tensor 'w': external data offset '-3' is not a non-negative integer");
        let msg = external_err(&dir, external("w", &[4], &[("offset", "0")]));
        assert_eq!(msg, "tensor 'w': external data has no 'location'");
        let msg = external_err(&dir, external("w", &[4], &[("location", ".")]));
        assert!(msg.contains("is a directory"), "{msg}");

        // The data loads, but its byte count does not fit the dims: caught on conversion.
        let path = dir.write("model.onnx", &model(vec![external("w", &[4], &[("location", "small.bin")])]).encode_to_vec());
        let m = load_model(&path).expect("loads");
        let msg = tensor_to_dense(&m.graph.expect("graph").initializer[0]).expect_err("size").message;
        assert_eq!(msg, "tensor 'w': raw_data holds 8 bytes, but 4 elements of FLOAT (dims [4]) need 16");
    }

    #[test]
    fn external_paths_may_not_leave_the_model_folder() {
        let outer = TempDir::new();
        outer.write("secret.bin", &[0; 16]);
        let inner = outer.0.join("model");
        std::fs::create_dir_all(&inner).expect("dir");
        let write_model = |loc: &str| {
            let path = inner.join("model.onnx");
            std::fs::write(&path, model(vec![external("w", &[4], &[("location", loc)])]).encode_to_vec()).expect("write");
            load_err(&path)
        };
        let secret = outer.0.join("secret.bin");
        for loc in ["../secret.bin", "sub/../../secret.bin", secret.to_str().expect("utf-8 temp path")] {
            let msg = write_model(loc);
            assert!(msg.contains("must be a relative path inside the model's folder"), "{loc}: {msg}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&secret, inner.join("link.bin")).expect("symlink");
            let msg = write_model("link.bin");
            assert_eq!(msg, "tensor 'w': external data location 'link.bin' leads outside the model's folder");
        }
    }

    #[test]
    fn tensor_files() {
        let dir = TempDir::new();
        let t = TensorProto { dims: vec![2], data_type: 1, float_data: vec![1.0, 2.0], ..Default::default() };
        let path = dir.write("input_0.pb", &t.encode_to_vec());
        assert_eq!(load_tensor(&path).expect("loads"), t);

        let empty = dir.write("empty.pb", b"");
        assert_eq!(
            load_tensor(&empty).expect_err("empty").message,
            format!("'{}' is empty, not an ONNX tensor", empty.display())
        );
        let garbage = dir.write("garbage.pb", b"\x0a\x05\x01");
        assert!(load_tensor(&garbage).expect_err("garbage").message.contains("is not a valid ONNX tensor"));
        let untyped = dir.write("untyped.pb", &TensorProto { dims: vec![1], ..Default::default() }.encode_to_vec());
        assert!(load_tensor(&untyped).expect_err("untyped").message.contains("has no element type"));
        assert!(load_tensor(&dir.0.join("none.pb")).expect_err("missing").message.starts_with("cannot read ONNX tensor"));

        let seq = SequenceProto { name: "s".into(), elem_type: 1, tensor_values: vec![t.clone()], ..Default::default() };
        let path = dir.write("seq.pb", &seq.encode_to_vec());
        assert_eq!(load_sequence(&path).expect("sequence"), seq);
        let opt = OptionalProto { name: "o".into(), elem_type: 1, tensor_value: Some(t), ..Default::default() };
        let path = dir.write("opt.pb", &opt.encode_to_vec());
        assert_eq!(load_optional(&path).expect("optional"), opt);
    }

    /// Every model and tensor the node-test generator wrote loads, and every
    /// tensor of a dtype tessera has converts. Runs when the data exists
    /// (`bash .ci/setup` writes it to `target/onnx-tests`).
    #[test]
    fn generated_node_test_data_loads() {
        let root = std::env::var_os("TESSERA_ONNX_TESTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/onnx-tests"));
        let Ok(entries) = std::fs::read_dir(&root) else {
            eprintln!("skipped: no node-test data at {} (run bash .ci/setup)", root.display());
            return;
        };
        let mut case_dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        if let Ok(light) = std::fs::read_dir(root.join("light")) {
            case_dirs.extend(light.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
        let (mut models, mut tensors, mut converted) = (0, 0, 0);
        for dir in case_dirs {
            let model_path = dir.join("model.onnx");
            if !model_path.exists() {
                continue;
            }
            let m = load_model(&model_path).unwrap_or_else(|e| panic!("{e}"));
            let g = m.graph.expect("graph");
            models += 1;
            for t in &g.initializer {
                if crate::onnx::tensor::dtype_from_onnx(t.data_type).is_some() {
                    tensor_to_dense(t).unwrap_or_else(|e| panic!("{}: {e}", model_path.display()));
                }
            }
            let data = dir.join("test_data_set_0");
            for (prefix, infos) in [("input", &g.input), ("output", &g.output)] {
                for (i, info) in infos.iter().enumerate() {
                    let file = data.join(format!("{prefix}_{i}.pb"));
                    let is_tensor = matches!(
                        info.r#type.as_ref().and_then(|t| t.value.as_ref()),
                        Some(crate::onnx::proto::type_proto::Value::TensorType(_))
                    );
                    if !file.exists() || !is_tensor {
                        continue;
                    }
                    let t = load_tensor(&file).unwrap_or_else(|e| panic!("{e}"));
                    tensors += 1;
                    if crate::onnx::tensor::dtype_from_onnx(t.data_type).is_some() {
                        tensor_to_dense(&t).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                        converted += 1;
                    }
                }
            }
        }
        eprintln!("{models} models, {tensors} tensors loaded, {converted} converted");
        assert!(models > 0, "no models under {}", root.display());
    }
}
