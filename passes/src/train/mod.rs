//! Training as graph IR: losses ([`Loss`]), optimisers ([`Optimizer`]) and
//! the builder of the whole step ([`build_train_step`]), so that a step is
//! one ordinary function that evaluates, verifies and compiles like any other.

mod loss;
mod optim;
mod step;
#[cfg(test)]
mod tests;

pub use loss::Loss;
pub use optim::Optimizer;
pub use step::{build_train_step, TrainStep};
