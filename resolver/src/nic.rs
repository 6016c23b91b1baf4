//! The platform's network device as the netstack's [`Nic`].
//!
//! The netstack owns its `Nic`, so this wrapper owns the whole [`Platform`]; the main loop
//! reaches the clock and the poll through `stack.nic()`.

use netstack::Nic;
use platform::Platform;

/// The platform, lent to the netstack as its network device.
pub struct PlatformNic {
    /// The platform (clock, wait, console, exit) — the main loop uses it through this.
    pub platform: Platform,
    /// Frames the device refused to read or write (counted, logged once).
    pub errors: u64,
}

impl PlatformNic {
    /// Wraps the platform.
    pub fn new(platform: Platform) -> Self {
        PlatformNic {
            platform,
            errors: 0,
        }
    }

    fn note_error(&mut self, what: &str, e: platform::NetError) {
        if self.errors == 0 {
            log::warn!("network device: {what} failed: {e} (further failures only counted)");
        }
        self.errors += 1;
    }
}

impl Nic for PlatformNic {
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        match self.platform.net_read(buf) {
            Ok(n) => n,
            Err(e) => {
                self.note_error("read", e);
                None
            }
        }
    }

    fn send(&mut self, frame: &[u8]) {
        if let Err(e) = self.platform.net_write(frame) {
            self.note_error("write", e);
        }
    }

    fn mac(&self) -> [u8; 6] {
        self.platform.net_mac()
    }

    fn mtu(&self) -> usize {
        usize::from(self.platform.net_mtu())
    }
}
