//! twin-io
