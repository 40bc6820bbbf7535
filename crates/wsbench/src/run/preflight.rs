//! What can be checked on this machine before anything is measured, beyond the scenario's
//! own rules: that each `[systems.X]` program exists and that each `--target-pid` names a
//! process. Paths are the command's: relative ones from the scenario file's directory. Found here, such a mistake is the request's (exit 2) and costs nothing; found
//! when its system's turn comes, it cost the other systems' measurements first (exit 1).

use std::path::Path;

use wsbench_core::scenario::Scenario;

/// Every such mistake, each a line.
pub fn mistakes(scenario: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    for (name, def) in &scenario.systems {
        let Some(program) = def.start.command.first() else {
            continue;
        };
        if !scenario.compared.contains(name) || program.contains('{') {
            continue;
        }
        let resolved = def.start.argv(0, None).swap_remove(0);
        if !runnable(&resolved) {
            let hint = if let Some(install) = uninstalled_venv(Path::new(&resolved)) {
                format!("its virtual environment is not installed: run `{install}` first")
            } else if program.contains('/') {
                format!(
                    "no executable {resolved}: a command's paths are from the scenario's directory"
                )
            } else {
                "is it installed, and on PATH?".to_owned()
            };
            out.push(format!(
                "[systems.{name}]: cannot find `{program}` ({hint})"
            ));
        }
        let mut args = def.start.command[1..].iter();
        if let Some(dir) = args.find_map(|a| uninstalled(&def.start.resolve(a))) {
            out.push(format!(
                "[systems.{name}]: {} has no node_modules: run `npm ci` there first \
                 (e.g. `(cd {} && npm ci)`)",
                dir.join("package.json").display(),
                dir.display()
            ));
        }
    }
    if scenario.proxy.is_some() && !runnable("nginx") {
        out.push("[proxy]: needs nginx, on PATH (Debian: apt-get install nginx-light)".to_owned());
    }
    for (name, pid) in &scenario.target_pids {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            out.push(format!(
                "--target-pid {name}={pid}: no process {pid} on this machine"
            ));
        }
    }
    out
}

/// For a script argument (`server.js`, `.mjs`, `.cjs`) that exists: the directory of the
/// nearest `package.json` above it when that package's `node_modules` is not there — the
/// seed's Node.js servers before `npm ci`, which Node reports only when started, with a
/// stack trace.
fn uninstalled(script: &Path) -> Option<std::path::PathBuf> {
    let is_script = ["js", "mjs", "cjs"]
        .iter()
        .any(|ext| script.extension().is_some_and(|e| e == *ext));
    if !is_script || !script.is_file() {
        return None;
    }
    let package = script
        .ancestors()
        .skip(1)
        .take(8)
        .find(|dir| dir.join("package.json").is_file())?;
    let dir = if package.as_os_str().is_empty() {
        Path::new(".")
    } else {
        package
    };
    (!dir.join("node_modules").is_dir()).then(|| dir.to_path_buf())
}

/// For a program inside a Python virtual environment (`…/.venv/bin/python`) that is not
/// there: the command that makes it — the directory's `install.sh` where it has one
/// (servers/python), else the venv and its `requirements.txt`.
fn uninstalled_venv(program: &Path) -> Option<String> {
    let bin = program.parent()?;
    let venv = bin.parent()?;
    let is_venv = bin.file_name()? == "bin"
        && venv
            .file_name()
            .is_some_and(|n| n == ".venv" || n == "venv");
    if !is_venv || venv.exists() {
        return None;
    }
    let dir = venv.parent()?;
    if dir.join("install.sh").is_file() {
        return Some(format!("bash {}", dir.join("install.sh").display()));
    }
    dir.join("requirements.txt").is_file().then(|| {
        format!(
            "python3 -m venv {v} && {v}/bin/pip install -r {}",
            dir.join("requirements.txt").display(),
            v = venv.display()
        )
    })
}

/// Whether `program` names an executable file: a path (with a `/`) as it is, a bare name
/// on PATH, as the shell would find it.
fn runnable(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(program))))
}

#[cfg(test)]
mod tests {
    use super::runnable;

    #[test]
    fn programs_are_found_as_the_shell_finds_them() {
        assert!(runnable("sh"));
        assert!(runnable("/bin/sh"));
        assert!(!runnable("no-such-program-wsbench"));
        assert!(!runnable("/no/such/program"));
        let plain = std::env::temp_dir().join(format!("wsbench-plain-{}", std::process::id()));
        std::fs::write(&plain, "not a program").unwrap();
        assert!(
            !runnable(plain.to_str().unwrap()),
            "a file that is not executable"
        );
        std::fs::remove_file(plain).unwrap();
    }
}
