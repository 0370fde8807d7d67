//! Diesel's SQL types, their DDL on each backend, and whether a database's
//! column type is the one a `schema.rs` means.

use crate::model::BackendKind;

/// The SQL type of a column, without `Nullable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlType {
    /// One of `diesel::sql_types`.
    Builtin(Builtin),
    /// `Array<T>` (PostgreSQL).
    Array(Box<SqlType>),
    /// `Unsigned<T>` (MySQL).
    Unsigned(Box<SqlType>),
    /// Any other type, by its Rust name (a `sql_types` struct of the
    /// schema, or a crate's type).
    Custom(String),
}

impl SqlType {
    /// The element type of an array, or the type itself.
    pub fn innermost(&self) -> &SqlType {
        match self {
            SqlType::Array(inner) | SqlType::Unsigned(inner) => inner.innermost(),
            other => other,
        }
    }
}

/// A custom SQL type's names on each backend, from its
/// `#[diesel(postgres_type(name = "…"))]`, `sqlite_type(name = "…")` and
/// `mysql_type(name = "…")`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomType {
    /// The PostgreSQL type name (`my_enum`, `uuid`).
    pub postgres: Option<String>,
    /// Diesel's `SqliteType` variant (`Text`, `Binary`, `Integer`…).
    pub sqlite: Option<String>,
    /// Diesel's `MysqlType` variant (`String`, `Blob`, `Long`…).
    pub mysql: Option<String>,
}

macro_rules! builtins {
    ($($variant:ident: $($name:literal)|+ => pg $pg:literal, sqlite $sqlite:literal, mysql $mysql:literal;)*) => {
        /// The types of `diesel::sql_types` (and its backend modules) that
        /// have a DDL type.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum Builtin {
            $($variant,)*
        }

        impl Builtin {
            /// Every one of them.
            const ALL: &[Builtin] = &[$(Builtin::$variant,)*];

            /// The type of a Diesel type name (`Int4`, `Integer`,
            /// `Timestamptz`…), aliases included.
            pub fn from_name(name: &str) -> Option<Builtin> {
                match name {
                    $($($name)|+ => Some(Builtin::$variant),)*
                    _ => None,
                }
            }

            /// Its DDL type on `backend` (empty: the backend has none).
            fn ddl_name(self, backend: BackendKind) -> &'static str {
                match (self, backend) {
                    $(
                        (Builtin::$variant, BackendKind::Postgres) => $pg,
                        (Builtin::$variant, BackendKind::Sqlite) => $sqlite,
                        (Builtin::$variant, BackendKind::Mysql) => $mysql,
                    )*
                }
            }
        }
    };
}

