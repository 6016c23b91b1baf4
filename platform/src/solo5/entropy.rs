//! Entropy for seeding the resolver's CSPRNG (DNS ids, source ports, 0x20 bits).
//!
//! Sources, best first:
//! - `rdseed` / `rdrand` (x86_64, when CPUID advertises them and they deliver) and `rndr`
//!   (aarch64 FEAT_RNG, when ID_AA64ISAR0_EL1.RNDR says so): the CPU's own generator.
//!   Each 64-bit word is retried a bounded number of times; a word the instruction will not
//!   give comes from the jitter pool instead (counted in `hw_failures`).
//! - `timer-jitter`, when there is no such instruction. **This is weak.** It times a small
//!   busy loop with the cycle counter and mixes the deltas, the counter and the host's wall
//!   clock into a SipHash-round sponge. Inside a VM the counter's jitter comes from cache
//!   and pipeline effects and host scheduling, likely only a few bits per sample, and an
//!   attacker who can estimate the boot time and the host's timing behaviour may narrow
//!   the seed a lot. It is better than a fixed seed, not a substitute for a hardware
//!   source; the resolver should say so loudly when `entropy_source()` is "timer-jitter".
//!
//! Because the boot seed may be weak, [`sample`] hands the app one cycle-counter read
//! at a time to mix into its generator as packets arrive (the engine's
//! `mix_entropy`): their arrival times, to the cycle, depend on the host, the network
//! and every other client, and accumulate over the run. On aarch64 the counter is the
//! generic timer (tens of MHz on a Raspberry Pi), coarser than x86's TSC, but packet
//! arrivals still differ in its low bits.

use super::arch::{Cpu, Current, HwRng};
use super::hypercall;

/// The source behind `getrandom` (and so rustls' client randoms and key shares): its
/// own [`Entropy`], detected on first use, since the one in [`super::Platform`] is
/// behind `&mut`. The same hardware instruction when there is one, else its own jitter
/// pool.
static SHARED: critical_section::Mutex<core::cell::RefCell<Option<Entropy>>> =
    critical_section::Mutex::new(core::cell::RefCell::new(None));

fn getrandom_source(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    critical_section::with(|cs| {
        let mut slot = SHARED.borrow_ref_mut(cs);
        slot.get_or_insert_with(Entropy::detect).fill(buf);
    });
    Ok(())
}

getrandom::register_custom_getrandom!(getrandom_source);

/// One timing sample: the free-running cycle counter, read now.
pub(crate) fn sample() -> u64 {
    Current::ticks()
}

/// How often to ask the instruction for one word before falling back.
fn retries(rng: HwRng) -> u32 {
    match rng {
        // RDSEED may legitimately run dry for a while under load; Intel suggests retrying
        // with a pause.
        HwRng::Rdseed => 256,
        // RDRAND/RNDR fail only transiently; Intel's guidance is 10 tries.
        HwRng::Rdrand | HwRng::Rndr => 10,
    }
}

pub(crate) struct Entropy {
    hw: Option<HwRng>,
    pool: JitterPool,
    hw_failures: u64,
}

impl Entropy {
    pub(crate) fn detect() -> Entropy {
        let mut pool = JitterPool::new();
        pool.absorb(hypercall::walltime());
        pool.absorb(Current::ticks());
        Entropy {
            hw: Current::hw_rng(),
            pool,
            hw_failures: 0,
        }
    }

    pub(crate) fn source(&self) -> &'static str {
        self.hw.map_or("timer-jitter", HwRng::name)
    }

    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.word();
            chunk.copy_from_slice(&word.to_le_bytes()[..chunk.len()]);
        }
    }

    fn word(&mut self) -> u64 {
        if let Some(rng) = self.hw {
            for _ in 0..retries(rng) {
                if let Some(w) = Current::hw_random(rng) {
                    return w;
                }
                Current::spin_hint();
            }
            self.hw_failures += 1;
            if self.hw_failures == 1 {
                log::warn!(
                    "{} delivered nothing; falling back to timer jitter",
                    rng.name()
                );
            }
        }
        self.pool.gather();
        self.pool.squeeze()
    }
}

/// A SipHash-round sponge fed with timing samples. See the module docs for its strength.
struct JitterPool {
    v: [u64; 4],
}

impl JitterPool {
    fn new() -> Self {
        // SipHash's initial constants with a zero key.
        JitterPool {
            v: [
                0x736f_6d65_7073_6575,
                0x646f_7261_6e64_6f6d,
                0x6c79_6765_6e65_7261,
                0x7465_6462_7974_6573,
            ],
        }
    }

    fn round(&mut self) {
        let [mut v0, mut v1, mut v2, mut v3] = self.v;
        v0 = v0.wrapping_add(v1);
        v1 = v1.rotate_left(13) ^ v0;
        v0 = v0.rotate_left(32);
        v2 = v2.wrapping_add(v3);
        v3 = v3.rotate_left(16) ^ v2;
        v0 = v0.wrapping_add(v3);
        v3 = v3.rotate_left(21) ^ v0;
        v2 = v2.wrapping_add(v1);
        v1 = v1.rotate_left(17) ^ v2;
        v2 = v2.rotate_left(32);
        self.v = [v0, v1, v2, v3];
    }

    fn absorb(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.round();
        self.v[0] ^= m;
    }

    /// Mixes in 64 timing samples of a busy loop whose length depends on the last one.
    fn gather(&mut self) {
        let mut spin = 0u64;
        for _ in 0..64 {
            let t0 = Current::ticks();
            for i in 0..(16 + (spin & 31)) {
                spin = core::hint::black_box(spin.rotate_left(7) ^ i);
            }
            let t1 = Current::ticks();
            spin ^= t1.wrapping_sub(t0);
            self.absorb(spin ^ (t1 << 32));
        }
    }

    fn squeeze(&mut self) -> u64 {
        self.v[2] ^= 0xff;
        for _ in 0..4 {
            self.round();
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}
