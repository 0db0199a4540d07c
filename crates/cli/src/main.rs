//! The `twin` binary: parses arguments, runs the command, prints errors once, in one line each
//! (help and version go to standard output).

fn main() {
    // Ctrl-C: remove the run's hidden partial files and folders, so the outputs stay as they
    // were before it.
    let _ = ctrlc::set_handler(|| {
        twin_io::atomic::remove_partials();
        eprintln!("interrupted: nothing written / đã dừng, không ghi gì");
        std::process::exit(130);
    });
    if let Err(e) = twin_cli::run(std::env::args_os()) {
        if let Some(c) = e.downcast_ref::<clap::Error>() {
            // clap prints help and version on stdout and usage errors on stderr, once.
            c.exit();
        }
        eprintln!("error: {}", twin_cli::clip(&e.to_string()));
        // A cause whose words the line above already holds (an error that wraps its source
        // and repeats it) is not printed again.
        let mut said = e.to_string();
        for cause in e.chain().skip(1) {
            let c = cause.to_string();
            if !said.contains(&c) {
                eprintln!("  caused by: {}", twin_cli::clip(&c));
            }
            said = c;
        }
        std::process::exit(1);
    }
}
