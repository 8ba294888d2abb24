//! HTTP routes of the identity context: `/api/v1/auth/*` and `/api/v1/users*`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use hub_identity_application::{
    CreateUser, CreateUserError, CreateUserInput, DeactivateUser, GetUser, IdentityPorts,
    ListUsers, Login, LoginError, Logout, UpdateUser, UpdateUserInput, UserCommandError,
    UserFilter,
};
use hub_identity_domain::{TypeUtilisateur, User, UserError};
use hub_kernel::Role;
use hub_platform_http::auth::{
    self, ACCESS_TOKEN_COOKIE, AdminOnly, AuthError, Authenticated, Authorized,
};
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::rate_limit::{Limit, RateLimit, RateLimitRule, Scope};
use hub_platform_http::{Problem, RequestId, extractors};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

/// Limits of this context, overridable with `RATE_LIMITS`.
pub const RATE_LIMIT_RULES: &[RateLimitRule] = &[RateLimitRule {
    key: "auth.login",
    default: Limit::per_minute(60),
    scope: Scope::PerIp,
}];

/// The use cases behind the routes.
pub struct IdentityHttp {
    login: Login,
    logout: Logout,
    create: CreateUser,
    list: ListUsers,
    get: GetUser,
    update: UpdateUser,
    deactivate: DeactivateUser,
}

impl std::fmt::Debug for IdentityHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityHttp")
    }
}

impl IdentityHttp {
    pub fn new(ports: IdentityPorts) -> Self {
        Self {
            login: Login::new(ports.clone()),
            logout: Logout::new(ports.clone()),
            create: CreateUser::new(ports.clone()),
            list: ListUsers::new(ports.clone()),
            get: GetUser::new(ports.clone()),
            update: UpdateUser::new(ports.clone()),
            deactivate: DeactivateUser::new(ports),
        }
    }
}

/// Registers the routes; `login_limit` is the `auth.login` rate limit.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    state: web::Data<IdentityHttp>,
    login_limit: RateLimit,
) {
    cfg.app_data(state)
        .service(
            web::resource("/api/v1/auth/login")
                .wrap(login_limit)
                .route(web::post().to(login)),
        )
        .route("/api/v1/auth/logout", web::post().to(logout))
        .route("/api/v1/auth/me", web::get().to(me))
        .service(
            web::resource("/api/v1/users")
                .route(web::post().to(create_user))
                .route(web::get().to(list_users)),
        )
        .service(
            web::resource("/api/v1/users/{id}")
                .route(web::get().to(get_user))
                .route(web::patch().to(update_user)),
        )
        .route(
            "/api/v1/users/{id}/deactivate",
            web::post().to(deactivate_user),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(login, logout, me, create_user, list_users, get_user, update_user, deactivate_user),
    components(schemas(
        LoginRequest, TokenResponse, UserResponse, UserListResponse, CreateUserRequest,
        UpdateUserRequest, RoleDto, TypeUtilisateurDto, ProblemSchema
    )),
    tags((name = "auth", description = "Signing in and out"), (name = "users", description = "User administration (admin)"))
)]
pub struct IdentityApi;

/// A role, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Role)]
pub enum RoleDto {
    Admin,
    Conducteur,
    ChefChantier,
    Compagnon,
}

impl From<RoleDto> for Role {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::Admin => Role::Admin,
            RoleDto::Conducteur => Role::Conducteur,
            RoleDto::ChefChantier => Role::ChefChantier,
            RoleDto::Compagnon => Role::Compagnon,
        }
    }
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => RoleDto::Admin,
            Role::Conducteur => RoleDto::Conducteur,
            Role::ChefChantier => RoleDto::ChefChantier,
            Role::Compagnon => RoleDto::Compagnon,
        }
    }
}

/// Employment relation, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TypeUtilisateur)]
pub enum TypeUtilisateurDto {
    Employe,
    Interimaire,
    SousTraitant,
}

