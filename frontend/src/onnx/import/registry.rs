//! The table from ONNX operator names to converters, assembled from the
//! family modules.

use super::cx::NodeCx;
use std::collections::HashMap;
use std::sync::LazyLock;
use tessera_ir::ValueId;

/// Converts one node, returning one value per node output it supports.
pub type Convert = fn(&mut NodeCx) -> Result<Vec<ValueId>, String>;

static REGISTRY: LazyLock<HashMap<&'static str, Convert>> = LazyLock::new(|| {
    let families: &[&[(&str, Convert)]] = &[
        super::elementwise::CONVERTERS,
        super::activation::CONVERTERS,
        super::reduce::CONVERTERS,
        super::math::CONVERTERS,
        super::shape::CONVERTERS,
        super::index::CONVERTERS,
        super::control::CONVERTERS,
        super::nn::CONVERTERS,
        super::rnn::CONVERTERS,
        super::attention::CONVERTERS,
        super::loss::CONVERTERS,
        super::quant::CONVERTERS,
        super::signal::CONVERTERS,
        super::image::CONVERTERS,
    ];
    families.iter().flat_map(|f| f.iter().copied()).collect()
});

/// The converter for a default-domain operator.
pub fn converter(domain: &str, op_type: &str) -> Option<Convert> {
    if !(domain.is_empty() || domain == "ai.onnx") {
        return None;
    }
    REGISTRY.get(op_type).copied()
}
