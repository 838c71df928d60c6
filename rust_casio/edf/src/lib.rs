// SPDX-License-Identifier: GPL-2.0

//! Pure EDF core of the CASIO real-time scheduling class.
//!
//! This crate is `no_std`, has no dependencies and never allocates. It is
//! tested on the host with `cargo test` and compiled verbatim into the Linux
//! kernel as the `edf` module of another crate, which is why every item lives
//! under [`edf`] and this file holds nothing but attributes and docs.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(rust_2018_idioms, unreachable_pub, non_ascii_idents)]
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

#[cfg(test)]
extern crate std;

pub mod edf;