impl From<TypeUtilisateurDto> for TypeUtilisateur {
    fn from(value: TypeUtilisateurDto) -> Self {
        match value {
            TypeUtilisateurDto::Employe => TypeUtilisateur::Employe,
            TypeUtilisateurDto::Interimaire => TypeUtilisateur::Interimaire,
            TypeUtilisateurDto::SousTraitant => TypeUtilisateur::SousTraitant,
        }
    }
}

impl From<TypeUtilisateur> for TypeUtilisateurDto {
    fn from(value: TypeUtilisateur) -> Self {
        match value {
            TypeUtilisateur::Employe => TypeUtilisateurDto::Employe,
            TypeUtilisateur::Interimaire => TypeUtilisateurDto::Interimaire,
            TypeUtilisateur::SousTraitant => TypeUtilisateurDto::SousTraitant,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "conducteur@example.fr")]
    email: String,
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    expires_in: i64,
}

/// A user as the API shows it (never any password material).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    id: Uuid,
    email: String,
    nom: String,
    prenom: String,
    role: RoleDto,
    type_utilisateur: TypeUtilisateurDto,
    /// The trade as the company names it (free text), if any.
    #[schema(example = "Maçon")]
    metier: Option<String>,
    is_active: bool,
    /// 1 at creation, one more after each change (signing out is none).
    #[schema(example = 1)]
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

impl From<&User> for UserResponse {
    fn from(user: &User) -> Self {
        Self {
            id: user.id(),
            email: user.email().to_string(),
            nom: user.nom().as_str().to_owned(),
            prenom: user.prenom().as_str().to_owned(),
            role: user.role().into(),
            type_utilisateur: user.type_utilisateur().into(),
            metier: user.metier().map(|m| m.as_str().to_owned()),
            is_active: user.is_active(),
            version: user.version(),
            created_at: user.created_at(),
            updated_at: user.updated_at(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserListResponse {
    total: u64,
    users: Vec<UserResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(example = "chef@example.fr", max_length = 254)]
    email: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 256)]
    password: String,
    #[schema(example = "Martin", max_length = 100)]
    nom: String,
    #[schema(example = "Paul", max_length = 100)]
    prenom: String,
    role: RoleDto,
    type_utilisateur: TypeUtilisateurDto,
    /// The trade as the company names it ("Maçon", "Grutier"…); the planning
    /// de charge counts capacity per trade from it. Blank or absent: none.
    #[schema(example = "Maçon", max_length = 100)]
    metier: Option<String>,
}

/// Absent fields are left unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(max_length = 100)]
    nom: Option<String>,
    #[schema(max_length = 100)]
    prenom: Option<String>,
    /// The trade; a blank text clears it.
    #[schema(max_length = 100)]
    metier: Option<String>,
    role: Option<RoleDto>,
    /// `false` deactivates the user (their tokens are revoked for good); `true` reactivates.
    is_active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    role: Option<RoleDto>,
    is_active: Option<bool>,
    /// Users to skip (default 0).
    skip: Option<u64>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user's id.
    id: Uuid,
}

fn session_cookie(token: &str, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build(ACCESS_TOKEN_COOKIE, token.to_owned())
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(max_age)
        .finish()
}

/// Sign in; returns a bearer token and sets it as an HttpOnly cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, security(()),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Invalid email or password (`invalid_credentials`)", body = ProblemSchema),
        (status = 429, description = "Too many attempts from this address (`rate_limited`), or too many failed sign-ins on this account, whether it exists or not (`login_throttled`); see Retry-After", body = ProblemSchema),
        (status = 503, description = "Too many password checks in progress (`server_busy`); see Retry-After", body = ProblemSchema),
    )
)]
async fn login(
    state: web::Data<IdentityHttp>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    match state.login.execute(&body.email, &body.password).await {
        Ok((token, user)) => {
            tracing::info!(user_id = %user.id(), "signed in");
            Ok(HttpResponse::Ok()
                .cookie(session_cookie(&token.token, token.expires_in))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(TokenResponse {
                    access_token: token.token,
                    token_type: "Bearer",
                    expires_in: token.expires_in.whole_seconds(),
                }))
        }
        Err(LoginError::InvalidCredentials) => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "invalid email or password",
        )),
        // One body for every locked account, known or not; only the
        // Retry-After header carries the time left.
        Err(LoginError::Throttled { retry_after }) => {
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "login_throttled",
                "too many failed sign-ins for this account; retry later",
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1))))
        }
        Err(LoginError::Busy) => Err(busy()),
        Err(error @ LoginError::Unavailable(_)) => Err(Problem::internal(&error)),
    }
}

