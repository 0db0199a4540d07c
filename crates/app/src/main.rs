fn main() {
    if let Err(e) = twin_app::cli::main(std::env::args_os()) {
        eprintln!("lỗi / error: {e:#}");
        std::process::exit(1);
    }
}
