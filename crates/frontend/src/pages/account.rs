//! The account pages: logging in, registering and logging out.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ota_contract::auth::{LoginRequest, RegisterRequest};
use ota_platform::client::PeerError;
use serde::Deserialize;

use super::cart::add_offer;
use super::common::{
    CsrfForm, field_errors, layout, local_path, query_string, redirect, refusal, render,
    search_back, well_formed_offer,
};
use super::errors::{forbidden, peer_failure};
use crate::Web;
use crate::session::Session;
use crate::views::AuthPage;

#[derive(Deserialize, Default)]
pub(super) struct AuthQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    add: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, Default)]
pub(super) struct AuthForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    add: String,
}

fn reason_text(reason: &str) -> &'static str {
    match reason {
        "cart" => "Log in or create an account to add this to your cart.",
        "expired" => "Your session has ended. Please log in again.",
        _ => "",
    }
}

/// Where to go after signing in; an offer waiting to be added carries its search back.
fn continuation(next: &str, add: &str, back: &str) -> (String, String) {
    let add = if well_formed_offer(add) {
        add.to_owned()
    } else {
        String::new()
    };
    let next = if add.is_empty() {
        local_path(next, "/")
    } else if back.is_empty() {
        // Between the login and register pages the search travels in `next`.
        search_back(next)
    } else {
        search_back(back)
    };
    (next, add)
}

fn auth_page(
    session: &Session,
    status: StatusCode,
    register: bool,
    errors: Vec<String>,
    f: &AuthForm,
    reason: &str,
) -> Response {
    let other = if register { "/login" } else { "/register" };
    let mut other_url = other.to_owned();
    let keep = query_string(&[("next", f.next.clone()), ("add", f.add.clone())]);
    if !keep.is_empty() {
        other_url = format!("{other}?{keep}&reason={reason}");
    }
    render(
        session,
        status,
        &AuthPage {
            layout: layout(
                session,
                if register { "Register" } else { "Log in" },
                if register { "register" } else { "login" },
            ),
            register,
            reason: reason_text(reason).to_owned(),
            errors,
            email: f.email.clone(),
            name: f.name.clone(),
            next: f.next.clone(),
            add: f.add.clone(),
            other_url,
        },
    )
}

pub(super) async fn login_form(session: Session, Query(q): Query<AuthQuery>) -> Response {
    let (next, add) = continuation(&q.next, &q.add, &q.back);
    let f = AuthForm {
        next,
        add,
        ..AuthForm::default()
    };
    auth_page(&session, StatusCode::OK, false, Vec::new(), &f, &q.reason)
}

pub(super) async fn register_form(session: Session, Query(q): Query<AuthQuery>) -> Response {
    let (next, add) = continuation(&q.next, &q.add, &q.back);
    let f = AuthForm {
        next,
        add,
        ..AuthForm::default()
    };
    auth_page(&session, StatusCode::OK, true, Vec::new(), &f, &q.reason)
}

/// After signing in: add the waiting offer (then the cart), or go where the traveller was.
async fn signed_in_continue(web: &Web, session: &mut Session, f: &AuthForm) -> Response {
    let next = local_path(&f.next, "/");
    let token = session.user.as_ref().map(|u| u.access_token.clone());
    match token {
        Some(token) if well_formed_offer(&f.add) => {
            add_offer(web, session, &token, &f.add, &search_back(&next)).await
        }
        _ => redirect(session, &next),
    }
}

pub(super) async fn login(
    State(web): State<Web>,
    mut session: Session,
    Form(f): Form<AuthForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    let body = LoginRequest {
        email: f.email.trim().to_owned(),
        password: f.password.clone(),
    };
    match web.api.login(&body).await {
        Ok(s) => {
            session.sign_in(s);
            signed_in_continue(&web, &mut session, &f).await
        }
        Err(e) => match &e {
            PeerError::Status {
                status: 401 | 422, ..
            } => auth_page(
                &session,
                StatusCode::UNAUTHORIZED,
                false,
                vec!["The e-mail address or password is not right.".to_owned()],
                &f,
                "",
            ),
            PeerError::Status { status: 429, .. } => auth_page(
                &session,
                StatusCode::TOO_MANY_REQUESTS,
                false,
                vec!["Too many attempts. Please wait a few minutes and try again.".to_owned()],
                &f,
                "",
            ),
            _ => peer_failure(&mut session, &e, "/login"),
        },
    }
}

fn account_field(field: &str) -> &'static str {
    match field {
        "email" => "The e-mail address",
        "password" => "The password",
        "name" => "Your name",
        _ => "",
    }
}

pub(super) async fn register(
    State(web): State<Web>,
    mut session: Session,
    Form(f): Form<AuthForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    let body = RegisterRequest {
        email: f.email.trim().to_owned(),
        password: f.password.clone(),
        name: f.name.trim().to_owned(),
    };
    match web.api.register(&body).await {
        Ok(s) => {
            session.sign_in(s);
            signed_in_continue(&web, &mut session, &f).await
        }
        Err(e) => match refusal(&e) {
            Some((409, _)) => auth_page(
                &session,
                StatusCode::CONFLICT,
                true,
                vec![
                    "An account with this e-mail address already exists. Log in instead."
                        .to_owned(),
                ],
                &f,
                "",
            ),
            Some((400 | 422, body)) => auth_page(
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                true,
                field_errors(body, account_field),
                &f,
                "",
            ),
            _ => peer_failure(&mut session, &e, "/register"),
        },
    }
}

pub(super) async fn logout(
    State(web): State<Web>,
    mut session: Session,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    if let Some(refresh) = session.sign_out()
        && let Err(e) = web.api.logout(&refresh).await
    {
        // The cookies are gone either way; the token family expires on its own.
        tracing::warn!(error = %e, "could not revoke a refresh token at logout");
    }
    redirect(&session, "/")
}
