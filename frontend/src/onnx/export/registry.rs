//! The table from graph-dialect op names to emitters, assembled from the
//! family modules. Each op has at most one emitter (checked by a test);
//! an op without one has no ONNX equivalent.

use super::cx::OpCx;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Emits one op as ONNX nodes whose outputs carry the names of its results.
pub type Emit = fn(&mut OpCx) -> Result<(), String>;

/// Every family's emitters.
const FAMILIES: &[&[(&str, Emit)]] = &[
    super::elementwise::EMITTERS,
    super::reduce::EMITTERS,
    super::shape::EMITTERS,
    super::index::EMITTERS,
    super::linalg::EMITTERS,
    super::window::EMITTERS,
    super::sort::EMITTERS,
    super::value::EMITTERS,
    super::control::EMITTERS,
];

static REGISTRY: LazyLock<HashMap<&'static str, Emit>> =
    LazyLock::new(|| FAMILIES.iter().flat_map(|f| f.iter().copied()).collect());

/// The emitter of the op called `name` (`tg.add`).
pub fn emitter(name: &str) -> Option<Emit> {
    REGISTRY.get(name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_graph_op_has_exactly_one_emitter_or_none() {
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<&str> =
            FAMILIES.iter().flat_map(|f| f.iter().map(|(n, _)| *n)).filter(|n| !seen.insert(*n)).collect();
        assert!(repeated.is_empty(), "registered twice: {repeated:?}");
        let known: Vec<&str> = tessera_ir::dialect::all_ops().map(|op| op.name()).collect();
        let stray: Vec<&&str> = seen.iter().filter(|n| !known.contains(n)).collect();
        assert!(stray.is_empty(), "emitters for ops that do not exist: {stray:?}");
        // Terminators are handled by the driver; these have no ONNX equivalent up to opset 21.
        for name in ["tg.return", "tg.yield", "tg.cumprod"] {
            assert!(!seen.contains(name), "{name} should have no emitter");
        }
    }
}
