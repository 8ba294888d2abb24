//! Rebuilds the crate when a migration changes (embed_migrations! does not
//! track the folder itself) and fingerprints the migrations so that test
//! databases cloned from an older template are never reused.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::{env, fs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR")?).join("../../../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect(&dir, &mut files)?;
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        file.strip_prefix(&dir)?.to_string_lossy().hash(&mut hasher);
        fs::read(file)?.hash(&mut hasher);
    }
    println!(
        "cargo:rustc-env=HUB_MIGRATIONS_FINGERPRINT={:016x}",
        hasher.finish()
    );
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
