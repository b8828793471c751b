//! Every page's frame, the form helpers the pages share, and the message page that
//! errors and confirmations use.

use askama::Template;

/// What every page's frame needs.
pub struct Layout {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
    /// The navigation entry to mark as current.
    pub section: &'static str,
}

/// An option of a select or a checkbox.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

impl Choice {
    pub fn new(value: &str, label: &str, checked: bool) -> Self {
        Self {
            value: value.to_owned(),
            label: label.to_owned(),
            checked,
        }
    }
}

/// A form's error at one of its fields: the field's input id and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: &str) -> Self {
        Self {
            field: field.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// The message at a field ("" when it has none).
pub fn error_at<'a>(errors: &'a [FieldError], field: &str) -> &'a str {
    errors
        .iter()
        .find(|e| e.field == field)
        .map_or("", |e| e.message.as_str())
}

pub struct Action {
    pub label: String,
    pub href: String,
}

impl Action {
    pub fn new(label: &str, href: &str) -> Self {
        Self {
            label: label.to_owned(),
            href: href.to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub tone: &'static str,
    pub heading: String,
    pub message: String,
    pub actions: Vec<Action>,
}
