//! Signals by name, and how a program ended.

use std::fmt;

macro_rules! signals {
    ($($variant:ident = $name:literal, $libc:ident;)*) => {
        /// A signal ptyhub knows by name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Signal { $($variant,)* }

        impl Signal {
            /// Every named signal.
            pub const ALL: &'static [Signal] = &[$(Signal::$variant,)*];

            /// The name with its `SIG` prefix, as in `SIGINT`.
            pub fn name(self) -> &'static str {
                match self { $(Signal::$variant => $name,)* }
            }

            /// The signal's number on this system.
            pub fn number(self) -> i32 {
                match self { $(Signal::$variant => libc::$libc,)* }
            }

            /// The named signal with this number, if it has a name here.
            pub fn from_number(n: i32) -> Option<Signal> {
                match n { $(x if x == libc::$libc => Some(Signal::$variant),)* _ => None }
            }
        }
    };
}

signals! {
    Hup = "SIGHUP", SIGHUP;
    Int = "SIGINT", SIGINT;
    Quit = "SIGQUIT", SIGQUIT;
    Ill = "SIGILL", SIGILL;
    Trap = "SIGTRAP", SIGTRAP;
    Abrt = "SIGABRT", SIGABRT;
    Bus = "SIGBUS", SIGBUS;
    Fpe = "SIGFPE", SIGFPE;
    Kill = "SIGKILL", SIGKILL;
    Usr1 = "SIGUSR1", SIGUSR1;
    Segv = "SIGSEGV", SIGSEGV;
    Usr2 = "SIGUSR2", SIGUSR2;
    Pipe = "SIGPIPE", SIGPIPE;
    Alrm = "SIGALRM", SIGALRM;
    Term = "SIGTERM", SIGTERM;
    Stkflt = "SIGSTKFLT", SIGSTKFLT;
    Chld = "SIGCHLD", SIGCHLD;
    Cont = "SIGCONT", SIGCONT;
    Stop = "SIGSTOP", SIGSTOP;
    Tstp = "SIGTSTP", SIGTSTP;
    Ttin = "SIGTTIN", SIGTTIN;
    Ttou = "SIGTTOU", SIGTTOU;
    Urg = "SIGURG", SIGURG;
    Xcpu = "SIGXCPU", SIGXCPU;
    Xfsz = "SIGXFSZ", SIGXFSZ;
    Vtalrm = "SIGVTALRM", SIGVTALRM;
    Prof = "SIGPROF", SIGPROF;
    Winch = "SIGWINCH", SIGWINCH;
    Io = "SIGIO", SIGIO;
    Pwr = "SIGPWR", SIGPWR;
    Sys = "SIGSYS", SIGSYS;
}

impl Signal {
    /// Parses `SIGINT`, `INT` or `int`.
    pub fn from_name(name: &str) -> Option<Signal> {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        Signal::ALL.iter().copied().find(|s| &s.name()[3..] == bare)
    }

    pub(crate) fn to_rustix(self) -> rustix::process::Signal {
        // Every variant is a named signal of this platform.
        rustix::process::Signal::from_named_raw(self.number())
            .unwrap_or(rustix::process::Signal::KILL)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a session's program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal number.
    Signal(i32),
    /// The guard process vanished before it could say (it was killed from
    /// outside): the exit is unknown.
    Lost,
}

impl ExitStatus {
    /// The exit code, when the program exited by itself.
    pub fn code(self) -> Option<i32> {
        match self {
            ExitStatus::Code(c) => Some(c),
            _ => None,
        }
    }

    /// The name of the signal that killed the program (`SIGRTMIN+2` style
    /// for unnamed ones).
    pub fn signal_name(self) -> Option<String> {
        match self {
            ExitStatus::Signal(n) => Some(match Signal::from_number(n) {
                Some(s) => s.name().to_owned(),
                None if n >= libc::SIGRTMIN() => format!("SIGRTMIN+{}", n - libc::SIGRTMIN()),
                None => format!("SIG{n}"),
            }),
            _ => None,
        }
    }
}
