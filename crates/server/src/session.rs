//! Signing in and out with a password, and changing it.

use std::net::SocketAddr;

use app::App;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::ids::{Email, Password, Slug};
use serde::Deserialize;
use serde_json::json;
use store::Store;

use crate::ServerState;
use crate::error::ApiError;
use crate::extract::{Body, Caller, SESSION_COOKIE, SessionCaller};
use crate::limit::{PER_ACCOUNT, PER_ADDRESS};

pub fn routes<S: Store>() -> Router<ServerState<S>> {
    Router::new()
        .route("/session", post(sign_in::<S>).delete(sign_out::<S>))
        .route("/me", get(me))
        .route("/me/password", post(change_password::<S>))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    /// Needed only when the installation has several tenants.
    tenant: Option<String>,
    email: String,
    password: String,
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn sign_in<S: Store>(
    State(state): State<ServerState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Body(b): Body<SignInBody>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&b.email).map_err(|e| ApiError::invalid("email", e.to_string()))?;
    let tenant = b
        .tenant
        .as_deref()
        .map(|t| Slug::parse(t).map_err(|e| ApiError::invalid("tenant", format!("tenant {e}"))))
        .transpose()?;
    let keys = [
        (
            format!("account:{}:{email}", b.tenant.as_deref().unwrap_or("")),
            PER_ACCOUNT,
        ),
        (format!("address:{}", peer.ip()), PER_ADDRESS),
    ];
    // The attempt counts as failed until it succeeds, so that parallel attempts cannot all
    // slip under the limit while their passwords are being checked.
    if let Some(wait) = state.limiter.attempt(&keys) {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            "too many failed sign-ins; wait before trying again",
        )
        .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return Ok(response);
    }
    match state
        .app
        .sign_in(tenant.as_ref(), &email, &b.password)
        .await
    {
        Ok((actor, issued)) => {
            state.limiter.succeeded(&keys[0].0);
            let lifetime = app::SESSION_LIFETIME.as_secs();
            let body = json!({
                "user": actor.user, "tenant": actor.tenant,
                "csrf_token": issued.session.csrf_token, "expires_at": issued.session.expires_at,
            });
            let mut response = (StatusCode::OK, Json(body)).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                cookie(&issued.secret, lifetime, state.secure_cookies),
            );
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

async fn sign_out<S: Store>(
    State(state): State<ServerState<S>>,
    caller: SessionCaller,
) -> Result<Response, ApiError> {
    state.app.sign_out(&caller.actor, caller.session.id).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0, state.secure_cookies));
    Ok(response)
}

async fn me(Caller(actor): Caller) -> Json<serde_json::Value> {
    Json(json!({"user": actor.user, "tenant": actor.tenant}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

async fn change_password<S: Store>(
    State(app): State<App<S>>,
    caller: SessionCaller,
    Body(b): Body<PasswordBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let new = Password::parse(&b.new_password)
        .map_err(|e| ApiError::invalid("new_password", format!("new_password {e}")))?;
    let revoked = app
        .change_password(
            &caller.actor,
            Some(caller.session.id),
            &b.current_password,
            &new,
        )
        .await?;
    Ok(Json(json!({"other_sessions_revoked": revoked})))
}
