//! Asking the user on the terminal: a line with echo ([`ask`]), a password without echo
//! ([`ask_hidden`], echo turned off through termios and restored even on error), and a password
//! given on stdin ([`read_secret`]).

use std::io::{BufRead, IsTerminal, Write};

use secrecy::SecretString;

use crate::error::Error;

/// Asks `question` on stderr and reads one line (with echo) from the terminal on stdin; `what` names
/// the answer in the error when stdin is not a terminal.
pub fn ask(question: &str, what: &str) -> Result<String, Error> {
    require_terminal(what)?;
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}

/// Asks `question` on stderr and reads one line from the terminal on stdin without echoing it.
pub fn ask_hidden(question: &str, what: &str) -> Result<SecretString, Error> {
    require_terminal(what)?;
    let line = {
        // Echo goes off before the prompt shows, so nothing typed after it is echoed.
        let _echo_off = EchoOff::new()?;
        eprint!("{question}");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    };
    // The newline typed by the user was not echoed either.
    eprintln!();
    Ok(SecretString::from(trim_newline(line?)))
}

/// Reads a secret from `input`: its first line, without the line ending (other spaces are kept).
pub fn read_secret(input: &mut impl BufRead) -> Result<SecretString, Error> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    Ok(SecretString::from(trim_newline(line)))
}

fn trim_newline(mut line: String) -> String {
    while line.ends_with(['\n', '\r']) {
        line.pop();
    }
    line
}

fn require_terminal(what: &str) -> Result<(), Error> {
    if std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(Error::Usage(format!("cannot ask for {what}: stdin is not a terminal")))
}

/// Terminal echo turned off on stdin until dropped.
struct EchoOff {
    saved: nix::sys::termios::Termios,
}

impl EchoOff {
    fn new() -> Result<EchoOff, Error> {
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).map_err(|e| Error::Io(e.into()))?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO | LocalFlags::ECHONL);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet).map_err(|e| Error::Io(e.into()))?;
        Ok(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(std::io::stdin(), nix::sys::termios::SetArg::TCSANOW, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn secrets_lose_only_the_line_ending() {
        let mut input = std::io::Cursor::new(" pass word \r\nsecond line\n");
        assert_eq!(read_secret(&mut input).unwrap().expose_secret(), " pass word ");
        let mut input = std::io::Cursor::new("no newline");
        assert_eq!(read_secret(&mut input).unwrap().expose_secret(), "no newline");
        let mut input = std::io::Cursor::new("");
        assert_eq!(read_secret(&mut input).unwrap().expose_secret(), "");
    }
}
