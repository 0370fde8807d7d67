// Two .sql files whose names are not <rev>_<slug>.sql: add-users.sql (no revision ID) and 001-add.sql.
migrator_runtime::embed_migrations!("../../../../tests/ui/files/bad_file_name");

fn main() {}
