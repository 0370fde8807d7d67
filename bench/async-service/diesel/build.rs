fn main() {
    // Rebuild when a revision is added or removed (the script regenerates
    // the workload when its size changes).
    println!("cargo:rerun-if-changed=migrations");
}
