//! The reader of a Diesel `schema.rs`: its `table!` declarations, and the
//! custom SQL types of its `sql_types` module.
//!
//! What `diesel print-schema` writes is read (both `diesel::table!` and
//! `table!`, `use` lines, `#[sql_name]`, `#[max_length]`, a primary key
//! list, `Nullable<…>`, `Array<…>`, schema-qualified tables, tables inside
//! inline modules); `joinable!` is read as the join it declares
//! ([`DieselSchema::joins`], which autogenerate does not write as foreign
//! keys but names in a note), `allow_tables_to_appear_in_same_query!` is a
//! query helper and skipped; anything else is listed in
//! [`DieselSchema::notes`].

use std::collections::BTreeMap;

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Item, Token};

use super::types::{Builtin, CustomType, SqlType};

/// What a `schema.rs` declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DieselSchema {
    /// The tables, in the file's order.
    pub tables: Vec<DieselTable>,
    /// The custom SQL types of its `sql_types` modules, by struct name.
    pub custom_types: BTreeMap<String, CustomType>,
    /// The `joinable!(child -> parent (column))` declarations, in the
    /// file's order.
    pub joins: Vec<Join>,
    /// What was read but means nothing for the schema, or could not be read,
    /// one sentence each (for the author, in the generated file).
    pub notes: Vec<String>,
}

/// One `joinable!(child -> parent (column))`: `child.column` holds keys of
/// `parent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// The table holding the key (its Rust name).
    pub child: String,
    /// The table it points at (its Rust name).
    pub parent: String,
    /// The column of `child` (its Rust name).
    pub column: String,
}

/// One `table!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DieselTable {
    /// The table's name in SQL (`#[sql_name]` if given).
    pub name: String,
    /// Its name in Rust (what `joinable!` names).
    pub rust_name: String,
    /// The database schema it is qualified with (`other.table`), if any.
    pub schema: Option<String>,
    /// The primary key's columns, in SQL names (default: `id`).
    pub primary_key: Vec<String>,
    /// The columns, in declared order.
    pub columns: Vec<DieselColumn>,
}

/// One column of a `table!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DieselColumn {
    /// The column's name in SQL (`#[sql_name]` if given).
    pub name: String,
    /// Its name in Rust (what `joinable!` names).
    pub rust_name: String,
    /// Its SQL type, without `Nullable`.
    pub sql_type: SqlType,
    /// `Nullable<…>`.
    pub nullable: bool,
    /// `#[max_length = N]` (a `VARCHAR(N)` in the database).
    pub max_length: Option<u32>,
}

/// Why a `schema.rs` could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}; {mend}")]
pub struct SchemaRsError {
    /// The file, as given.
    pub file: String,
    /// The line (1-based; 0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// How to mend it.
    pub mend: String,
}

/// Reads the text of a `schema.rs` (`file` names it in errors).
pub fn parse_schema_rs(text: &str, file: &str) -> Result<DieselSchema, SchemaRsError> {
    let error = |span: proc_macro2::Span, message: String, mend: &str| SchemaRsError {
        file: file.to_owned(),
        line: span.start().line,
        message,
        mend: mend.to_owned(),
    };
    // Outside a proc-macro proc-macro2 lexes by itself, which keeps lines.
    let syntax = syn::parse_file(text).map_err(|e| {
        error(
            e.span(),
            format!("does not parse as Rust: {e}"),
            "fix the file (it is what `diesel print-schema` writes)",
        )
    })?;
    let mut schema = DieselSchema::default();
    read_items(&syntax.items, &mut schema, &error)?;
    for table in &schema.tables {
        for column in &table.columns {
            if let SqlType::Custom(name) = column.sql_type.innermost()
                && !schema.custom_types.contains_key(name)
            {
                schema.notes.push(format!(
                    "column {}.{} has the SQL type `{name}`, which is neither Diesel's nor \
                     declared in this file's `sql_types` module: on PostgreSQL its type is \
                     written as the name in snake case, and other backends are refused; check it",
                    table.name, column.name,
                ));
            }
        }
    }
    Ok(schema)
}

type ErrorAt<'a> = dyn Fn(proc_macro2::Span, String, &str) -> SchemaRsError + 'a;

