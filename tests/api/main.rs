//! Integration tests through the HTTP surface; one binary, a fresh database per test.

mod auth;
mod bulk;
mod catalog;
mod changes;
mod common;
mod concurrency;
mod contract;
mod crash;
mod curation;
mod errors;
mod explorer;
mod http;
mod institutes;
mod matching;
mod operations;
mod query;
mod readmodel;
mod reference;
mod reports;
mod search;
mod storage;
