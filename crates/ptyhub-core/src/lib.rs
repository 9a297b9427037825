//! Sessions: one program in a PTY read once, its server-side screen, its
//! byte-offset scrollback and the bounded fan-out to its clients; the
//! registry that owns them. No HTTP here.
//!
//! The output path of one session:
//!
//! ```text
//! PTY master ─reader thread─▶ ring (offsets, shared chunks) ─▶ each client reads at its cursor
//!                                   └─▶ screen thread (vt100), in batches, off this path
//! ```
//!
//! A client's pending bytes (live offset − its cursor) are its queue: when
//! one would pass `client_queue_bytes` the reader waits (backpressure to
//! the program) for at most `stall_timeout`, then that client alone is
//! lagged and later resynchronised with a snapshot.

pub mod agent;
mod client;
mod config;
mod error;
mod output;
pub mod recording;
mod registry;
mod replies;
mod resize;
mod ring;
mod sampler;
mod screen;
mod session;
mod watcher;

pub use agent::{AgentRules, AgentSpec};
pub use client::{AttachOptions, AttachStart, Client, ClientEvent};
pub use config::{CoreConfig, Limits};
pub use error::CoreError;
pub use registry::{Registry, RegistryEvent, Stats};
pub use screen::Screen;
pub use session::{Change, Session, SessionSpec};