builtins! {
    Bool: "Bool" | "Bool_" => pg "BOOLEAN", sqlite "BOOLEAN", mysql "BOOLEAN";
    TinyInt: "TinyInt" | "Tinyint" => pg "SMALLINT", sqlite "SMALLINT", mysql "TINYINT";
    SmallInt: "SmallInt" | "Smallint" | "Int2" => pg "SMALLINT", sqlite "SMALLINT", mysql "SMALLINT";
    Integer: "Integer" | "Int4" => pg "INTEGER", sqlite "INTEGER", mysql "INTEGER";
    BigInt: "BigInt" | "Bigint" | "Int8" => pg "BIGINT", sqlite "BIGINT", mysql "BIGINT";
    Float: "Float" | "Float4" => pg "REAL", sqlite "REAL", mysql "FLOAT";
    Double: "Double" | "Float8" => pg "DOUBLE PRECISION", sqlite "DOUBLE", mysql "DOUBLE";
    Numeric: "Numeric" | "Decimal" => pg "NUMERIC", sqlite "NUMERIC", mysql "DECIMAL(65, 30)";
    // MySQL's print-schema writes `Tinytext`, `Mediumtext`, `Longtext`,
    // `Tinyblob`, `Mediumblob`, `Longblob`, `Varbinary` (the catalogue's
    // name, capitalised); Diesel declares them as aliases.
    Text: "Text" | "VarChar" | "Varchar" | "LongText" | "MediumText" | "TinyText" | "Longtext" | "Mediumtext" | "Tinytext" => pg "TEXT", sqlite "TEXT", mysql "TEXT";
    Char: "Bpchar" | "Char" => pg "CHARACTER(1)", sqlite "CHARACTER(1)", mysql "CHAR(1)";
    Binary: "Binary" | "Bytea" | "Blob" | "VarBinary" | "LongBlob" | "MediumBlob" | "TinyBlob" | "Varbinary" | "Longblob" | "Mediumblob" | "Tinyblob" => pg "BYTEA", sqlite "BLOB", mysql "BLOB";
    Bit: "Bit" => pg "BIT", sqlite "", mysql "BIT";
    Date: "Date" => pg "DATE", sqlite "DATE", mysql "DATE";
    Time: "Time" => pg "TIME", sqlite "TIME", mysql "TIME";
    Timestamp: "Timestamp" => pg "TIMESTAMP", sqlite "TIMESTAMP", mysql "TIMESTAMP";
    Datetime: "Datetime" => pg "TIMESTAMP", sqlite "DATETIME", mysql "DATETIME";
    Timestamptz: "Timestamptz" | "TimestamptzSqlite" => pg "TIMESTAMPTZ", sqlite "TIMESTAMPTZ", mysql "";
    Interval: "Interval" => pg "INTERVAL", sqlite "", mysql "";
    Uuid: "Uuid" => pg "UUID", sqlite "", mysql "";
    Json: "Json" => pg "JSON", sqlite "JSON", mysql "JSON";
    Jsonb: "Jsonb" => pg "JSONB", sqlite "JSONB", mysql "";
    Inet: "Inet" => pg "INET", sqlite "", mysql "";
    Cidr: "Cidr" => pg "CIDR", sqlite "", mysql "";
    MacAddr: "MacAddr" | "Macaddr" => pg "MACADDR", sqlite "", mysql "";
    Money: "Money" => pg "MONEY", sqlite "", mysql "";
    Oid: "Oid" => pg "OID", sqlite "", mysql "";
    Int4range: "Int4range" => pg "INT4RANGE", sqlite "", mysql "";
    Int8range: "Int8range" => pg "INT8RANGE", sqlite "", mysql "";
    Numrange: "Numrange" => pg "NUMRANGE", sqlite "", mysql "";
    Tsrange: "Tsrange" => pg "TSRANGE", sqlite "", mysql "";
    Tstzrange: "Tstzrange" => pg "TSTZRANGE", sqlite "", mysql "";
    Daterange: "Daterange" => pg "DATERANGE", sqlite "", mysql "";
}

impl Builtin {
    /// The range type of `Range<self>` (PostgreSQL's built-in ranges).
    pub fn range(self) -> Option<Builtin> {
        Some(match self {
            Builtin::Integer => Builtin::Int4range,
            Builtin::BigInt => Builtin::Int8range,
            Builtin::Numeric => Builtin::Numrange,
            Builtin::Timestamp => Builtin::Tsrange,
            Builtin::Timestamptz => Builtin::Tstzrange,
            Builtin::Date => Builtin::Daterange,
            _ => return None,
        })
    }
}

/// Whether PostgreSQL has the type `name` built in (`text`, `uuid`, `int4`),
/// as opposed to one a revision creates (an enum, a domain).
pub fn postgres_builtin(name: &str) -> bool {
    let wanted = family(name);
    Builtin::ALL.iter().any(|b| {
        let ddl = b.ddl_name(BackendKind::Postgres);
        !ddl.is_empty() && family(ddl) == wanted
    })
}

/// Why a column has no DDL type on a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoDdl(pub String);

