//! The presets' agent-state defaults (title and screen patterns, taken from
//! the real CLIs: versions in the README) and their hook wiring: Claude
//! Code's `--settings` hooks and Codex's `notify` program, both running
//! `ptyhub hook`.

use std::path::Path;
use std::sync::Arc;

use ptyhub_core::AgentRules;

use crate::options::ProviderConfig;
use crate::options::patterns::compile;

/// A preset's default patterns.
struct Defaults {
    busy_title: Option<&'static str>,
    ready_title: Option<&'static str>,
    busy: &'static [&'static str],
    waiting: &'static [&'static str],
    ready: &'static [&'static str],
}

const NONE: Defaults = Defaults {
    busy_title: None,
    ready_title: None,
    busy: &[],
    waiting: &[],
    ready: &[],
};

/// The defaults of a preset (by provider name).
fn defaults(name: &str) -> Defaults {
    match name {
        // Claude Code 2.1: the title starts with a braille spinner glyph
        // while it works and with ✳ when its turn is over. Without network
        // it stops at "Unable to connect to Anthropic services": the user
        // has to act, so that is waiting.
        "claude" => Defaults {
            busy_title: Some(r"^[\x{2800}-\x{28FF}]"),
            ready_title: Some(r"^✳"),
            busy: &[r"(?i)esc to interrupt"],
            waiting: &[
                r"Do you want to proceed\?",
                r"Do you want to (make this edit|create|allow)",
                r"Do you trust the files in this folder\?",
                r"Select login method",
                r"Unable to connect to Anthropic services",
                r"Choose the text style",
                r"❯ 1\. Yes",
            ],
            ready: &[],
        },
        // Codex 0.169: the sign-in menu and approval prompts wait; "Esc to
        // interrupt" under the working line is busy.
        "codex" => Defaults {
            busy_title: None,
            ready_title: None,
            busy: &[r"(?i)esc to interrupt"],
            waiting: &[
                r"Sign in with ChatGPT",
                r"Would you like to (run|make|apply)",
                r"Allow Codex to",
                r"(?i)press enter to (confirm|continue)",
            ],
            ready: &[],
        },
        // Gemini CLI 0.61: the folder-trust dialog and tool confirmations
        // wait; "esc to cancel" next to the spinner is busy. Its title
        // ("◇  Ready (work)") says ready even under the trust dialog, so
        // it is not used (a title outranks the screen).
        "gemini" => Defaults {
            busy_title: None,
            ready_title: None,
            busy: &[r"(?i)esc to cancel"],
            waiting: &[
                r"Do you trust (the files in )?this folder\?",
                r"Waiting for user confirmation",
                r"Allow execution",
                r"Apply this change\?",
                r"How would you like to authenticate",
            ],
            ready: &[r"Type your message"],
        },
        // Cursor's agent: not installable without an account here; these
        // come from its published screens, untested.
        "cursor" => Defaults {
            busy_title: None,
            ready_title: None,
            busy: &[r"(?i)ctrl\+c to stop"],
            waiting: &[r"Run this command\?", r"\(y\) \(enter\)"],
            ready: &[],
        },
        _ => NONE,
    }
}

/// A provider's compiled rules: the preset's defaults, each key replaced
/// by the config's when it sets it. The config's patterns compiled when
/// it was read ([`crate::options::patterns`]); a preset's are tested.
pub fn rules(name: &str, config: &ProviderConfig) -> Arc<AgentRules> {
    let d = defaults(name);
    let one = |own: &Option<String>, default: Option<&str>| {
        own.as_deref().or(default).and_then(|p| compile(p).ok())
    };
    let many = |own: &Option<Vec<String>>, default: &[&str]| -> Vec<regex::Regex> {
        match own {
            Some(list) => list.iter().filter_map(|p| compile(p).ok()).collect(),
            None => default.iter().filter_map(|p| compile(p).ok()).collect(),
        }
    };
    Arc::new(AgentRules {
        busy_title: one(&config.busy_title, d.busy_title),
        ready_title: one(&config.ready_title, d.ready_title),
        busy_patterns: many(&config.busy_patterns, d.busy),
        waiting_patterns: many(&config.waiting_patterns, d.waiting),
        ready_patterns: many(&config.ready_patterns, d.ready),
    })
}

