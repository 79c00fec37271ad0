//! Validate a Switchyard config file on the host: `check-config FILE`.
//! Prints every problem with its JSON path and exits 1, or prints a summary and exits 0.

use switchyard::core::config::Config;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check-config FILE");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    match Config::parse(&text) {
        Ok(cfg) => println!(
            "{path}: ok ({} providers, {} models, {} keys; secrets: {})",
            cfg.providers.len(),
            cfg.models.len(),
            cfg.keys.len(),
            cfg.secret_names().join(", ")
        ),
        Err(problems) => {
            eprintln!("{path}: the config is invalid:");
            for p in problems {
                eprintln!("  {p}");
            }
            std::process::exit(1);
        }
    }
}
