// The third argument is not `backends = [...]`, the list is empty, or a
// backend is named twice.
mod key {
    migrator_runtime::reversibility_tests!("migrations", MIGRATIONS, backend = [postgres]);
}

mod empty {
    migrator_runtime::reversibility_tests!("migrations", MIGRATIONS, backends = []);
}

mod twice {
    migrator_runtime::reversibility_tests!("migrations", MIGRATIONS, backends = [sqlite, sqlite]);
}

fn main() {}
