//! Every revision of the factory service is reversible, on SQLite and on
//! PostgreSQL: one test per revision and backend
//! (`reversible_sqlite_r001_add_api_keys`, …).

migrator_runtime::reversibility_tests!("../migrations", factory_service_db::MIGRATIONS);
