//! tessera-frontend: ONNX import/export and the `.tsr` language (not yet written; see README.md).
