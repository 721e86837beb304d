//! Training as graph IR: losses ([`Loss`]), optimisers ([`Optimizer`]) and
//! the builder of the whole step ([`build_train_step`]), so that a step is
//! one ordinary function that evaluates, verifies and compiles like any other.
//! Ops with a training mode (batch statistics, dropout) switch to it in the
//! step ([`training_mode`]) and back to inference elsewhere ([`inference_mode`]).

mod loss;
mod mode;
#[cfg(test)]
mod mode_tests;
mod optim;
mod random;
mod step;
#[cfg(test)]
mod tests;

pub use loss::Loss;
pub use mode::{inference_mode, training_mode, TrainingForm};
pub use optim::Optimizer;
pub use step::{build_train_step, TrainStep};
