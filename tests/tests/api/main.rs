//! The black-box suite: one binary, one module per area.

mod platform;
