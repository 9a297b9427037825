//! ptyhub's HTTP API and WebSocket attach on warp: routes, auth and origin
//! checks, the WebSocket client loops, the embedded web assets, metrics.

pub mod accept;
pub mod assets;
pub mod auth;
mod convert;
pub mod error;
pub mod hook;
pub mod metrics;
pub mod options;
pub mod providers;
pub mod routes;
pub mod runtime_file;
pub mod server;
pub mod sessions;
pub mod state;
pub mod units;
mod ws;

pub use server::Server;
