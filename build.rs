// `sqlx::migrate!` embeds `migrations/` at compile time; without this, a new migration file
// alone does not rebuild the binary, which then runs without it (as `sqlx migrate build-script`
// generates).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
