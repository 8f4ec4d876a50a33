//! Users: create (sign-up), look up by name or id.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use super::entities::user;
use super::{Store, exists_or, now};
use crate::domain::names::{Email, Username};
use crate::error::Error;

/// Creates a user with an already hashed password. A taken username or email is
/// `auth.user_exists` / `auth.email_exists`.
pub async fn create(
    store: &Store,
    username: &Username,
    email: &Email,
    password_hash: String,
) -> Result<user::Model, Error> {
    let email_text = email.as_str().to_lowercase();
    if user::Entity::find()
        .filter(user::Column::Email.eq(&email_text))
        .one(store.db())
        .await?
        .is_some()
    {
        return Err(Error::Exists {
            what: "email",
            name: email_text,
        });
    }
    let row = user::ActiveModel {
        username: Set(username.to_string()),
        email: Set(email_text),
        password_hash: Set(password_hash),
        created_at: Set(now()),
        ..Default::default()
    };
    row.insert(store.db())
        .await
        .map_err(|e| exists_or(e, "user", username.as_str()))
}

/// The user called `username`, if any.
pub async fn by_username(store: &Store, username: &str) -> Result<Option<user::Model>, Error> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(store.db())
        .await?)
}

/// The user whose email is `email` (case-insensitive), if any.
pub async fn by_email(store: &Store, email: &str) -> Result<Option<user::Model>, Error> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.to_lowercase()))
        .one(store.db())
        .await?)
}

/// The user called `username`, else `auth.user_not_found`.
pub async fn get(store: &Store, username: &str) -> Result<user::Model, Error> {
    by_username(store, username)
        .await?
        .ok_or_else(|| Error::not_found("user", username))
}

/// The users with these ids (any order).
pub async fn by_ids(store: &Store, ids: Vec<i64>) -> Result<Vec<user::Model>, Error> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(store.db())
        .await?)
}
