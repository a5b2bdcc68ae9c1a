//! Signing in with a password and out again, and the first-run page that gives an owner who
//! has none their first password.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use engine::ids::{Password, Slug};
use serde::Deserialize;

use super::{NoFields, Posted, render};
use crate::ServerState;
use crate::error::ApiError;
use crate::extract::{Params, same_secret};
use crate::i18n::Language;
use crate::session::{clear_session_cookie, limited_sign_in, session_cookie};

#[derive(Template)]
#[template(path = "web/sign_in.html")]
struct SignInPage {
    lang: Language,
    /// Several tenants live here: the form asks which.
    ask_tenant: bool,
    /// An owner has no password yet: point to the first-run page.
    first_run: bool,
    tenant: String,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where to go after signing in: a path on this server, never another site.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn ask_tenant(state: &ServerState) -> Result<bool, ApiError> {
    Ok(state.app.tenant_slugs().await?.len() > 1)
}

pub async fn page(
    State(state): State<ServerState>,
    Params(q): Params<NextQuery>,
) -> Result<Response, ApiError> {
    let awaiting = state.app.tenants_awaiting_owner().await?;
    let tenants = state.app.tenant_slugs().await?;
    // A fresh installation: nobody can sign in until its owner has a password.
    if !awaiting.is_empty() && awaiting.len() == tenants.len() {
        return Ok(Redirect::to("/first-run").into_response());
    }
    let page = SignInPage {
        lang: Language::english(),
        ask_tenant: tenants.len() > 1,
        first_run: !awaiting.is_empty(),
        tenant: String::new(),
        email: String::new(),
        next: local_path(q.next.as_deref()),
        error: None,
    };
    Ok(render(&page).into_response())
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    tenant: String,
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<ServerState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let tenant = Some(form.tenant.trim()).filter(|t| !t.is_empty());
    let next = local_path(form.next.as_deref());
    match limited_sign_in(&state, peer, tenant, form.email.trim(), &form.password).await {
        Ok((_, issued)) => {
            let mut response = Redirect::to(&next).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&state, &issued.secret));
            Ok(response)
        }
        Err(refused) => {
            let status = refused.problem.status();
            let page = SignInPage {
                lang: Language::english(),
                ask_tenant: ask_tenant(&state).await?,
                first_run: false,
                tenant: form.tenant,
                email: form.email,
                next,
                error: Some(refused.problem.detail().to_owned()),
            };
            let status = if status == StatusCode::TOO_MANY_REQUESTS {
                status
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok((status, render(&page)).into_response())
        }
    }
}

pub async fn sign_out(
    State(state): State<ServerState>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, ApiError> {
    state.app.sign_out(&viewer.actor, viewer.session).await?;
    let mut response = Redirect::to("/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_session_cookie(&state));
    Ok(response)
}

#[derive(Template)]
#[template(path = "web/first_run.html")]
struct FirstRunPage {
    lang: Language,
    /// The tenants whose owner has no password yet: slug, name, the owner's email.
    tenants: Vec<(String, String, String)>,
    code: String,
    /// This server was started with a code: the form can work.
    has_code: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct FirstRunQuery {
    code: Option<String>,
}

async fn first_run_page(
    state: &ServerState,
    code: String,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let tenants: Vec<(String, String, String)> = state
        .app
        .tenants_awaiting_owner()
        .await?
        .into_iter()
        .map(|a| {
            (
                a.tenant.slug.to_string(),
                a.tenant.name.as_str().to_owned(),
                a.user.email.to_string(),
            )
        })
        .collect();
    if tenants.is_empty() {
        return Ok(Redirect::to("/sign-in").into_response());
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = FirstRunPage {
        lang: Language::english(),
        tenants,
        code,
        has_code: state.first_run_code.is_some(),
        error,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn first_run(
    State(state): State<ServerState>,
    Params(q): Params<FirstRunQuery>,
) -> Result<Response, ApiError> {
    first_run_page(&state, q.code.unwrap_or_default(), None).await
}

#[derive(Deserialize)]
pub struct FirstRunForm {
    tenant: String,
    code: String,
    password: String,
    confirm: String,
}

/// Sets the owner's first password and signs them in. The setup code proves the person was
/// given it by whoever started the server; without it anyone who reached a fresh server
/// first could take it over.
pub async fn set_first_password(
    State(state): State<ServerState>,
    Form(form): Form<FirstRunForm>,
) -> Result<Response, ApiError> {
    let code_matches = state
        .first_run_code
        .as_deref()
        .is_some_and(|code| same_secret(code.as_bytes(), form.code.trim().as_bytes()));
    let lang = Language::english();
    if !code_matches {
        let error = lang.text("first-run-wrong-code");
        return first_run_page(&state, String::new(), Some(error)).await;
    }
    let tenant = match Slug::parse(form.tenant.trim()) {
        Ok(t) => t,
        Err(e) => return first_run_page(&state, form.code, Some(format!("tenant {e}"))).await,
    };
    let password = match Password::parse(&form.password) {
        Ok(p) if form.password == form.confirm => p,
        Ok(_) => {
            let error = lang.text("first-run-passwords-differ");
            return first_run_page(&state, form.code, Some(error)).await;
        }
        Err(e) => {
            return first_run_page(&state, form.code, Some(format!("password {e}"))).await;
        }
    };
    let owner = state
        .app
        .set_first_owner_password(&tenant, &password)
        .await?;
    let (_, issued) = state
        .app
        .sign_in(Some(&tenant), &owner.user.email, password.expose())
        .await?;
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &issued.secret));
    Ok(response)
}
