//! Parses the arguments as a boot command line and prints the banner line or the error:
//! `cargo run -p config --example check -- --ipv4=10.0.0.2/24 --forward=1.1.1.1`.
fn main() {
    let line = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    match config::Config::parse(&line) {
        Ok(c) => println!("{c}"),
        Err(e) => {
            println!("{e}");
            std::process::exit(1);
        }
    }
}
