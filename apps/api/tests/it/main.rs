//! End-to-end tests of the API over real HTTP on real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod catalog;
mod chantiers;
mod cluster;
mod console;
mod deliveries;
mod documents;
mod identity;
mod listen;
mod logistique;
mod openapi;
mod ops;
mod planning;
mod planning_charge;
mod pointages;
mod shell;
mod signalements;
mod support;
mod threat_model;
mod webhooks;
