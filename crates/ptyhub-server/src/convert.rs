//! Core errors as API errors: the one classification of what went wrong
//! (the status codes themselves are in `error.rs`).

use ptyhub_core::CoreError;
use ptyhub_pty::SpawnError;

use crate::error::ApiError;

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        let message = e.to_string();
        match e {
            CoreError::NotFound(_) => ApiError::not_found(message),
            CoreError::Ended => ApiError::conflict("not_running", message),
            CoreError::ReadOnly => ApiError::forbidden("read_only", message),
            CoreError::TooManySessions(_) => ApiError::too_many("too_many_sessions", message),
            CoreError::TooManyClients(_) => ApiError::too_many("too_many_clients", message),
            CoreError::NameTaken(_) => ApiError::conflict("name_taken", message),
            CoreError::Invalid(_) => ApiError::bad_request("bad_request", message),
            CoreError::Spawn(spawn) => match spawn {
                SpawnError::ProgramNotFound { .. } => {
                    ApiError::bad_request("program_not_found", message)
                }
                SpawnError::NotExecutable { .. } | SpawnError::Exec { .. } => {
                    ApiError::bad_request("program_not_executable", message)
                }
                SpawnError::CwdMissing { .. } | SpawnError::CwdNotDirectory { .. } => {
                    ApiError::bad_request("invalid_cwd", message)
                }
                SpawnError::Invalid(_) => ApiError::bad_request("bad_request", message),
                SpawnError::PtyExhausted(_) => ApiError::too_many("pty_exhausted", message),
                SpawnError::Pty(_) | SpawnError::Guard(_) => ApiError::internal(message),
            },
            CoreError::Pty(pty) => match pty {
                ptyhub_pty::PtyError::InvalidSize { .. } => {
                    ApiError::bad_request("invalid_size", message)
                }
                ptyhub_pty::PtyError::NoForeground
                | ptyhub_pty::PtyError::ProcessGone { .. }
                | ptyhub_pty::PtyError::GuardGone
                | ptyhub_pty::PtyError::InputClosed => ApiError::conflict("not_running", message),
                ptyhub_pty::PtyError::Os { .. } => ApiError::internal(message),
            },
        }
    }
}
