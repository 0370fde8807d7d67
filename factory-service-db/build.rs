fn main() {
    migrator_runtime::build::watch("../migrations");
}
