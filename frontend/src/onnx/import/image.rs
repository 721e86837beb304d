//! ONNX converters: image family (being written).

use super::registry::Convert;

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[];
