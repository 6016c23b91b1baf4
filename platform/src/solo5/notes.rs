//! The two ELF notes solo5-hvt requires before it loads the image. The linker scripts put
//! each in its own PT_NOTE (the tender reads only the first note of each PT_NOTE) and KEEP
//! them; [`keep`] makes sure the object file holding them is linked at all.

use hvt_abi::mft::{Entry, Manifest};
use hvt_abi::note::{AbiNote, ManifestNote};

/// The NET_BASIC device the resolver serves on (`--net:service=TAP`).
pub(crate) const NET_DEVICE: &str = "service";

/// "This is an hvt guest of ABI version 2."
#[used]
#[unsafe(link_section = ".note.solo5.abi")]
static ABI_NOTE: AbiNote = AbiNote::HVT;

/// The application manifest: the reserved first entry and one network device. A device's
/// handle is its index here, so `service` is handle 1.
#[used]
#[unsafe(link_section = ".note.solo5.manifest")]
static MANIFEST_NOTE: Align4<ManifestNote<2>> = Align4(ManifestNote::new(Manifest::new([
    Entry::RESERVED_FIRST,
    Entry::net_basic(NET_DEVICE),
])));

/// Lowers a note's alignment to 4, as upstream's note sections have: a PT_NOTE aligned to
/// 8 makes readers such as readelf expect the 8-byte note format and misparse it. The
/// layout is unchanged (the 4 pad bytes before the 8-aligned manifest stay), and the
/// tender finds the descriptor relative to the note's start, so it reads the same bytes.
#[repr(C, packed(4))]
struct Align4<T>(T);

/// References both notes from the boot path. `#[used]` keeps a static inside its object
/// file, but the linker only pulls an archive member in when something refers to it.
pub(crate) fn keep() {
    core::hint::black_box(&ABI_NOTE);
    core::hint::black_box(&MANIFEST_NOTE);
}
