//! Workloads die with their executor: each is started through `setpriv --pdeathsig KILL`, which
//! sets `PR_SET_PDEATHSIG` and then execs the program, so a SIGKILLed executor takes its workloads
//! down with it (the workspace forbids `unsafe`, hence the prctl by a tiny setuid-free helper from
//! util-linux instead of a `pre_exec` hook). A redelivered run then starts over on another executor
//! without a twin of the first attempt still writing into the same artifacts directory.
//!
//! The signal reaches the leader only (what it forked itself is swept with the group when the
//! executor lives; after an executor crash, grandchildren that ignore their parent's death survive
//! it — documented in the executor's README).
//!
//! Because `setpriv` would turn a missing program into an exit code, the program is resolved first
//! the way `execvp` does (a name with a slash relative to the working directory, else each `PATH`
//! entry), so a spawn failure keeps its OS error.

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where util-linux installs `setpriv`.
const SETPRIV: &str = "/usr/bin/setpriv";

/// The helper that sets the parent-death signal, if this system has it.
pub fn helper() -> Option<&'static Path> {
    let path = Path::new(SETPRIV);
    is_executable(path).then_some(path)
}

/// The arguments that make `setpriv` exec `program` with a parent-death SIGKILL.
pub fn helper_args(program: &Path) -> [&OsStr; 4] {
    [
        OsStr::new("--pdeathsig"),
        OsStr::new("KILL"),
        OsStr::new("--"),
        program.as_os_str(),
    ]
}

/// Resolves `program` as `execvp` would: with a slash, relative to `working_dir`; otherwise the
/// first executable file named so in `path` (the workload's `PATH`).
pub fn resolve(program: &str, working_dir: &Path, path: Option<&OsStr>) -> io::Result<PathBuf> {
    if program.contains('/') {
        let candidate = working_dir.join(program);
        return match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_dir() => Err(io::Error::from_raw_os_error(nix::libc::EACCES)),
            Ok(meta) if meta.permissions().mode() & 0o111 == 0 => Err(io::Error::from_raw_os_error(nix::libc::EACCES)),
            Ok(_) => Ok(candidate),
            Err(err) => Err(err),
        };
    }
    let default_path = OsStr::new("/usr/local/bin:/usr/bin:/bin");
    let mut found_unexecutable = false;
    for dir in std::env::split_paths(path.unwrap_or(default_path)) {
        let dir = if dir.as_os_str().is_empty() {
            working_dir.to_path_buf()
        } else {
            dir
        };
        let candidate = dir.join(program);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
        found_unexecutable |= candidate.is_file();
    }
    Err(if found_unexecutable {
        io::Error::from_raw_os_error(nix::libc::EACCES)
    } else {
        io::Error::from_raw_os_error(nix::libc::ENOENT)
    })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_execvp() {
        let dir = tempfile::tempdir().unwrap();
        let sh = resolve("sh", dir.path(), Some(OsStr::new("/nonexistent:/bin:/usr/bin"))).unwrap();
        assert!(sh.ends_with("sh") && sh.is_absolute());
        let missing = resolve("no-such-program-here", dir.path(), Some(OsStr::new("/bin"))).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);

        let script = dir.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let not_executable = resolve("./run.sh", dir.path(), None).unwrap_err();
        assert_eq!(not_executable.raw_os_error(), Some(nix::libc::EACCES));
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            resolve("./run.sh", dir.path(), None).unwrap(),
            dir.path().join("./run.sh")
        );
        let is_dir = resolve("./", dir.path(), None).unwrap_err();
        assert_eq!(is_dir.raw_os_error(), Some(nix::libc::EACCES));
    }
}