/// The DDL type of `sql_type` on `backend` (`#[max_length = N]` makes a
/// text a `VARCHAR(N)`), or why there is none.
pub fn ddl(
    sql_type: &SqlType,
    max_length: Option<u32>,
    backend: BackendKind,
    custom: &std::collections::BTreeMap<String, CustomType>,
) -> Result<String, NoDdl> {
    match sql_type {
        SqlType::Builtin(Builtin::Text) if max_length.is_some() => {
            Ok(format!("VARCHAR({})", max_length.unwrap_or_default()))
        }
        SqlType::Builtin(Builtin::Char) if max_length.is_some() => {
            Ok(format!("CHARACTER({})", max_length.unwrap_or_default()))
        }
        SqlType::Builtin(b) => match b.ddl_name(backend) {
            "" => Err(NoDdl(format!("Diesel's `{b:?}` has no {backend} type"))),
            name => Ok(name.to_owned()),
        },
        SqlType::Array(inner) if backend == BackendKind::Postgres => {
            Ok(format!("{}[]", ddl(inner, max_length, backend, custom)?))
        }
        SqlType::Array(_) => Err(NoDdl(format!("{backend} has no array types"))),
        SqlType::Unsigned(inner) if backend == BackendKind::Mysql => Ok(format!(
            "{} UNSIGNED",
            ddl(inner, max_length, backend, custom)?
        )),
        SqlType::Unsigned(_) => Err(NoDdl(format!(
            "`Unsigned<…>` is MySQL's; {backend} has no unsigned types"
        ))),
        SqlType::Custom(name) => {
            let declared = custom.get(name);
            let named = match backend {
                BackendKind::Postgres => declared.and_then(|c| c.postgres.clone()),
                BackendKind::Sqlite => declared
                    .and_then(|c| c.sqlite.as_deref())
                    .map(|t| storage_ddl(t, backend)),
                BackendKind::Mysql => declared
                    .and_then(|c| c.mysql.as_deref())
                    .map(|t| storage_ddl(t, backend)),
            };
            match named {
                Some(named) if !named.is_empty() => Ok(named),
                _ if declared.is_some() => Err(NoDdl(format!(
                    "the custom type `{name}` declares no {backend} type \
                     (`#[diesel({backend}_type(name = \"…\"))]`)"
                ))),
                // Not declared in this file: its PostgreSQL name is usually
                // the struct's in snake case; said in a note.
                _ if backend == BackendKind::Postgres => Ok(snake_case(name)),
                _ => Err(NoDdl(format!(
                    "the custom type `{name}` is not declared in this schema.rs"
                ))),
            }
        }
    }
}

