//! The table from ONNX operator names to converters, assembled from the
//! family modules. Each operator has exactly one converter (checked by a test).

use super::cx::NodeCx;
use std::collections::HashMap;
use std::sync::LazyLock;
use tessera_ir::ValueId;

/// Converts one node, returning one value per node output it supports.
pub type Convert = fn(&mut NodeCx) -> Result<Vec<ValueId>, String>;

/// Every family's converters.
const FAMILIES: &[&[(&str, Convert)]] = &[
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
    super::sequence_ops::CONVERTERS,
];

static REGISTRY: LazyLock<HashMap<&'static str, Convert>> =
    LazyLock::new(|| FAMILIES.iter().flat_map(|f| f.iter().copied()).collect());

/// The converter for a default-domain operator.
pub fn converter(domain: &str, op_type: &str) -> Option<Convert> {
    if !(domain.is_empty() || domain == "ai.onnx") {
        return None;
    }
    REGISTRY.get(op_type).copied()
}

/// Every supported default-domain operator, sorted.
pub fn supported_operators() -> Vec<&'static str> {
    let mut names: Vec<&str> = REGISTRY.keys().copied().collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator_has_exactly_one_converter() {
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<&str> = FAMILIES.iter().flat_map(|f| f.iter().map(|(n, _)| *n)).filter(|n| !seen.insert(*n)).collect();
        assert!(repeated.is_empty(), "registered twice: {repeated:?}");
    }
}
