//! `--allow-snoop` and `--seed` (issue 14, items 18 and 20): good and bad values.

use config::{Config, ConfigError};

#[test]
fn allow_snoop_is_a_flag_off_by_default() {
    assert!(!Config::default().allow_snoop);
    assert!(Config::parse("").unwrap().allow_snoop == Config::default().allow_snoop);
    let c = Config::parse("--allow-snoop").unwrap();
    assert!(c.allow_snoop);
    assert!(c.to_string().contains("allow-snoop"));
    let e = Config::parse("--allow-snoop=on").unwrap_err();
    assert!(matches!(
        e,
        ConfigError::UnexpectedValue {
            key: "--allow-snoop",
            ..
        }
    ));
    assert!(e.to_string().contains("--allow-snoop"), "{e}");
    let e = Config::parse("--allow-snoop --allow-snoop").unwrap_err();
    assert!(matches!(e, ConfigError::Duplicate { .. }));
}

#[test]
fn seed_takes_64_hex_digits() {
    assert_eq!(Config::default().seed, None);
    let hex = "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100";
    let c = Config::parse(&format!("--seed={hex}")).unwrap();
    let want: [u8; 32] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
        0x11, 0x00,
    ];
    assert_eq!(c.seed, Some(want));
    // The banner says a seed was given, never what it is.
    let banner = c.to_string();
    assert!(banner.contains("host seed given"), "{banner}");
    assert!(!banner.to_lowercase().contains("00112233"), "{banner}");
}

#[test]
fn bad_seeds_are_one_line_naming_the_key_without_the_value() {
    let good = "a".repeat(64);
    for bad in [
        "a".repeat(63),
        "a".repeat(65),
        format!("{}g", "a".repeat(63)),
        format!("{}é", "a".repeat(62)),
        format!("0x{}", "a".repeat(62)),
        " ".repeat(0) + &"-".repeat(64),
    ] {
        let e = Config::parse(&format!("--seed={bad}")).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, ConfigError::BadValue { key: "--seed", .. }),
            "{bad}: {e:?}"
        );
        assert!(msg.starts_with("--seed") || msg.contains("--seed"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        assert!(!msg.contains(&bad[..16]), "the seed is quoted: {msg}");
    }
    assert!(matches!(
        Config::parse("--seed").unwrap_err(),
        ConfigError::MissingValue { key: "--seed", .. }
    ));
    assert!(Config::parse(&format!("--seed={good}")).is_ok());
}

#[test]
fn help_lists_both() {
    let text = ConfigError::Help.to_string();
    assert!(text.contains("--allow-snoop  (default: off)"), "{text}");
    assert!(text.contains("--seed=HEX64  (default: none)"), "{text}");
}

#[test]
fn dnssec_clock_skew_takes_seconds_up_to_a_day() {
    assert_eq!(Config::default().dnssec.clock_skew_secs, 300);
    let c = Config::parse("--dnssec-clock-skew=600").unwrap();
    assert_eq!(c.dnssec.clock_skew_secs, 600);
    assert_eq!(
        Config::parse("--dnssec-clock-skew=0")
            .unwrap()
            .dnssec
            .clock_skew_secs,
        0
    );
    assert_eq!(
        Config::parse("--dnssec-clock-skew=86400")
            .unwrap()
            .dnssec
            .clock_skew_secs,
        86_400
    );
    for bad in ["86401", "-1", "5m", "", "99999999999"] {
        let e = Config::parse(&format!("--dnssec-clock-skew={bad}")).unwrap_err();
        assert!(e.to_string().contains("--dnssec-clock-skew"), "{bad}: {e}");
    }
}