fn read_items(
    items: &[Item],
    schema: &mut DieselSchema,
    error: &ErrorAt<'_>,
) -> Result<(), SchemaRsError> {
    for item in items {
        match item {
            Item::Macro(m) => {
                let name = m
                    .mac
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                match name.as_str() {
                    "table" => {
                        let tables: Tables = m.mac.parse_body().map_err(|e| {
                            error(
                                e.span(),
                                format!("a `table!` does not parse: {e}"),
                                "write it as `diesel print-schema` does: \
                                 `name (key) { column -> Type, … }`",
                            )
                        })?;
                        schema.tables.extend(tables.0);
                    }
                    "joinable" => {
                        let join: Join = m.mac.parse_body().map_err(|e| {
                            error(
                                e.span(),
                                format!("a `joinable!` does not parse: {e}"),
                                "write it as `diesel print-schema` does: \
                                 `joinable!(child -> parent (column));`",
                            )
                        })?;
                        schema.joins.push(join);
                    }
                    // A query helper: no table, no column.
                    "allow_tables_to_appear_in_same_query" => {}
                    other => schema
                        .notes
                        .push(format!("the macro `{other}!` in schema.rs was ignored")),
                }
            }
            Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    if module.ident == "sql_types" {
                        read_sql_types(items, schema);
                    } else {
                        read_items(items, schema, error)?;
                    }
                }
            }
            // `use` lines, `// @generated` comments and the like.
            _ => {}
        }
    }
    Ok(())
}

/// The structs of a `sql_types` module, with their
/// `#[diesel(postgres_type(name = "…"))]`, `sqlite_type` and `mysql_type`.
fn read_sql_types(items: &[Item], schema: &mut DieselSchema) {
    for item in items {
        let Item::Struct(s) = item else { continue };
        let mut custom = CustomType::default();
        for attr in s.attrs.iter().filter(|a| a.path().is_ident("diesel")) {
            let _ = attr.parse_nested_meta(|meta| {
                let slot = if meta.path.is_ident("postgres_type") {
                    &mut custom.postgres
                } else if meta.path.is_ident("sqlite_type") {
                    &mut custom.sqlite
                } else if meta.path.is_ident("mysql_type") {
                    &mut custom.mysql
                } else {
                    // `check_for_backend(…)` and the like.
                    if meta.input.peek(syn::token::Paren) {
                        let _ = meta.parse_nested_meta(|inner| skip_value(&inner));
                    }
                    return skip_value(&meta);
                };
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        let name: syn::LitStr = inner.value()?.parse()?;
                        *slot = Some(name.value());
                        Ok(())
                    } else {
                        // `oid = …`, `array_oid = …`, `schema = "…"`.
                        skip_value(&inner)
                    }
                })
            });
        }
        schema.custom_types.insert(s.ident.to_string(), custom);
    }
}

fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    }
    Ok(())
}

impl Parse for Join {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let child: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        let _: Token![->] = input.parse()?;
        let parent: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        let content;
        syn::parenthesized!(content in input);
        let column: Ident = content.call(syn::ext::IdentExt::parse_any)?;
        Ok(Join {
            child: unraw(&child),
            parent: unraw(&parent),
            column: unraw(&column),
        })
    }
}

/// The body of a `table!`: `use` lines and one or more tables.
struct Tables(Vec<DieselTable>);

impl Parse for Tables {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut tables = Vec::new();
        // Names imported from outside Diesel (`use super::sql_types::Uuid;`):
        // custom types, even when Diesel has a type of that name.
        let mut imported = Vec::new();
        while !input.is_empty() {
            if input.peek(Token![use]) {
                let item: syn::ItemUse = input.parse()?;
                imported_names(&item.tree, false, &mut imported);
                continue;
            }
            tables.push(parse_table(input, &imported)?);
        }
        Ok(Tables(tables))
    }
}

/// The names a `use` tree brings in from paths that do not start with
/// `diesel`.
fn imported_names(tree: &syn::UseTree, inside: bool, names: &mut Vec<String>) {
    match tree {
        syn::UseTree::Path(p) => {
            if !inside && p.ident == "diesel" {
                return;
            }
            imported_names(&p.tree, true, names);
        }
        syn::UseTree::Name(n) => names.push(n.ident.to_string()),
        syn::UseTree::Rename(r) => names.push(r.rename.to_string()),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                imported_names(tree, inside, names);
            }
        }
        syn::UseTree::Glob(_) => {}
    }
}

/// `#[sql_name = "…"]` among `attrs` (docs and other attributes skipped).
fn sql_name(attrs: &[Attribute]) -> syn::Result<Option<String>> {
    attr_value(attrs, "sql_name", |lit| match lit {
        syn::Lit::Str(s) => Ok(s.value()),
        other => Err(syn::Error::new(other.span(), "`sql_name` takes a string")),
    })
}

/// `#[name = literal]` among `attrs`, read by `read`.
fn attr_value<T>(
    attrs: &[Attribute],
    name: &str,
    read: impl Fn(&syn::Lit) -> syn::Result<T>,
) -> syn::Result<Option<T>> {
    let Some(attr) = attrs.iter().find(|a| a.path().is_ident(name)) else {
        return Ok(None);
    };
    match &attr.meta.require_name_value()?.value {
        syn::Expr::Lit(lit) => read(&lit.lit).map(Some),
        value => Err(syn::Error::new_spanned(
            value,
            format!("`{name}` takes a literal"),
        )),
    }
}

