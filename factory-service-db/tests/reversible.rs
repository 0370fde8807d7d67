//! Every revision of the factory service is reversible, on SQLite, on
//! PostgreSQL and on MySQL/MariaDB: one test per revision and backend
//! (`reversible_sqlite_r001_add_api_keys`, `reversible_mysql_r005_backfill_key_prefix`, …).

migrator_runtime::reversibility_tests!(
    "../migrations",
    factory_service_db::MIGRATIONS,
    backends = [sqlite, postgres, mysql]
);
