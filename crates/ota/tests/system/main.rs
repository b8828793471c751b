//! System tests: the real `ota` application on free ports, over real HTTP, on SQLite
//! with the in-process cache and on PostgreSQL with Redis.

mod auth;
mod booking;
mod cart;
mod common;
mod content;
mod faults;
mod frontend;
mod health_check;
mod http;
mod logs;
mod notifications;
mod payment;
mod search;
mod supplier;
