// A misspelt directive: -- migrate:upgarde.
migrator_macros::embed_migrations!("../../../../tests/ui/sections/unknown_directive");

fn main() {}
