//! One question asked of one of our resolvers and of an Unbound, and how the two
//! answers differ, if they do.

use crate::guest::Resolver;
use crate::lab::Lab;

/// How [`compare_with`] compares the Extended DNS Errors (RFC 8914) of two answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdeCheck {
    /// Not at all (a plain Unbound sends none; ours says why it failed).
    Off,
    /// The same INFO-CODEs.
    Equal,
    /// A difference known and decided (by the RFC, said where it is used): ours must
    /// send exactly `ours`, Unbound exactly `unbound` (`None`: no EDE).
    Known {
        /// Our INFO-CODE.
        ours: u16,
        /// Unbound's.
        unbound: Option<u16>,
    },
}

/// Asks our resolver `r` and the Unbound at `unbound` the same (`dig ARGS`) and says how
/// the answers differ, if they do: status, flags, then each section (TTLs aside; owner
/// names case-insensitively, RDATA exactly: a 0x20-randomised case leaking into answers
/// is a difference). With `ad` (both resolvers validate from the same trust anchor)
/// the AD bit must agree too, and the EDE codes as `ede` says.
pub fn compare_with(
    lab: &Lab,
    r: &Resolver,
    unbound: &str,
    (ad, ede): (bool, EdeCheck),
    args: &[&str],
    what: &str,
) -> Result<(), String> {
    let kind = r.kind().name();
    let q = args.join(" ");
    let ours = lab
        .dig(r.v4, args)
        .map_err(|e| format!("{kind}: {what} ({q}): {e}"))?;
    let reference = lab
        .dig(unbound, args)
        .map_err(|e| format!("unbound: {q}: {e}"))?;
    let both = format!("ours:\n{}\nunbound:\n{}", ours.raw, reference.raw);
    if ours.status != reference.status {
        return Err(format!(
            "{kind}: {what} ({q}): status {} where Unbound says {}\n{both}",
            ours.status, reference.status
        ));
    }
    if !(ours.has_flag("ra") && ours.has_flag("rd") && !ours.has_flag("aa")) {
        return Err(format!(
            "{kind}: {what} ({q}): flags {:?}\n{both}",
            ours.flags
        ));
    }
    if ad && ours.has_flag("ad") != reference.has_flag("ad") {
        return Err(format!(
            "{kind}: {what} ({q}): AD {} where Unbound's is {}\n{both}",
            ours.has_flag("ad"),
            reference.has_flag("ad")
        ));
    }
    let mut a = ours.ede.clone();
    let mut b = reference.ede.clone();
    a.sort_unstable();
    b.sort_unstable();
    let ede_ok = match ede {
        EdeCheck::Off => true,
        EdeCheck::Equal => a == b,
        EdeCheck::Known { ours, unbound } => a == [ours] && b == Vec::from_iter(unbound),
    };
    if !ede_ok {
        return Err(format!(
            "{kind}: {what} ({q}): EDE {a:?} where Unbound's is {b:?} ({ede:?})\n{both}"
        ));
    }
    let [a1, b1, c1] = ours.sections();
    let [a2, b2, c2] = reference.sections();
    for (section, x, y) in [
        ("answer", a1, a2),
        ("authority", b1, b2),
        ("additional", c1, c2),
    ] {
        if x != y {
            return Err(format!(
                "{kind}: {what} ({q}): {section} section differs from Unbound's\n{both}"
            ));
        }
    }
    let shown = match (ours.ede.is_empty(), ede) {
        (true, _) => String::new(),
        (false, EdeCheck::Known { unbound, .. }) => {
            format!(" EDE {:?} (Unbound's {unbound:?})", ours.ede)
        }
        (false, _) => format!(" EDE {:?}", ours.ede),
    };

    let ad_shown = if ours.has_flag("ad") { " ad" } else { "" };
    eprintln!(
        "{kind:>4} {q:<34} {:<8}{ad_shown}{shown} ours {:>4} ms, unbound {:>4} ms  ({what})",
        ours.status,
        ours.query_ms.unwrap_or(0),
        reference.query_ms.unwrap_or(0)
    );
    Ok(())
}
