//! tessera-frontend: models into and out of tessera's IR.
//!
//! Today it reads ONNX files ([`onnx`]: prost messages, external data,
//! tensors to [`tessera_ir::DenseAttr`]) and `.npy` arrays ([`npy`]). ONNX
//! import to the graph dialect, export, and the `.tsr` language build on
//! these; see README.md.

pub mod npy;
pub mod npz;
pub mod onnx;
pub mod tsr;
