//! Signing in and registering.

use askama::Template;

use super::Layout;

#[derive(Template)]
#[template(path = "auth.html")]
pub struct AuthPage {
    pub layout: Layout,
    pub register: bool,
    pub reason: String,
    pub errors: Vec<String>,
    pub email: String,
    pub name: String,
    pub next: String,
    pub add: String,
    pub other_url: String,
}
