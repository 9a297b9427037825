//! Starting sessions from requests: provider or command, cwd, environment
//! and name checks of docs/security.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ptyhub_core::SessionSpec;
use ptyhub_protocol::api::CreateSessionRequest;
use ptyhub_pty::{Environment, WindowSize};

use crate::error::ApiError;
use crate::state::AppState;

/// Longest session name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Most labels per session.
pub const MAX_LABELS: usize = 32;

/// A session name: 1 to 128 bytes, no control characters.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_name",
            format!("a name is 1 to {MAX_NAME_BYTES} bytes without control characters"),
        ));
    }
    Ok(())
}

/// At most 32 labels of bounded size.
pub fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if labels.len() > MAX_LABELS {
        return Err(ApiError::bad_request(
            "invalid_labels",
            format!("at most {MAX_LABELS} labels"),
        ));
    }
    if labels
        .iter()
        .any(|(k, v)| k.is_empty() || k.len() > 128 || v.len() > 1024)
    {
        return Err(ApiError::bad_request(
            "invalid_labels",
            "label keys are 1 to 128 bytes, values at most 1024",
        ));
    }
    Ok(())
}

/// A terminal size of 1 to 1000 in each dimension.
pub fn check_size(cols: u32, rows: u32) -> Result<WindowSize, ApiError> {
    WindowSize::new(cols, rows).map_err(|e| ApiError::bad_request("invalid_size", e.to_string()))
}

fn default_cwd() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn check_cwd(state: &AppState, cwd: &Path) -> Result<PathBuf, ApiError> {
    let canonical = cwd
        .canonicalize()
        .map_err(|e| ApiError::bad_request("invalid_cwd", format!("cwd {}: {e}", cwd.display())))?;
    if !canonical.is_dir() {
        return Err(ApiError::bad_request(
            "invalid_cwd",
            format!("cwd {} is not a directory", cwd.display()),
        ));
    }
    if let Some(root) = &state.options.workspace_root {
        let root = root.canonicalize().unwrap_or_else(|_| root.clone());
        if !canonical.starts_with(&root) {
            return Err(ApiError::forbidden(
                "cwd_forbidden",
                format!("cwd must be under the workspace root {}", root.display()),
            ));
        }
    }
    Ok(canonical)
}

fn check_env(state: &AppState, env: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for key in env.keys() {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(ApiError::bad_request(
                "invalid_env",
                format!("bad variable name {key:?}"),
            ));
        }
        if let Some(allow) = &state.options.env_allow
            && !allow.iter().any(|a| a == key)
        {
            return Err(ApiError::forbidden(
                "env_forbidden",
                format!("{key} is not in env_allow"),
            ));
        }
        // Each runs code of the requester's choosing in the program.
        let dangerous = ptyhub_pty::runs_code(key);
        if dangerous && !state.options.allow_arbitrary_commands {
            return Err(ApiError::forbidden(
                "env_forbidden",
                format!("{key} may only be set when arbitrary commands are allowed"),
            ));
        }
    }
    Ok(())
}

/// The spec of a session to start, from a create request.
pub fn spec_from_request(
    state: &AppState,
    req: CreateSessionRequest,
) -> Result<SessionSpec, ApiError> {
    if let Some(name) = &req.name {
        check_name(name)?;
    }
    let labels = req.labels.unwrap_or_default();
    check_labels(&labels)?;
    let size = match (req.cols, req.rows) {
        (None, None) => WindowSize::default(),
        (cols, rows) => check_size(cols.unwrap_or(80), rows.unwrap_or(24))?,
    };
    let request_env = req.env.unwrap_or_default();
    check_env(state, &request_env)?;
    let mut program_dir = None;
    let (argv, provider_env, provider_cwd, provider) = match (req.command, req.provider) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "bad_request",
                "give either provider or command, not both",
            ));
        }
        (Some(command), None) => {
            if !state.options.allow_arbitrary_commands {
                return Err(ApiError::forbidden(
                    "arbitrary_command",
                    "arbitrary commands are not allowed on this server; start a provider, or set allow_arbitrary_commands",
                ));
            }
            if command.is_empty() || command[0].is_empty() {
                return Err(ApiError::bad_request(
                    "bad_request",
                    "command must name a program",
                ));
            }
            (command, BTreeMap::new(), None, None)
        }
        (None, provider) => {
            let name = provider.unwrap_or_else(|| "shell".to_owned());
            let Some(p) = state.providers.get(&name) else {
                return Err(ApiError::bad_request(
                    "unknown_provider",
                    format!("no provider named {name:?}"),
                ));
            };
            if !p.available {
                return Err(ApiError::bad_request(
                    "provider_unavailable",
                    format!(
                        "provider {name:?} is not available: {} was not found",
                        p.command
                    ),
                ));
            }
            program_dir = p
                .resolved
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_owned);
            let program = p
                .resolved
                .as_ref()
                .map(|r| r.display().to_string())
                .unwrap_or_else(|| p.command.clone());
            let mut argv = vec![program];
            argv.extend(p.args.iter().cloned());
            (argv, p.env.clone(), p.cwd.clone(), Some(name))
        }
    };
    let cwd = match req.cwd.map(PathBuf::from).or(provider_cwd) {
        Some(cwd) => check_cwd(state, &cwd)?,
        None => match &state.options.workspace_root {
            Some(root) => check_cwd(state, root)?,
            None => default_cwd(),
        },
    };
    // A provider's own limits go over the server-wide ones.
    let limits = match provider
        .as_ref()
        .and_then(|p| state.options.providers.get(p))
    {
        Some(config) => config.limits(state.options.limits()),
        None => state.options.limits(),
    };
    let env = Environment::from_current_process();
    let env = match program_dir.and_then(|dir| path_with(env.get("PATH"), &dir)) {
        Some(path) => env.overlay([("PATH", path.as_str())]),
        None => env,
    };
    let env = env
        .overlay(provider_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .overlay(request_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut spec = SessionSpec {
        argv,
        cwd,
        env,
        size,
        name: req.name,
        labels,
        provider,
        resize_policy: req.resize_policy.unwrap_or(state.options.resize_policy),
        limits: Some(limits),
        id: None,
        agent: Default::default(),
    };
    crate::hook::prepare(state, &mut spec);
    Ok(spec)
}

/// `path` with `dir` appended, when `dir` is not in it already: a provider
/// found outside `PATH` (its `bin_dir`, npm's global bin, `~/.local/bin`) is
/// often a `#!/usr/bin/env node` script whose `node` sits next to it (nvm).
fn path_with(path: Option<&str>, dir: &Path) -> Option<String> {
    let dir = dir.to_str()?;
    let path = path.unwrap_or_default();
    if path.split(':').any(|d| d == dir) {
        return None;
    }
    Some(if path.is_empty() {
        dir.to_owned()
    } else {
        format!("{path}:{dir}")
    })
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn a_program_dir_joins_the_end_of_path_once() {
        let dir = Path::new("/opt/node/bin");
        assert_eq!(
            path_with(Some("/usr/bin:/bin"), dir).as_deref(),
            Some("/usr/bin:/bin:/opt/node/bin")
        );
        assert_eq!(path_with(Some("/opt/node/bin:/bin"), dir), None);
        assert_eq!(path_with(None, dir).as_deref(), Some("/opt/node/bin"));
    }
}