/// 503 for a request refused because password hashing is saturated.
fn busy() -> Problem {
    Problem::service_unavailable(
        "server_busy",
        "too many password checks are in progress; retry in a second",
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}

/// Sign out: clears the session cookie and, when the request carries a
/// valid token (bearer, or the cookie with its `X-CSRF-Token` proof),
/// revokes every token of that user — all their sessions end. Otherwise it
/// only clears the cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth", security((), ("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Cookie cleared; the user's tokens revoked if a valid one was sent"),
        (status = 503, description = "The token could not be checked or revoked; nothing was revoked", body = ProblemSchema),
    )
)]
async fn logout(state: web::Data<IdentityHttp>, req: HttpRequest) -> Result<HttpResponse, Problem> {
    match auth::authenticate(&req).await {
        Ok(actor) => match state.logout.execute(actor.user_id).await {
            Ok(()) => tracing::info!(user_id = %actor.user_id, "signed out: tokens revoked"),
            // Deleted in between: no token of theirs works any more anyway.
            Err(UserCommandError::NotFound) => {}
            Err(other) => return Err(problem(other)),
        },
        // The client asked to revoke and we could not tell whether its
        // token is good: say so rather than pretend it is revoked.
        Err(AuthError::Unavailable) => return Err(AuthError::Unavailable.into()),
        // No token, or one that already does not work: nothing to revoke.
        Err(_) => {}
    }
    let mut expired = session_cookie("", time::Duration::ZERO);
    expired.make_removal();
    Ok(HttpResponse::NoContent().cookie(expired).finish())
}

/// The signed-in user.
#[utoipa::path(
    get, path = "/api/v1/auth/me", tag = "auth",
    responses(
        (status = 200, body = UserResponse),
    )
)]
async fn me(
    state: web::Data<IdentityHttp>,
    user: Authenticated,
) -> Result<web::Json<UserResponse>, Problem> {
    let found = state.get.execute(user.0.user_id).await.map_err(problem)?;
    Ok(web::Json(UserResponse::from(&found)))
}

/// Create a user (admin).
#[utoipa::path(
    post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    responses(
        (status = 201, body = UserResponse),
        (status = 409, description = "Email already used (`email_taken`)", body = ProblemSchema),
        (status = 503, description = "Too many password operations in progress (`server_busy`); see Retry-After", body = ProblemSchema),
    )
)]
async fn create_user(
    state: web::Data<IdentityHttp>,
    admin: Authorized<AdminOnly>,
    request_id: RequestId,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let context = request_id.command_context(admin.actor);
    let input = CreateUserInput {
        email: body.email,
        password: body.password,
        nom: body.nom,
        prenom: body.prenom,
        role: body.role.into(),
        type_utilisateur: body.type_utilisateur.into(),
        metier: body.metier,
    };
    match state.create.execute(&context, input).await {
        Ok(user) => Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id())))
            .json(UserResponse::from(&user))),
        Err(CreateUserError::Invalid(errors)) => Err(Problem::validation(errors)),
        Err(CreateUserError::DuplicateEmail(email)) => Err(Problem::conflict(
            "email_taken",
            format!("a user with the email {email} already exists"),
        )),
        Err(CreateUserError::Busy) => Err(busy()),
        Err(error @ CreateUserError::Unavailable(_)) => Err(Problem::internal(&error)),
    }
}

