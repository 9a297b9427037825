//! The agent-state patterns of `[providers.NAME]` (`busy_title`,
//! `ready_title`, `busy_patterns`, `waiting_patterns`, `ready_patterns`):
//! each must compile, or the config is refused naming the file, the line
//! and the key.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::{ConfigFile, OptionsError};

/// The longest pattern, in bytes; compiled regexes are bounded too.
pub const MAX_PATTERN_BYTES: usize = 4096;

/// Compiles one agent pattern.
pub fn compile(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!("a pattern is at most {MAX_PATTERN_BYTES} bytes"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| e.to_string().replace('\n', " "))
}

/// Checks every provider's patterns in `file` (parsed from `text`).
pub(super) fn check(file: &ConfigFile, text: &str, path: &Path) -> Result<(), OptionsError> {
    let Some(providers) = &file.providers else {
        return Ok(());
    };
    for (name, p) in providers {
        let singles = [
            ("busy_title", &p.busy_title),
            ("ready_title", &p.ready_title),
        ];
        for (key, pattern) in singles {
            if let Some(pattern) = pattern
                && let Err(message) = compile(pattern)
            {
                return Err(error(text, path, name, key, None, message));
            }
        }
        let lists = [
            ("busy_patterns", &p.busy_patterns),
            ("waiting_patterns", &p.waiting_patterns),
            ("ready_patterns", &p.ready_patterns),
        ];
        for (key, patterns) in lists {
            for (i, pattern) in patterns.iter().flatten().enumerate() {
                if let Err(message) = compile(pattern) {
                    return Err(error(text, path, name, key, Some(i), message));
                }
            }
        }
    }
    Ok(())
}

fn error(
    text: &str,
    path: &Path,
    provider: &str,
    key: &str,
    index: Option<usize>,
    message: String,
) -> OptionsError {
    let offset = value_offset(text, provider, key, index).unwrap_or(0);
    let (line, column) = super::file::line_column(text, offset);
    let mut dotted = format!("providers.{provider}.{key}");
    if let Some(i) = index {
        dotted.push_str(&format!("[{i}]"));
    }
    OptionsError::Config {
        path: path.to_owned(),
        line,
        column,
        key: Some(dotted),
        message: format!("not a valid regular expression: {message}"),
    }
}

/// Where `providers.PROVIDER.KEY[INDEX]`'s value starts in `text`.
fn value_offset(text: &str, provider: &str, key: &str, index: Option<usize>) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    fn find<'a>(table: &DeTable<'a>, name: &str) -> Option<toml::Spanned<DeValue<'a>>> {
        table
            .iter()
            .find(|(k, _)| k.get_ref() == name)
            .map(|(_, v)| v.clone())
    }
    let providers = find(doc.get_ref(), "providers")?;
    let DeValue::Table(providers) = providers.get_ref() else {
        return None;
    };
    let entry = find(providers, provider)?;
    let DeValue::Table(entry) = entry.get_ref() else {
        return None;
    };
    let value = find(entry, key)?;
    match (value.get_ref(), index) {
        (DeValue::Array(items), Some(i)) => items.get(i).map(|item| item.span().start),
        _ => Some(value.span().start),
    }
}
