// `backends` names a backend the reversibility tests do not run on.
migrator_runtime::reversibility_tests!("migrations", MIGRATIONS, backends = [postgres, oracle]);

fn main() {}
