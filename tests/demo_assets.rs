//! The bundled demo assets are exactly what `roam::demo::generate` produces.
//!
//! After changing the generator, rewrite them with
//! `ROAM_BLESS_DEMO=1 cargo test --test demo_assets` and commit `assets/`.

use std::io::Read;
use std::path::PathBuf;

use roam::demo::{HISTORY_ASSET, STATE_ASSET, export_gz_bytes, generate, state_json};

fn asset(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a gzip file of UTF-8 JSON lines");
    text
}

#[test]
fn demo_assets_match_the_generator() {
    let history = generate();
    let gz = export_gz_bytes(&history);
    let state = state_json(&history);
    let (gz_path, state_path) = (asset(HISTORY_ASSET), asset(STATE_ASSET));

    if std::env::var("ROAM_BLESS_DEMO").as_deref() == Ok("1") {
        std::fs::create_dir_all(gz_path.parent().unwrap()).unwrap();
        std::fs::write(&gz_path, &gz).unwrap();
        std::fs::write(&state_path, &state).unwrap();
        eprintln!("wrote {} and {}", gz_path.display(), state_path.display());
        return;
    }

    let hint = "run `ROAM_BLESS_DEMO=1 cargo test --test demo_assets` and commit assets/";
    let on_disk = std::fs::read(&gz_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {hint}", gz_path.display()));
    // Compare the content first, for a failure that says which line changed.
    let (want, got) = (gunzip(&gz), gunzip(&on_disk));
    if let Some((n, (w, g))) = want
        .lines()
        .zip(got.lines())
        .enumerate()
        .find(|(_, (w, g))| w != g)
    {
        panic!(
            "{} differs from the generator at line {}:\n  generated: {}\n  on disk:   {}\n{hint}",
            gz_path.display(),
            n + 1,
            w.chars().take(300).collect::<String>(),
            g.chars().take(300).collect::<String>()
        );
    }
    assert_eq!(
        want.lines().count(),
        got.lines().count(),
        "line count; {hint}"
    );
    assert!(
        gz == on_disk,
        "{} holds the same lines but different gzip bytes (a deflate change?); {hint}",
        gz_path.display()
    );

    let state_on_disk = std::fs::read_to_string(&state_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {hint}", state_path.display()));
    assert!(
        state == state_on_disk,
        "{} differs; {hint}",
        state_path.display()
    );
}
