//! The environment of a session's program, built from scratch.

use std::collections::BTreeMap;
use std::ffi::OsString;

/// Variables taken from the server's own environment; everything else (the
/// server's token above all) stays out. `LC_*` is taken too.
pub(crate) const SERVER_ENV_ALLOWLIST: &[&str] =
    &["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TZ"];

/// Variables that make a shell, the dynamic loader or an interpreter run
/// code of the setter's choosing (on top of every `LD_*` and `BASH_FUNC_*`,
/// see [`runs_code`]).
pub(crate) const CODE_RUNNING_ENV: &[&str] = &[
    // Shells: startup files, prompts (expanded, so `$(...)` runs), traces,
    // options (`SHELLOPTS=xtrace` with `PS4`), and zsh's startup directory.
    "BASH_ENV",
    "ENV",
    "PROMPT_COMMAND",
    "PS0",
    "PS1",
    "PS2",
    "PS4",
    "SHELLOPTS",
    "BASHOPTS",
    "ZDOTDIR",
    // glibc: character-set modules are shared objects it loads; tunables.
    "GCONV_PATH",
    "GLIBC_TUNABLES",
    // Interpreters' startup code and module paths.
    "NODE_OPTIONS",
    "PYTHONSTARTUP",
    "PYTHONPATH",
    "PYTHONHOME",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "RUBYOPT",
    "RUBYLIB",
    "LUA_INIT",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    // Git runs these.
    "GIT_SSH_COMMAND",
    "GIT_EXEC_PATH",
];

/// Whether setting `key` lets the setter run code in the program: `LD_*`,
/// exported bash functions (`BASH_FUNC_name%%`), and the variables shells,
/// glibc, interpreters and git take code or code paths from (`BASH_ENV`,
/// `PS1`, `GCONV_PATH`, `NODE_OPTIONS`, `PYTHONPATH`, `GIT_SSH_COMMAND`
/// and more: `CODE_RUNNING_ENV` in this module).
pub fn runs_code(key: &str) -> bool {
    key.starts_with("LD_") || key.starts_with("BASH_FUNC_") || CODE_RUNNING_ENV.contains(&key)
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A program's environment: the allowlisted part of the server's, then the
/// terminal's own variables, then the provider's, then the request's, each
/// layer overriding the one before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The base layers: the allowlist of `server_env`, then
    /// `TERM=xterm-256color` and `COLORTERM=truecolor`, a UTF-8 locale when
    /// the server has none set (as under a bare systemd unit), and a default
    /// `PATH` when the server has none.
    pub fn from_server(server_env: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let mut vars = BTreeMap::new();
        for (key, value) in server_env {
            let (Ok(key), Ok(value)) = (key.into_string(), value.into_string()) else {
                continue;
            };
            if SERVER_ENV_ALLOWLIST.contains(&key.as_str()) || key.starts_with("LC_") {
                vars.insert(key, value);
            }
        }
        vars.entry("PATH".to_owned())
            .or_insert_with(|| DEFAULT_PATH.to_owned());
        let has_locale = ["LANG", "LC_ALL", "LC_CTYPE"]
            .iter()
            .any(|k| vars.get(*k).is_some_and(|v| !v.is_empty()));
        if !has_locale {
            vars.insert("LANG".to_owned(), "C.UTF-8".to_owned());
        }
        vars.insert("TERM".to_owned(), "xterm-256color".to_owned());
        vars.insert("COLORTERM".to_owned(), "truecolor".to_owned());
        Environment { vars }
    }

    /// The base layers from this process's own environment.
    pub fn from_current_process() -> Self {
        Self::from_server(std::env::vars_os())
    }

    /// Adds a layer (the provider's, then the request's): later wins.
    pub fn overlay<'a>(mut self, layer: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        for (k, v) in layer {
            self.vars.insert(k.to_owned(), v.to_owned());
        }
        self
    }

    /// One variable.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// Every variable, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn keeps_only_the_allowlist_and_sets_the_terminal() {
        let env = Environment::from_server(os(&[
            ("PATH", "/bin"),
            ("HOME", "/root"),
            ("LC_TIME", "C"),
            ("PTYHUB_TOKEN", "secret"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("TERM", "dumb"),
        ]));
        assert_eq!(env.get("PATH"), Some("/bin"));
        assert_eq!(env.get("LC_TIME"), Some("C"));
        assert_eq!(env.get("PTYHUB_TOKEN"), None);
        assert_eq!(env.get("AWS_SECRET_ACCESS_KEY"), None);
        assert_eq!(env.get("TERM"), Some("xterm-256color"));
        assert_eq!(env.get("COLORTERM"), Some("truecolor"));
        assert_eq!(env.get("LANG"), Some("C.UTF-8"));
    }

    #[test]
    fn code_running_variables_are_known() {
        for key in [
            "LD_PRELOAD",
            "BASH_FUNC_ls%%",
            "PS0",
            "PS4",
            "SHELLOPTS",
            "GCONV_PATH",
            "BASH_ENV",
            "PERL5OPT",
        ] {
            assert!(runs_code(key), "{key}");
        }
        for key in ["HOME", "EDITOR_X", "MY_LD_VAR", "PS5"] {
            assert!(!runs_code(key), "{key}");
        }
    }

    #[test]
    fn layers_override_in_order() {
        let env = Environment::from_server(os(&[("LANG", "de_DE.UTF-8")]))
            .overlay([("A", "provider"), ("TERM", "screen")])
            .overlay([("A", "request")]);
        assert_eq!(env.get("A"), Some("request"));
        assert_eq!(env.get("TERM"), Some("screen"));
        assert_eq!(env.get("LANG"), Some("de_DE.UTF-8"));
        assert!(env.get("PATH").is_some_and(|p| p.contains("/usr/bin")));
    }
}
