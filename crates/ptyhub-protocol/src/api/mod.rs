//! The JSON bodies of the HTTP API under `/api` (docs/http-api.md).
//!
//! Request bodies reject unknown fields (`deny_unknown_fields`); decode them
//! with [`decode_body`], which also insists on a JSON object and says what is
//! wrong in a human sentence. Response types serialize every field, `null`
//! included (but [`ScreenResponse`]'s absent `lines`/`ansi`), and decode
//! leniently (unknown fields ignored) so that clients survive additions.
//!
//! Ranges (`cols`/`rows` 1 to 1000, `name` length, signal names) are the
//! caller's to check: the types only fix the JSON shape, so that an
//! out-of-range value gets its own error rather than a type error.

mod agent;
mod body;
mod preview;
mod recording;
mod requests;
mod responses;
mod session;

pub use agent::{AgentInfo, AgentSource, AgentState};
pub use body::{BodyError, decode_body};
pub use preview::{PreviewColor, PreviewRun, SessionPreview};
pub use recording::{RecordingEntry, RecordingInfo, RecordingList, RecordingState};
pub use requests::HookBody;
pub use requests::{
    CreateSessionRequest, InputRequest, PatchSessionRequest, ResizeRequest, SignalRequest,
    WaitRequest,
};
pub use responses::{
    Cursor, ErrorBody, ErrorDetail, OutputResponse, ProviderInfo, ProviderList, ScreenResponse,
    SessionList, WaitAgentResponse, WaitResponse,
};
pub use session::{ExitInfo, ExitReason, ResizePolicy, Resources, SessionInfo, SessionStatus};
