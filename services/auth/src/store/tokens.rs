//! API tokens: create (the plaintext is returned once, only the hash is stored), find by hash, list,
//! revoke, and record their last use.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::token;
use super::{Store, now};
use crate::domain::token::TokenHash;
use crate::error::Error;

/// Who a token acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    User(i64),
    ServiceAccount(i64),
}

/// Stores a token's hash for `owner`.
pub async fn create(
    store: &Store,
    owner: TokenOwner,
    name: &str,
    hash: &TokenHash,
    expires_at: Option<DateTime<Utc>>,
) -> Result<token::Model, Error> {
    let (user_id, sa_id) = match owner {
        TokenOwner::User(id) => (Some(id), None),
        TokenOwner::ServiceAccount(id) => (None, Some(id)),
    };
    let row = token::ActiveModel {
        uuid: Set(uuid::Uuid::now_v7()),
        hash: Set(hash.0.clone()),
        name: Set(name.to_owned()),
        user_id: Set(user_id),
        service_account_id: Set(sa_id),
        created_at: Set(now()),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        ..Default::default()
    };
    Ok(row.insert(store.db()).await?)
}

/// The token whose hash is `hash`, compared again in constant time after the indexed lookup.
pub async fn by_hash(store: &Store, hash: &TokenHash) -> Result<Option<token::Model>, Error> {
    let row = token::Entity::find()
        .filter(token::Column::Hash.eq(&hash.0))
        .one(store.db())
        .await?;
    Ok(row.filter(|row| TokenHash(row.hash.clone()).matches(hash)))
}

/// The tokens of `owner`, newest first (revoked ones included, marked by `revoked_at`).
pub async fn list(store: &Store, owner: TokenOwner) -> Result<Vec<token::Model>, Error> {
    let select = match owner {
        TokenOwner::User(id) => token::Entity::find().filter(token::Column::UserId.eq(id)),
        TokenOwner::ServiceAccount(id) => token::Entity::find().filter(token::Column::ServiceAccountId.eq(id)),
    };
    Ok(select.order_by_desc(token::Column::Id).all(store.db()).await?)
}

/// Revokes token `uuid` of `owner` (`auth.token_not_found` when `owner` has no such live token);
/// answers its hash (for cache invalidation).
pub async fn revoke(store: &Store, owner: TokenOwner, uuid: uuid::Uuid) -> Result<TokenHash, Error> {
    let owned = match owner {
        TokenOwner::User(id) => token::Column::UserId.eq(id),
        TokenOwner::ServiceAccount(id) => token::Column::ServiceAccountId.eq(id),
    };
    let row = token::Entity::find()
        .filter(token::Column::Uuid.eq(uuid))
        .filter(token::Column::RevokedAt.is_null())
        .filter(owned)
        .one(store.db())
        .await?
        .ok_or_else(|| Error::not_found("token", uuid.to_string()))?;
    token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, Expr::value(now()))
        .filter(token::Column::Id.eq(row.id))
        .exec(store.db())
        .await?;
    Ok(TokenHash(row.hash))
}

/// Records that token `id` was just used.
pub async fn touch(store: &Store, id: i64) -> Result<(), Error> {
    token::Entity::update_many()
        .col_expr(token::Column::LastUsedAt, Expr::value(now()))
        .filter(token::Column::Id.eq(id))
        .exec(store.db())
        .await?;
    Ok(())
}
