//! Does a Diesel `table!` (the crate's `schema.rs`) match the database the
//! migrations produce? A model that drifted from the migrations is named
//! table by table, column by column.

use diesel::Table;
use diesel::expression::Expression;
use diesel::query_builder::QueryFragment;
use diesel::sqlite::Sqlite;

use super::Snapshot;

/// The columns of the Diesel table `T`, in its declared order, with whether
/// each is `Nullable<…>`; and the table's name.
pub fn diesel_columns<T>() -> (String, Vec<(String, bool)>)
where
    T: Table,
    T::AllColumns: QueryFragment<Sqlite> + Expression,
{
    // `"api_keys"."id", "api_keys"."name", … -- binds: []`
    let rendered = diesel::debug_query::<Sqlite, _>(&T::all_columns()).to_string();
    let rendered = rendered.split(" -- binds").next().unwrap_or_default();
    let mut table = String::new();
    let names: Vec<String> = rendered
        .split(", ")
        .filter_map(|qualified| {
            let (t, c) = qualified.rsplit_once('.')?;
            table = unquote(t);
            Some(unquote(c))
        })
        .collect();
    let types = sql_type_names(std::any::type_name::<<T::AllColumns as Expression>::SqlType>());
    let nullable = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let is_nullable = types.get(i).is_some_and(|t| t.contains("Nullable<"));
            (name, is_nullable)
        })
        .collect();
    (table, nullable)
}

/// The differences between the Diesel table `T` and the table of the same
/// name in `snapshot`, one sentence each; empty when they match (same
/// columns, same nullability).
pub fn schema_drift<T>(snapshot: &Snapshot) -> Vec<String>
where
    T: Table,
    T::AllColumns: QueryFragment<Sqlite> + Expression,
{
    let (name, columns) = diesel_columns::<T>();
    let Some(table) = snapshot.tables.get(&name) else {
        return vec![format!(
            "table `{name}` is in schema.rs but not in the database the migrations make"
        )];
    };
    let mut drift = Vec::new();
    for (column, nullable) in &columns {
        // SQLite reports an `INTEGER PRIMARY KEY` (the rowid) as nullable; no
        // primary-key column ever holds NULL.
        let accepts_null = |c: &super::Column| c.nullable && !table.primary_key.contains(column);
        match table.columns.get(column) {
            None => drift.push(format!(
                "column `{name}.{column}` is in schema.rs but not in the database"
            )),
            Some(actual) if accepts_null(actual) != *nullable => drift.push(format!(
                "column `{name}.{column}` is {} in schema.rs but {} in the database",
                if *nullable { "Nullable" } else { "NOT NULL" },
                if accepts_null(actual) {
                    "nullable"
                } else {
                    "NOT NULL"
                },
            )),
            Some(_) => {}
        }
    }
    for column in &table.column_order {
        if !columns.iter().any(|(c, _)| c == column) {
            drift.push(format!(
                "column `{name}.{column}` is in the database but not in schema.rs"
            ));
        }
    }
    drift
}

/// `"api_keys"` or `` `api_keys` `` → `api_keys`.
fn unquote(s: &str) -> String {
    s.trim().trim_matches(['"', '`']).to_owned()
}

/// The top-level elements of a tuple's type name:
/// `(a::Text, b::Nullable<c::Timestamp>)` → `["a::Text", "b::Nullable<c::Timestamp>"]`.
fn sql_type_names(tuple: &str) -> Vec<String> {
    let inner = tuple
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(tuple);
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in inner.chars() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tuple_type_names() {
        assert_eq!(
            sql_type_names(
                "(diesel::sql_types::Text, diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)"
            ),
            [
                "diesel::sql_types::Text",
                "diesel::sql_types::Nullable<diesel::sql_types::Timestamp>"
            ]
        );
    }
}