/// List users (admin), filtered by role and active flag.
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", params(UserListQuery),
    responses(
        (status = 200, body = UserListResponse),
    )
)]
async fn list_users(
    state: web::Data<IdentityHttp>,
    _admin: Authorized<AdminOnly>,
    query: web::Query<UserListQuery>,
) -> Result<web::Json<UserListResponse>, Problem> {
    let query = query.into_inner();
    let page = extractors::page(query.skip, query.limit)?;
    let filter = UserFilter {
        role: query.role.map(Role::from),
        is_active: query.is_active,
    };
    let (users, total) = state.list.execute(&filter, page).await.map_err(problem)?;
    Ok(web::Json(UserListResponse {
        total,
        users: users.iter().map(UserResponse::from).collect(),
    }))
}

/// One user (admin).
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "users", params(UserPath),
    responses(
        (status = 200, body = UserResponse),
        (status = 404, description = "`user_not_found`", body = ProblemSchema),
    )
)]
async fn get_user(
    state: web::Data<IdentityHttp>,
    _admin: Authorized<AdminOnly>,
    path: web::Path<UserPath>,
) -> Result<web::Json<UserResponse>, Problem> {
    let user = state.get.execute(path.id).await.map_err(problem)?;
    Ok(web::Json(UserResponse::from(&user)))
}

/// Change names, role or active flag (admin).
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "users", params(UserPath), request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserResponse),
        (status = 404, description = "`user_not_found`", body = ProblemSchema),
        (status = 409, description = "An admin locking themselves out (`self_lockout`), or the user changed meanwhile (`concurrent_modification`)", body = ProblemSchema),
    )
)]
async fn update_user(
    state: web::Data<IdentityHttp>,
    admin: Authorized<AdminOnly>,
    request_id: RequestId,
    path: web::Path<UserPath>,
    body: web::Json<UpdateUserRequest>,
) -> Result<web::Json<UserResponse>, Problem> {
    let body = body.into_inner();
    let context = request_id.command_context(admin.actor);
    let input = UpdateUserInput {
        nom: body.nom,
        prenom: body.prenom,
        metier: body.metier,
        role: body.role.map(Role::from),
        is_active: body.is_active,
    };
    let user = state
        .update
        .execute(&context, path.id, input)
        .await
        .map_err(problem)?;
    Ok(web::Json(UserResponse::from(&user)))
}

/// Deactivate a user (admin): their tokens are revoked at once (and stay
/// revoked if the user is reactivated).
#[utoipa::path(
    post, path = "/api/v1/users/{id}/deactivate", tag = "users", params(UserPath),
    responses(
        (status = 200, body = UserResponse),
        (status = 404, description = "`user_not_found`", body = ProblemSchema),
        (status = 409, description = "`self_lockout` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn deactivate_user(
    state: web::Data<IdentityHttp>,
    admin: Authorized<AdminOnly>,
    request_id: RequestId,
    path: web::Path<UserPath>,
) -> Result<web::Json<UserResponse>, Problem> {
    let context = request_id.command_context(admin.actor);
    let user = state
        .deactivate
        .execute(&context, path.id)
        .await
        .map_err(problem)?;
    Ok(web::Json(UserResponse::from(&user)))
}

/// The answer to a failed user command (user creation and sign-in, whose
/// errors differ, are answered in their handlers).
fn problem(error: UserCommandError) -> Problem {
    match error {
        UserCommandError::NotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "user_not_found",
            "no user with this id",
        ),
        UserCommandError::Invalid(errors) => Problem::validation(errors),
        UserCommandError::Rule(rule @ UserError::SelfLockout) => {
            Problem::conflict("self_lockout", rule.to_string())
        }
        UserCommandError::Conflict => {
            Problem::conflict("concurrent_modification", error.to_string())
        }
        UserCommandError::Unavailable(_) => Problem::internal(&error),
    }
}
