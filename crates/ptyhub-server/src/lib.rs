//! ptyhub's HTTP API and WebSocket attach on warp: routes, auth and origin
//! checks, the WebSocket client loops, the embedded web assets, metrics.

pub mod auth;
pub mod error;
pub mod options;
pub mod providers;
pub mod runtime_file;
pub mod units;
