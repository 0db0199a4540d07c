//! twin-model
