//! ONNX: the protobuf messages ([`proto`]), reading model and test-data files
//! with their external data ([`load`]), and tensors and element types to and
//! from tessera's ([`tensor`]).

pub mod export;
pub mod import;
pub mod load;
pub mod proto;
pub mod tensor;

pub use load::{load_model, load_optional, load_sequence, load_tensor};
pub use tensor::{dense_to_tensor, dtype_from_onnx, dtype_to_onnx, tensor_to_dense};
