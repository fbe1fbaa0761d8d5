//! Every file in `src/fault/kinds/` is a fault family module (declared by `automod::dir!`), so
//! adding one must rebuild the crate even though no other file changed.
fn main() {
    println!("cargo:rerun-if-changed=src/fault/kinds");
}
