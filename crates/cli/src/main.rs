//! The `twin` binary: parses arguments, runs the command, prints errors in one line each.

fn main() {
    if let Err(e) = twin_cli::run(std::env::args_os()) {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(match e.downcast_ref::<clap::Error>() {
            Some(c) => {
                let _ = c.print();
                c.exit_code()
            }
            None => 1,
        });
    }
}
