//! Service accounts, API tokens (hashes only) and the audit log. Deleting an org deletes (cascade)
//! its service accounts and their tokens; deleting a user deletes their tokens.

use sea_orm_migration::prelude::*;

use super::columns::{big, fk, id, string, table, ts, ts_null, unique, uuid};
use super::m0001_initial::{Orgs, Users};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ServiceAccounts {
    Table,
    Id,
    Uuid,
    OrgId,
    Name,
    Role,
    Description,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tokens {
    Table,
    Id,
    Uuid,
    Hash,
    Name,
    UserId,
    ServiceAccountId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    Org,
    Actor,
    Action,
    Resource,
    Result,
    Status,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table(ServiceAccounts::Table)
                    .col(id(ServiceAccounts::Id))
                    .col(uuid(ServiceAccounts::Uuid))
                    .col(big(ServiceAccounts::OrgId))
                    .col(string(ServiceAccounts::Name))
                    .col(string(ServiceAccounts::Role))
                    .col(ColumnDef::new(ServiceAccounts::Description).text().null())
                    .col(string(ServiceAccounts::CreatedBy))
                    .col(ts(ServiceAccounts::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_service_accounts_org",
                        ServiceAccounts::Table,
                        ServiceAccounts::OrgId,
                        Orgs::Table,
                        Orgs::Id,
                    ))
                    .take(),
            )
            .await?;
        unique(
            manager,
            "ux_service_accounts_org_name",
            ServiceAccounts::Table,
            &["org_id", "name"],
        )
        .await?;
        manager
            .create_table(
                table(Tokens::Table)
                    .col(id(Tokens::Id))
                    .col(uuid(Tokens::Uuid))
                    .col(string(Tokens::Hash).unique_key())
                    .col(string(Tokens::Name))
                    .col(ColumnDef::new(Tokens::UserId).big_integer().null())
                    .col(ColumnDef::new(Tokens::ServiceAccountId).big_integer().null())
                    .col(ts(Tokens::CreatedAt))
                    .col(ts_null(Tokens::ExpiresAt))
                    .col(ts_null(Tokens::RevokedAt))
                    .col(ts_null(Tokens::LastUsedAt))
                    .foreign_key(&mut fk(
                        "fk_tokens_user",
                        Tokens::Table,
                        Tokens::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_tokens_sa",
                        Tokens::Table,
                        Tokens::ServiceAccountId,
                        ServiceAccounts::Table,
                        ServiceAccounts::Id,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                table(AuditLog::Table)
                    .col(id(AuditLog::Id))
                    .col(ColumnDef::new(AuditLog::Org).string().null())
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::Resource))
                    .col(string(AuditLog::Result))
                    .col(ColumnDef::new(AuditLog::Status).integer().not_null())
                    .col(ts(AuditLog::At))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_org_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::Org)
                    .col(AuditLog::At)
                    .take(),
            )
            .await
    }
}
