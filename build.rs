fn main() {
    // Embedded migrations are read at compile time; rebuild when they change.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=data");
    println!("cargo:rerun-if-changed=explorer/dist");
    println!("cargo:rerun-if-changed=explorer/index.html");
}
