// The second argument of embed_migrations! is not `postgres_lint = <bool>`.
mod key {
    migrator_runtime::embed_migrations!("migrations", postgres_lin = false);
}

mod value {
    migrator_runtime::embed_migrations!("migrations", postgres_lint = "no");
}

fn main() {}
