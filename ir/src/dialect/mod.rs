//! Dialects and the registry that finds an op's declaration by name.

pub mod graph;
pub mod kernel;

use crate::op::OpRef;
use std::collections::HashMap;
use std::sync::LazyLock;

static REGISTRY: LazyLock<HashMap<&'static str, OpRef>> =
    LazyLock::new(|| all_ops().map(|op| (op.name(), op)).collect());

/// Every registered op, dialect by dialect.
pub fn all_ops() -> impl Iterator<Item = OpRef> {
    graph::ops().chain(kernel::ops())
}

/// The op called `name` (`tg.add`).
pub fn lookup(name: &str) -> Option<OpRef> {
    REGISTRY.get(name).copied()
}
