//! File descriptors: thousands of sockets need more than the usual soft limit of 1024.

use anyhow::bail;

/// Descriptors a run of `clients` clients, `senders` of them sending, needs in one process:
/// one per client socket (and, in the server child which inherits the limit, one per
/// accepted connection), one timer per sender, plus room for the runtime, files and pipes.
pub fn needed(clients: u64, senders: u64) -> u64 {
    clients + senders + 256
}

/// Raises the soft `RLIMIT_NOFILE` to at least `needed` (children inherit it); fails with
/// what to do when the hard limit is lower. Returns the (soft, hard) limits now in force.
pub fn raise(needed: u64) -> anyhow::Result<[u64; 2]> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        bail!(
            "cannot read the open-file limit: {}",
            std::io::Error::last_os_error()
        );
    }
    if lim.rlim_max < needed {
        // Nothing has started, and this machine cannot run it as asked: exit 2.
        return Err(crate::exit::Usage(format!(
            "this run needs {needed} file descriptors (one per client socket and sender \
             timer, one per server connection, plus 256), but the hard limit (ulimit -Hn) \
             is {}. Raise it, e.g. \
             `ulimit -Hn {needed}` as root or `nofile` in /etc/security/limits.conf, or run \
             fewer clients with --clients",
            lim.rlim_max
        ))
        .into());
    }
    if lim.rlim_cur < needed {
        // Raise to the hard limit, not just to `needed`: cheap, and it leaves headroom.
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit with cur <= max.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            bail!(
                "cannot raise the open-file limit: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Ok([lim.rlim_cur, lim.rlim_max])
}