fn parse_table(input: ParseStream<'_>, imported: &[String]) -> syn::Result<DieselTable> {
    let attrs = input.call(Attribute::parse_outer)?;
    let first: Ident = input.call(syn::ext::IdentExt::parse_any)?;
    let (schema, rust_name) = if input.peek(Token![.]) {
        let _: Token![.] = input.parse()?;
        let name: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        (Some(unraw(&first)), name)
    } else {
        (None, first)
    };
    let name = sql_name(&attrs)?.unwrap_or_else(|| unraw(&rust_name));
    let mut key_rust = vec!["id".to_owned()];
    if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        let keys: Punctuated<Ident, Token![,]> =
            content.parse_terminated(syn::ext::IdentExt::parse_any, Token![,])?;
        key_rust = keys.iter().map(unraw).collect();
    }
    let content;
    syn::braced!(content in input);
    let mut columns = Vec::new();
    while !content.is_empty() {
        let attrs = content.call(Attribute::parse_outer)?;
        let rust: Ident = content.call(syn::ext::IdentExt::parse_any)?;
        let _: Token![->] = content.parse()?;
        let ty: syn::Type = content.parse()?;
        let (sql_type, nullable) = SqlType::from_type(&ty, imported)?;
        let max_length = attr_value(&attrs, "max_length", |lit| match lit {
            syn::Lit::Int(n) => n.base10_parse(),
            other => Err(syn::Error::new(
                other.span(),
                "`max_length` takes an integer",
            )),
        })?;
        columns.push(DieselColumn {
            name: sql_name(&attrs)?.unwrap_or_else(|| unraw(&rust)),
            rust_name: unraw(&rust),
            sql_type,
            nullable,
            max_length,
        });
        if content.is_empty() {
            break;
        }
        let _: Token![,] = content.parse()?;
    }
    // The key names Rust columns; the database knows their SQL names.
    let primary_key = key_rust
        .iter()
        .map(|key| {
            columns
                .iter()
                .find(|c: &&DieselColumn| &c.rust_name == key)
                .map(|c| c.name.clone())
                .ok_or_else(|| {
                    syn::Error::new(
                        rust_name.span(),
                        format!("the primary key column `{key}` is not a column of `{name}`"),
                    )
                })
        })
        .collect::<syn::Result<_>>()?;
    Ok(DieselTable {
        name,
        rust_name: unraw(&rust_name),
        schema,
        primary_key,
        columns,
    })
}

/// `r#type` → `type`.
fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map(str::to_owned).unwrap_or(text)
}

impl SqlType {
    /// The SQL type of a column's Rust type, and whether it is
    /// `Nullable<…>`.
    fn from_type(ty: &syn::Type, imported: &[String]) -> syn::Result<(SqlType, bool)> {
        let (name, argument) = last_segment(ty)?;
        if name == "Nullable" {
            let inner =
                argument.ok_or_else(|| syn::Error::new_spanned(ty, "`Nullable` takes a type"))?;
            let (inner, _) = SqlType::from_type(inner, imported)?;
            return Ok((inner, true));
        }
        if name == "Array" {
            let inner =
                argument.ok_or_else(|| syn::Error::new_spanned(ty, "`Array` takes a type"))?;
            let (inner, _) = SqlType::from_type(inner, imported)?;
            return Ok((SqlType::Array(Box::new(inner)), false));
        }
        if name == "Unsigned" {
            let inner =
                argument.ok_or_else(|| syn::Error::new_spanned(ty, "`Unsigned` takes a type"))?;
            let (inner, _) = SqlType::from_type(inner, imported)?;
            return Ok((SqlType::Unsigned(Box::new(inner)), false));
        }
        // `Range<Int4>`: PostgreSQL's `int4range`, which print-schema
        // writes `Int4range`.
        if name == "Range"
            && let Some(inner) = argument
            && let (SqlType::Builtin(element), _) = SqlType::from_type(inner, imported)?
            && let Some(range) = element.range()
        {
            return Ok((SqlType::Builtin(range), false));
        }
        // A path into a `sql_types` module is a custom type even when its
        // name is one of Diesel's (`super::sql_types::Uuid`).
        let path = path_text(ty);
        let path_is_custom = (path.contains("::") && !path.starts_with("diesel::"))
            || (!path.contains("::") && imported.contains(&name));
        let sql_type = match Builtin::from_name(&name) {
            Some(builtin) if !path_is_custom => SqlType::Builtin(builtin),
            _ => SqlType::Custom(name),
        };
        Ok((sql_type, false))
    }
}

fn path_text(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::"),
        _ => String::new(),
    }
}

