//! Writing an exported model to disk: atomically (a temporary file in the
//! same folder, renamed into place), and with the initializers' bytes in a
//! `<file>.data` file beside the model when the model is too large for one
//! protobuf message (2 GB) or the caller asks for it. Each moved tensor
//! records `location`, `offset` and `length`, as ONNX's external-data
//! convention says; offsets are aligned to 64 bytes.

use crate::onnx::proto::tensor_proto::DataLocation;
use crate::onnx::proto::{GraphProto, ModelProto, StringStringEntryProto, TensorProto};
use prost::Message;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use tessera_ir::{Diag, Loc};

/// The encoded size above which initializers go to external data by
/// default: a little under protobuf's 2 GB limit on one message.
pub const DEFAULT_EXTERNAL_THRESHOLD: u64 = 2_000_000_000;

/// Where external tensors start: a multiple of this many bytes.
const ALIGNMENT: u64 = 64;

fn error(message: String) -> Diag {
    Diag::error(Loc::Unknown, message)
}

/// Writes `model` to `path` atomically. When its encoded size exceeds
/// `external_data_threshold` bytes (pass 0 to always do this), every
/// initializer held in `raw_data` moves to `<file name>.data` next to it.
pub fn write_model(path: &Path, model: &ModelProto, external_data_threshold: u64) -> Result<(), Diag> {
    if model.encoded_len() as u64 <= external_data_threshold {
        return write_atomically(path, |w| w.write_all(&model.encode_to_vec()));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| error(format!("'{}' names no file", path.display())))?;
    let location = format!("{file_name}.data");
    let data_path = path.with_file_name(&location);
    let graph = model.graph.as_ref();
    let initializers: &[TensorProto] = graph.map_or(&[], |g| &g.initializer);
    let mut moved = Vec::with_capacity(initializers.len());
    write_atomically(&data_path, |w| {
        let mut offset = 0u64;
        for t in initializers {
            if t.raw_data.is_empty() {
                moved.push(t.clone());
                continue;
            }
            let padding = (ALIGNMENT - offset % ALIGNMENT) % ALIGNMENT;
            w.write_all(&vec![0u8; padding as usize])?;
            offset += padding;
            w.write_all(&t.raw_data)?;
            let length = t.raw_data.len() as u64;
            moved.push(external(t, &location, offset, length));
            offset += length;
        }
        Ok(())
    })?;
    let shell =
        ModelProto { graph: graph.map(|g| graph_with(g, std::mem::take(&mut moved))), ..model_without_graph(model) };
    write_atomically(path, |w| w.write_all(&shell.encode_to_vec()))
}

/// `t` without its bytes, pointing at `length` bytes at `offset` of `location`.
fn external(t: &TensorProto, location: &str, offset: u64, length: u64) -> TensorProto {
    let entry = |key: &str, value: String| StringStringEntryProto { key: key.to_string(), value };
    TensorProto {
        dims: t.dims.clone(),
        data_type: t.data_type,
        name: t.name.clone(),
        doc_string: t.doc_string.clone(),
        external_data: vec![
            entry("location", location.to_string()),
            entry("offset", offset.to_string()),
            entry("length", length.to_string()),
        ],
        data_location: DataLocation::External as i32,
        metadata_props: t.metadata_props.clone(),
        ..Default::default()
    }
}

/// A copy of `g` with `initializer` in place of its own.
fn graph_with(g: &GraphProto, initializer: Vec<TensorProto>) -> GraphProto {
    GraphProto {
        node: g.node.clone(),
        name: g.name.clone(),
        initializer,
        doc_string: g.doc_string.clone(),
        input: g.input.clone(),
        output: g.output.clone(),
        value_info: g.value_info.clone(),
        quantization_annotation: g.quantization_annotation.clone(),
        sparse_initializer: g.sparse_initializer.clone(),
        metadata_props: g.metadata_props.clone(),
    }
}

/// A copy of every field of `m` but its graph.
fn model_without_graph(m: &ModelProto) -> ModelProto {
    ModelProto {
        ir_version: m.ir_version,
        producer_name: m.producer_name.clone(),
        producer_version: m.producer_version.clone(),
        domain: m.domain.clone(),
        model_version: m.model_version,
        doc_string: m.doc_string.clone(),
        graph: None,
        opset_import: m.opset_import.clone(),
        metadata_props: m.metadata_props.clone(),
        training_info: m.training_info.clone(),
        functions: m.functions.clone(),
        configuration: m.configuration.clone(),
    }
}

/// Writes `path` through `fill` into a temporary file beside it, then
/// renames it into place; on failure the temporary file is removed.
fn write_atomically(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<(), Diag> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        w.flush()?;
        w.get_ref().sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        error(format!("cannot write '{}': {e}", path.display()))
    })
}
