//! The shared differential cases ([`tessera_passes::differential::cases`])
//! lowered, compiled and run by the JIT against the reference evaluator:
//! one test per family, named as the family is (`cases::gather::...`).

use crate::harness::Jit;

tessera_passes::differential_tests!(Jit);
