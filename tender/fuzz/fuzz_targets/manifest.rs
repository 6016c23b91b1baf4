//! Any bytes as an MFT1 descriptor: `Manifest::parse` refuses cleanly, or gives a
//! manifest that serialises back to the same size and parses again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tender::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::parse(data) else {
        return;
    };
    let bytes = m.to_bytes();
    assert_eq!(bytes.len(), m.size());
    assert_eq!(bytes.len(), data.len());
    assert_eq!(Manifest::parse(&bytes).as_ref(), Ok(&m));
    let _ = m.unattached();
});
