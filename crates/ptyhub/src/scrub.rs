//! Hides the server's token from `/proc/<pid>/environ` and
//! `/proc/<pid>/cmdline`, which every program of the same user (so every
//! session) can read. Both files show the process's original argument and
//! environment strings, in its own memory; once the options are loaded
//! those strings are overwritten in place through `/proc/self/mem` (no
//! `unsafe`): `PTYHUB_TOKEN`'s value becomes NUL bytes, a `--token` value
//! `x`s. What remains: the token's length, and the few milliseconds
//! between `exec` and this (why `--token` still warns).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The environment variable whose value is hidden.
pub const TOKEN_VAR: &str = "PTYHUB_TOKEN";

/// The address ranges of the argument and environment strings, from
/// `/proc/self/stat` (fields 48 to 51).
fn ranges() -> io::Result<((u64, u64), (u64, u64))> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields are counted after its last `)`.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("unexpected /proc/self/stat"))?;
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(1) // field 3, the state letter
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // Field n is at index n - 4 here.
    let at = |n: usize| fields.get(n - 4).copied().unwrap_or(0);
    let (args, env) = ((at(48), at(49)), (at(50), at(51)));
    if args.0 == 0 || args.1 < args.0 || env.1 < env.0 {
        return Err(io::Error::other("no argument or environment range"));
    }
    Ok((args, env))
}

fn read_range(mem: &File, (start, end): (u64, u64)) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(end - start).map_err(io::Error::other)?];
    mem.read_exact_at(&mut buf, start)?;
    Ok(buf)
}

/// Overwrites, in this process's original strings, the value of
/// `PTYHUB_TOKEN` (with NULs) and every argument that is `token` or
/// `--token=<token>` (with `x`s). Returns how many strings were changed.
pub fn hide_token(token: &str) -> io::Result<usize> {
    let (args, env) = ranges()?;
    let mem = File::options()
        .read(true)
        .write(true)
        .open("/proc/self/mem")?;
    let mut changed = 0;

    let mut text = read_range(&mem, env)?;
    let prefix = format!("{TOKEN_VAR}=");
    let mut offset = 0;
    for entry in text.clone().split(|&b| b == 0) {
        if entry.starts_with(prefix.as_bytes()) && entry.len() > prefix.len() {
            let from = offset + prefix.len();
            text[from..offset + entry.len()].fill(0);
            changed += 1;
        }
        offset += entry.len() + 1;
    }
    if changed > 0 {
        mem.write_all_at(&text, env.0)?;
    }

    let mut text = read_range(&mem, args)?;
    let before = changed;
    let flag = format!("--token={token}");
    let mut offset = 0;
    for arg in text.clone().split(|&b| b == 0) {
        let value = if arg == token.as_bytes() {
            Some(offset..offset + arg.len())
        } else if arg == flag.as_bytes() {
            Some(offset + "--token=".len()..offset + arg.len())
        } else {
            None
        };
        if let Some(range) = value {
            text[range].fill(b'x');
            changed += 1;
        }
        offset += arg.len() + 1;
    }
    if changed > before {
        mem.write_all_at(&text, args.0)?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranges_are_found() {
        let ((a0, a1), (e0, e1)) = ranges().unwrap();
        assert!(a0 < a1 && e0 <= e1);
        let mem = File::open("/proc/self/mem").unwrap();
        let args = read_range(&mem, (a0, a1)).unwrap();
        assert_eq!(args, std::fs::read("/proc/self/cmdline").unwrap());
    }
}