/// Which CLI's hooks a provider's program takes, by its file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookKind {
    /// Claude Code: `--settings '{"hooks": ...}'`.
    Claude,
    /// Codex: `-c notify=[...]`.
    Codex,
}

impl HookKind {
    /// The hook kind of a preset (`claude`, `codex`) whose program is that
    /// CLI.
    pub fn of(name: &str, command: &str) -> Option<HookKind> {
        let program = Path::new(command).file_name()?.to_str()?;
        match (name, program) {
            ("claude", "claude") => Some(HookKind::Claude),
            ("codex", "codex") => Some(HookKind::Codex),
            _ => None,
        }
    }

    /// The arguments that make the CLI run `ptyhub hook` (at `program`).
    pub fn args(self, program: &Path) -> Vec<String> {
        let program = program.display().to_string();
        match self {
            HookKind::Claude => {
                // Claude Code runs the command with a shell and the event's
                // JSON on stdin.
                let command = format!("{} hook", shell_quote(&program));
                let entry = |matcher: bool| {
                    let hook =
                        serde_json::json!({"type": "command", "command": command, "timeout": 5});
                    if matcher {
                        serde_json::json!([{"matcher": "*", "hooks": [hook]}])
                    } else {
                        serde_json::json!([{"hooks": [hook]}])
                    }
                };
                let settings = serde_json::json!({"hooks": {
                    "UserPromptSubmit": entry(false),
                    "PreToolUse": entry(true),
                    "PostToolUse": entry(true),
                    "Notification": entry(false),
                    "Stop": entry(false),
                }});
                vec!["--settings".to_owned(), settings.to_string()]
            }
            HookKind::Codex => {
                // Codex runs the program with the JSON as its last argument.
                let value = serde_json::json!([program, "hook"]);
                vec!["-c".to_owned(), format!("notify={value}")]
            }
        }
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_pattern_compiles() {
        for name in ["claude", "codex", "gemini", "cursor"] {
            let d = defaults(name);
            for p in d.busy.iter().chain(d.waiting).chain(d.ready) {
                compile(p).unwrap();
            }
            for p in [d.busy_title, d.ready_title].into_iter().flatten() {
                compile(p).unwrap();
            }
        }
        let claude = rules("claude", &ProviderConfig::default());
        assert!(
            claude
                .busy_title
                .as_ref()
                .unwrap()
                .is_match("⠂ Fixing the bug")
        );
        assert!(
            claude
                .ready_title
                .as_ref()
                .unwrap()
                .is_match("✳ Claude Code")
        );
        assert!(
            !claude
                .busy_title
                .as_ref()
                .unwrap()
                .is_match("✳ Claude Code")
        );
    }

    #[test]
    fn config_keys_replace_defaults() {
        let config = ProviderConfig {
            busy_patterns: Some(vec!["thinking".into()]),
            ..Default::default()
        };
        let r = rules("claude", &config);
        assert_eq!(r.busy_patterns.len(), 1);
        assert!(
            !r.waiting_patterns.is_empty(),
            "unset keys keep the preset's"
        );
        assert!(r.busy_title.is_some());
    }

    #[test]
    fn hook_args_are_what_the_clis_take() {
        let exe = Path::new("/opt/my tools/ptyhub");
        let args = HookKind::Claude.args(exe);
        assert_eq!(args[0], "--settings");
        let settings: serde_json::Value = serde_json::from_str(&args[1]).unwrap();
        assert_eq!(
            settings["hooks"]["Stop"][0]["hooks"][0]["command"],
            "'/opt/my tools/ptyhub' hook"
        );
        assert_eq!(
            HookKind::Codex.args(Path::new("/usr/bin/ptyhub")),
            ["-c", r#"notify=["/usr/bin/ptyhub","hook"]"#]
        );
        assert_eq!(HookKind::of("claude", "/x/claude"), Some(HookKind::Claude));
        assert_eq!(HookKind::of("mine", "claude"), None);
    }
}
