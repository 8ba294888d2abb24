//! How a bounded context plugs into the application.
//!
//! Each context's infrastructure crate exposes one [`Context`] item: what
//! is known of it without building anything (its OpenAPI document, its
//! event catalog, its rate-limit keys) and how to build its [`Module`] —
//! routes, read models and other durable subscribers, background workers,
//! retention targets — from the shared [`Platform`] and its own section of
//! the configuration ([`Env`]). The app lists each context once.
//!
//! It does not own the server, the relay or the scheduler: the app runs
//! those with what the modules register.

mod env;
mod module;

pub use env::{ConfigError, Env, Lookup, parse};
pub use module::{Context, Module, ModuleError, ModuleParts, Platform, Routes, Worker};
