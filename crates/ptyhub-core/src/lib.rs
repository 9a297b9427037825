//! Sessions: one program in a PTY read once, its server-side screen, its
//! byte-offset scrollback and the bounded fan-out to its clients; the
//! [`Registry`] that holds them and publishes their changes, and the
//! [`Supervisor`] that starts them and watches their time and resources.
//! No HTTP here.
//!
//! The output path of one session (no thread of its own):
//!
//! ```text
//! PTY master ─reading task (AsyncFd)─▶ ring (offsets, shared chunks) ─▶ each client reads at its cursor
//!                                       └─▶ screen's job (vt100) on the blocking pool, in batches, off this path
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
mod screen;
mod session;
mod supervisor;

pub use agent::{AgentRules, AgentSpec};
pub use client::{AttachOptions, AttachStart, Client, ClientEvent};
pub use config::{CoreConfig, Limits};
pub use error::CoreError;
pub use registry::{Registry, RegistryEvent};
pub use screen::Screen;
pub use session::{Change, Session, SessionSpec};
pub use supervisor::{Stats, Supervisor};
