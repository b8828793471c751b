//! Stamps the binary with its git commit and build time for `/actuator/info`.

use std::process::Command;

fn main() {
    let sha = std::env::var("OTA_GIT_SHA").ok().or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    });
    println!(
        "cargo:rustc-env=OTA_GIT_SHA={}",
        sha.unwrap_or_else(|| "unknown".to_owned())
    );
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    println!("cargo:rustc-env=OTA_BUILD_EPOCH={secs}");
    println!("cargo:rerun-if-env-changed=OTA_GIT_SHA");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
}
