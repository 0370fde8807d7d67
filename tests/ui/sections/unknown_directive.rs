// A misspelt directive: -- migrate:upgarde.
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/unknown_directive");

fn main() {}
