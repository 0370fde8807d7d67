// Names longer than the backend keeps: 65 characters in the `mysql` upgrade
// (MySQL refuses it), 64 bytes in the untagged section, which serves
// PostgreSQL (it would cut the name to 63 bytes without a word).
migrator_runtime::embed_migrations!("../../../../tests/ui/sections/identifier_too_long");

fn main() {}