/// The DDL type of one of Diesel's `SqliteType` or `MysqlType` variants.
fn storage_ddl(variant: &str, backend: BackendKind) -> String {
    let builtin = match variant {
        "Binary" | "Blob" | "TinyBlob" | "MediumBlob" | "LongBlob" | "VarBinary" | "Bit" => {
            Builtin::Binary
        }
        "Text" | "String" | "Enum" | "Set" => Builtin::Text,
        "Float" => Builtin::Float,
        "Double" => Builtin::Double,
        "SmallInt" | "Short" => Builtin::SmallInt,
        "Tiny" | "UnsignedTiny" => Builtin::TinyInt,
        "Integer" | "Long" | "UnsignedLong" | "UnsignedShort" => Builtin::Integer,
        "LongLong" | "UnsignedLongLong" => Builtin::BigInt,
        "Numeric" => Builtin::Numeric,
        "Date" => Builtin::Date,
        "Time" => Builtin::Time,
        "Timestamp" => Builtin::Timestamp,
        "DateTime" => Builtin::Datetime,
        _ => return String::new(),
    };
    builtin.ddl_name(backend).to_owned()
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// True when the database's column type `actual` (as a
/// [`DbColumn`](super::DbColumn) holds it) is the type `wanted` (a DDL type
/// as autogenerate writes it) on `backend`.
///
/// What counts as the same is what a Diesel type can tell apart: on
/// PostgreSQL `TEXT`, `VARCHAR(n)` and `CHAR(n)` are all Diesel's `Text` (a
/// length limit is not a difference, and dropping it would lose a check),
/// `NUMERIC(10, 2)` is `Numeric`; on SQLite two types are the same when they
/// have the same affinity (SQLite stores them alike, and changing one needs
/// the table rebuilt).
pub fn same_type(backend: BackendKind, wanted: &str, actual: &str) -> bool {
    match backend {
        BackendKind::Sqlite => affinity(wanted) == affinity(actual),
        BackendKind::Postgres => family(wanted) == family(actual),
        BackendKind::Mysql => mysql_family(wanted) == mysql_family(actual),
    }
}

/// [`family`] on MySQL and MariaDB: `TINYINT(1)` is the `BOOLEAN` Diesel's
/// `Bool` is; `TIMESTAMP` is `DATETIME` (Diesel's `Timestamp` and
/// `Datetime` are one Rust type); `JSON` is `TEXT` (MariaDB's `JSON` is a `LONGTEXT` with a
/// `json_valid` check, which its catalogue and print-schema report as
/// `LONGTEXT`); `UNSIGNED` is kept.
fn mysql_family(ty: &str) -> String {
    let upper = ty.trim().to_uppercase();
    let (ty, unsigned) = match upper.strip_suffix(" UNSIGNED") {
        Some(ty) => (ty.trim(), " UNSIGNED"),
        None => (upper.as_str(), ""),
    };
    let family = match ty.replace(' ', "").as_str() {
        "TINYINT(1)" => "BOOLEAN".to_owned(),
        _ => match family(ty).as_str() {
            "JSON" => "TEXT".to_owned(),
            // Diesel reads both into the same `NaiveDateTime`, and a schema.rs
            // written for PostgreSQL says `Timestamp` of a `DATETIME(6)`.
            "TIMESTAMP" => "DATETIME".to_owned(),
            other => other.to_owned(),
        },
    };
    format!("{family}{unsigned}")
}

/// SQLite's affinity of a declared type
/// (<https://www.sqlite.org/datatype3.html#determination_of_column_affinity>).
fn affinity(declared: &str) -> &'static str {
    let upper = declared.to_uppercase();
    if upper.contains("INT") {
        "INTEGER"
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|t| upper.contains(t)) {
        "TEXT"
    } else if upper.contains("BLOB") || upper.trim().is_empty() {
        "BLOB"
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|t| upper.contains(t)) {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// A PostgreSQL or MySQL type without its modifiers, under one name per
/// Diesel type: `CHARACTER VARYING(100)` → `TEXT`, `INT4` → `INTEGER`,
/// `TIMESTAMP(3) WITH TIME ZONE` → `TIMESTAMPTZ`, `INTEGER[]` →
/// `INTEGER[]`.
fn family(ty: &str) -> String {
    let upper = ty.trim().to_uppercase();
    if let Some(element) = upper.strip_suffix("[]") {
        return format!("{}[]", family(element));
    }
    // Drop `(…)` modifiers and a schema qualification, keep the words.
    let mut bare = String::new();
    let mut depth = 0usize;
    for c in upper.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => bare.push(c),
            _ => {}
        }
    }
    let bare = bare.split_whitespace().collect::<Vec<_>>().join(" ");
    let bare = bare.trim_matches('"');
    let bare = bare.rsplit_once('.').map_or(bare, |(_, name)| name);
    match bare {
        "INT" | "INT4" | "SERIAL" | "MEDIUMINT" => "INTEGER",
        "INT8" | "BIGSERIAL" => "BIGINT",
        "INT2" | "SMALLSERIAL" => "SMALLINT",
        "FLOAT4" => "REAL",
        "FLOAT8" | "DOUBLE" => "DOUBLE PRECISION",
        "DECIMAL" => "NUMERIC",
        "CHARACTER VARYING" | "VARCHAR" | "CHARACTER" | "CHAR" | "BPCHAR" | "CITEXT"
        | "LONGTEXT" | "MEDIUMTEXT" | "TINYTEXT" => "TEXT",
        "BOOL" => "BOOLEAN",
        "TIME WITHOUT TIME ZONE" => "TIME",
        "TIMESTAMP WITHOUT TIME ZONE" => "TIMESTAMP",
        "TIMESTAMP WITH TIME ZONE" => "TIMESTAMPTZ",
        "LONGBLOB" | "MEDIUMBLOB" | "TINYBLOB" | "VARBINARY" | "BINARY" => "BLOB",
        other => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_types_match_what_diesel_means() {
        use BackendKind::{Postgres, Sqlite};
        for (wanted, actual) in [
            ("INTEGER", "INTEGER"),
            ("TEXT", "CHARACTER VARYING(100)"),
            ("TEXT", "CHARACTER VARYING"),
            ("VARCHAR(20)", "TEXT"),
            ("TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE"),
            ("TIMESTAMPTZ", "TIMESTAMP(3) WITH TIME ZONE"),
            ("NUMERIC", "NUMERIC(10,2)"),
            ("DOUBLE PRECISION", "DOUBLE PRECISION"),
            ("INTEGER[]", "INTEGER[]"),
            ("my_enum", "MY_ENUM"),
            ("TIME", "TIME WITHOUT TIME ZONE"),
        ] {
            assert!(same_type(Postgres, wanted, actual), "{wanted} vs {actual}");
        }
        for (wanted, actual) in [
            ("INTEGER", "BIGINT"),
            ("TEXT", "INTEGER"),
            ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"),
            ("TEXT[]", "TEXT"),
        ] {
            assert!(!same_type(Postgres, wanted, actual), "{wanted} vs {actual}");
        }
        assert!(same_type(Sqlite, "BIGINT", "INTEGER"));
        assert!(same_type(Sqlite, "TEXT", "VARCHAR(10)"));
        assert!(same_type(Sqlite, "TIMESTAMP", "DATETIME"));
        assert!(!same_type(Sqlite, "TEXT", "INTEGER"));
        assert!(!same_type(Sqlite, "BLOB", "TEXT"));
        // MySQL and MariaDB as their catalogues name Diesel's types.
        let mysql = BackendKind::Mysql;
        for (wanted, actual) in [
            ("BOOLEAN", "TINYINT(1)"),
            ("JSON", "LONGTEXT"),
            ("JSON", "JSON"),
            ("TEXT", "MEDIUMTEXT"),
            ("DATETIME", "DATETIME(6)"),
            ("TIMESTAMP", "DATETIME(6)"),
            ("DECIMAL(65, 30)", "DECIMAL(10,2)"),
            ("INTEGER UNSIGNED", "INT UNSIGNED"),
            ("BLOB", "LONGBLOB"),
        ] {
            assert!(same_type(mysql, wanted, actual), "{wanted} vs {actual}");
        }
        assert!(!same_type(mysql, "TINYINT", "TINYINT(1)"));
        assert!(!same_type(mysql, "INTEGER", "INT UNSIGNED"));
        for name in [
            "Tinytext",
            "Mediumtext",
            "Longtext",
            "Tinyblob",
            "Mediumblob",
            "Longblob",
            "Varbinary",
            "Bit",
            "Tstzrange",
        ] {
            assert!(Builtin::from_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn ddl_of_builtin_custom_and_array_types() {
        let mut custom = std::collections::BTreeMap::new();
        custom.insert(
            "Uuid".to_owned(),
            CustomType {
                postgres: Some("uuid".to_owned()),
                sqlite: Some("Text".to_owned()),
                mysql: Some("String".to_owned()),
            },
        );
        let b = |name| SqlType::Builtin(Builtin::from_name(name).expect("builtin"));
        let pg = BackendKind::Postgres;
        assert_eq!(ddl(&b("Int4"), None, pg, &custom), Ok("INTEGER".to_owned()));
        assert_eq!(
            ddl(&b("Varchar"), Some(40), pg, &custom),
            Ok("VARCHAR(40)".to_owned())
        );
        assert_eq!(
            ddl(&SqlType::Array(Box::new(b("Text"))), None, pg, &custom),
            Ok("TEXT[]".to_owned())
        );
        let uuid = SqlType::Custom("Uuid".to_owned());
        assert_eq!(ddl(&uuid, None, pg, &custom), Ok("uuid".to_owned()));
        assert_eq!(
            ddl(&uuid, None, BackendKind::Sqlite, &custom),
            Ok("TEXT".to_owned())
        );
        assert_eq!(
            ddl(&SqlType::Custom("MyEnum".to_owned()), None, pg, &custom),
            Ok("my_enum".to_owned())
        );
        assert!(ddl(&b("Uuid"), None, BackendKind::Sqlite, &custom).is_err());
    }
}
