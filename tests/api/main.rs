//! Integration tests through the HTTP surface; one binary, a fresh database per test.

mod common;
mod contract;
mod errors;
mod institutes;
mod reference;
mod storage;