/// The last segment of a type path and its one generic argument, if any.
fn last_segment(ty: &syn::Type) -> syn::Result<(String, Option<&syn::Type>)> {
    let syn::Type::Path(path) = ty else {
        return Err(syn::Error::new_spanned(
            ty,
            "a column's type is a path such as `Nullable<Text>`",
        ));
    };
    let segment = path
        .path
        .segments
        .last()
        .ok_or_else(|| syn::Error::new_spanned(ty, "empty type path"))?;
    let argument = match &segment.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    };
    Ok((segment.ident.to_string(), argument))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `diesel print-schema` writes for PostgreSQL, with a custom type.
    const PRINT_SCHEMA: &str = r#"// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "mood"))]
    pub struct Mood;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Mood;

    /// People.
    users (id) {
        id -> Int4,
        #[max_length = 120]
        name -> Varchar,
        mood -> Nullable<Mood>,
        tags -> Array<Nullable<Text>>,
        #[sql_name = "type"]
        kind -> Text,
        r#ref -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    posts (author_id, slug) {
        author_id -> Int4,
        slug -> Text,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    #[sql_name = "Audit Log"]
    other.audit_log {
        id -> BigInt,
    }
}

table! {
    legacy {
        id -> Integer,
        custom -> crate::schema::sql_types::Colour,
    }
}

diesel::joinable!(posts -> users (author_id));
diesel::allow_tables_to_appear_in_same_query!(posts, users,);
"#;

    #[test]
    fn reads_what_print_schema_writes() {
        let schema = parse_schema_rs(PRINT_SCHEMA, "src/schema.rs").expect("parses");
        let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["users", "posts", "Audit Log", "legacy"]);
        let users = &schema.tables[0];
        assert_eq!(users.primary_key, ["id"]);
        let column = |name: &str| {
            users
                .columns
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("column {name}"))
        };
        assert_eq!(column("id").sql_type, SqlType::Builtin(Builtin::Integer));
        assert!(!column("id").nullable);
        assert_eq!(column("name").max_length, Some(120));
        assert_eq!(column("mood").sql_type, SqlType::Custom("Mood".to_owned()));
        assert!(column("mood").nullable);
        assert_eq!(
            column("tags").sql_type,
            SqlType::Array(Box::new(SqlType::Builtin(Builtin::Text)))
        );
        assert_eq!(column("type").sql_type, SqlType::Builtin(Builtin::Text));
        assert!(column("ref").nullable);
        assert_eq!(schema.tables[1].primary_key, ["author_id", "slug"]);
        assert_eq!(schema.tables[2].schema.as_deref(), Some("other"));
        assert_eq!(schema.tables[3].primary_key, ["id"]);
        assert_eq!(
            schema.tables[3].columns[1].sql_type,
            SqlType::Custom("Colour".to_owned())
        );
        assert_eq!(
            schema.custom_types["Mood"].postgres.as_deref(),
            Some("mood")
        );
        // `Colour` is declared nowhere in the file: reported.
        assert_eq!(schema.notes.len(), 1, "{:?}", schema.notes);
        assert!(
            schema.notes[0].contains("legacy.custom"),
            "{:?}",
            schema.notes
        );
    }

    #[test]
    fn a_custom_type_named_like_diesels_is_the_custom_one() {
        // The factory service's schema.rs: its own `Uuid`, TEXT on SQLite.
        let text = r#"
pub mod sql_types {
    #[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "uuid"))]
    #[diesel(sqlite_type(name = "Text"))]
    #[diesel(mysql_type(name = "String"))]
    pub struct Uuid;
}
diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Uuid;
    api_keys (id) { id -> Uuid, name -> Text, }
}
"#;
        let schema = parse_schema_rs(text, "schema.rs").expect("parses");
        assert_eq!(
            schema.tables[0].columns[0].sql_type,
            SqlType::Custom("Uuid".to_owned())
        );
        assert_eq!(schema.custom_types["Uuid"].sqlite.as_deref(), Some("Text"));
        assert!(schema.notes.is_empty(), "{:?}", schema.notes);
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_mend() {
        let error = parse_schema_rs(
            "diesel::table! {\n    users (id) {\n        id Int4,\n    }\n}\n",
            "src/schema.rs",
        )
        .expect_err("bad table");
        let text = error.to_string();
        assert!(
            text.starts_with("src/schema.rs:3: a `table!` does not parse"),
            "{text}"
        );
        assert!(text.contains("diesel print-schema"), "{text}");
        let error = parse_schema_rs("diesel::table! { t (nope) { id -> Int4, } }", "s.rs")
            .expect_err("bad key");
        assert!(
            error.to_string().contains("`nope` is not a column of `t`"),
            "{error}"
        );
    }
}
