//! ptyhub's HTTP API and WebSocket attach on warp: routes, auth and origin
//! checks, the WebSocket client loops, the embedded web assets, metrics.

pub mod accept;
pub mod activation;
pub mod assets;
pub mod auth;
pub mod budget;
pub mod cluster;
mod convert;
pub mod error;
pub mod hook;
pub mod metrics;
pub mod openapi;
pub mod options;
pub mod providers;
pub mod reaping;
pub mod resources;
pub mod routes;
pub mod runtime_file;
pub mod server;
pub mod sessions;
pub mod state;
pub mod tls;
pub mod units;
pub mod unix_socket;
mod ws;

pub use server::Server;
