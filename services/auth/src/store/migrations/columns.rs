//! Column and constraint helpers shared by the auth migrations.

use sea_orm_migration::prelude::*;

pub fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .take()
}

pub fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().take()
}

pub fn ts_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

pub fn string(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().take()
}

pub fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().take()
}

pub fn uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().unique_key().take()
}

pub fn table(t: impl IntoIden) -> TableCreateStatement {
    Table::create().table(t).take()
}

/// A cascading foreign key `from.col → to.id`.
pub fn fk<T: IntoIden + Copy + 'static, U: IntoIden + Copy + 'static>(
    name: &str,
    from: T,
    col: T,
    to: U,
    to_id: U,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, col)
        .to(to, to_id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

pub async fn unique(manager: &SchemaManager<'_>, name: &str, table: impl IntoIden, cols: &[&str]) -> Result<(), DbErr> {
    let mut index = Index::create().name(name).table(table).unique().take();
    for col in cols {
        index.col(Alias::new(*col));
    }
    manager.create_index(index).await
}
