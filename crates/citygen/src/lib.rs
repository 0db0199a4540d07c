//! twin-citygen
