//! Conformance scenarios through the simulated network, named by RFC and by scenario.
//! Each asserts the client's answer and the upstream traffic it took.

use critical_section as _;

mod sim;

mod client_edges;
mod client_service;
mod dnssec;
mod ede;
mod failure_cache;
mod fast_path;
mod forward;
mod glueless;
mod held_upstream;
mod limits;
mod lookup;
mod minimise;
mod nxns;
mod parent_side;
mod poisoning;
mod policy;
mod recursion;
mod resilience;
mod rfc2308_negative;
mod robustness;
mod scrub_shapes;
mod signer;
mod stale;
mod validate;
mod validate_aggressive;
mod validate_budget;
mod validate_chain;
mod validate_lab;
