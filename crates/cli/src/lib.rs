//! twin-cli
