//! Boot command line handling shared with upstream Solo5's bindings: pure, host-tested.

/// C `isspace` in the "C" locale (includes \v, unlike `u8::is_ascii_whitespace`).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Drops leading whitespace and then every leading `--solo5:quiet|error|warn|info|debug`
/// token (each followed by whitespace or the end), as Solo5's bindings do before handing
/// the command line to the application. Anything else, including an unknown `--solo5:`
/// option, ends the scan and is left in place.
pub(crate) fn strip_solo5_options(cmdline: &str) -> &str {
    const LEVELS: [&str; 5] = [
        "--solo5:quiet",
        "--solo5:error",
        "--solo5:warn",
        "--solo5:info",
        "--solo5:debug",
    ];
    let mut rest = skip_space(cmdline);
    'tokens: loop {
        for level in LEVELS {
            if let Some(after) = rest.strip_prefix(level)
                && after.bytes().next().is_none_or(is_c_space)
            {
                rest = skip_space(after);
                continue 'tokens;
            }
        }
        return rest;
    }
}

fn skip_space(s: &str) -> &str {
    let n = s.bytes().take_while(|b| is_c_space(*b)).count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::strip_solo5_options as strip;

    #[test]
    fn strips_leading_level_tokens_like_solo5() {
        assert_eq!(strip(""), "");
        assert_eq!(strip("   "), "");
        assert_eq!(strip("  --ipv4=10.0.0.2/24 "), "--ipv4=10.0.0.2/24 ");
        assert_eq!(strip("--solo5:debug --ipv4=1"), "--ipv4=1");
        assert_eq!(strip("--solo5:quiet\t--solo5:warn  a b"), "a b");
        assert_eq!(strip("--solo5:info"), "");
    }

    #[test]
    fn leaves_everything_else_alone() {
        // Not followed by whitespace: not a token.
        assert_eq!(strip("--solo5:debugx a"), "--solo5:debugx a");
        // Unknown level stops the scan; later tokens stay too.
        assert_eq!(
            strip("--solo5:loud --solo5:info"),
            "--solo5:loud --solo5:info"
        );
        // Only leading tokens are removed.
        assert_eq!(strip("a --solo5:info"), "a --solo5:info");
        assert_eq!(strip("\x0b--solo5:error\x0bz"), "z");
    }
}
