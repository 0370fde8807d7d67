fn main() {
    migrator_runtime::build::watch("fixtures");
}
