//! Failures inside code we do not own, turned into data errors.
//!
//! The Parquet decoder panics on some damaged files (about 1 in 200 fuzzed
//! ones), and a memory-mapped CSV file that another process truncates
//! raises SIGBUS on the next page read. A damaged Parquet page can also
//! claim billions of values, and the decoder's allocation then fails, which
//! Rust answers with abort (SIGABRT), not a panic. All are facts about the
//! input, so all end in exit 3 with the file's name, never in exit 101 or a
//! signal.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Decodes in progress: while above zero, a panic is an input's fault and
/// its message is kept instead of printed.
static DECODING: AtomicUsize = AtomicUsize::new(0);
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Installs the panic hook (from `main`; library tests keep the default).
pub fn install() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if DECODING.load(Ordering::SeqCst) > 0 {
            // The location is inside the decoder's source: no help to the user.
            if let Ok(mut last) = LAST_PANIC.lock() {
                last.get_or_insert(payload_text(info.payload()));
            }
            return;
        }
        default(info);
    }));
    sigbus::install();
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f`, a decoder of outside bytes; a panic inside it (on any of its
/// threads) comes back as `Err` with the panic's message.
pub fn decoding<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    DECODING.fetch_add(1, Ordering::SeqCst);
    let out = catch_unwind(AssertUnwindSafe(f));
    DECODING.fetch_sub(1, Ordering::SeqCst);
    out.map_err(|p| {
        LAST_PANIC
            .lock()
            .ok()
            .and_then(|mut l| l.take())
            .unwrap_or_else(|| payload_text(&*p))
    })
}

/// Names the file being read through a memory map, for the SIGBUS message.
/// Dropping the guard clears it.
pub struct Mapped;

impl Mapped {
    pub fn new(file: &str) -> Mapped {
        sigbus::set(&sigbus::BUS, &bus_message(file));
        Mapped
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        sigbus::set(&sigbus::BUS, &bus_message(""));
    }
}

fn bus_message(file: &str) -> Vec<u8> {
    if file.is_empty() {
        b"error: the input changed while it was read (SIGBUS)\n".to_vec()
    } else {
        format!(
            "error: {file}: the file was truncated or changed while it was read; read a copy that no other process writes\n"
        )
        .into_bytes()
    }
}

/// Names the file a decoder reads, for the message when an allocation
/// fails inside it (abort). Outside such a guard, abort keeps its default.
pub struct Decoding;

impl Decoding {
    pub fn new(file: &str) -> Decoding {
        sigbus::set(
            &sigbus::ABRT,
            format!(
                "error: {file}: ran out of memory while decoding it: the file is damaged (a page claims more values than it holds), or it needs more memory than this machine has\n"
            )
            .as_bytes(),
        );
        Decoding
    }
}

impl Drop for Decoding {
    fn drop(&mut self) {
        sigbus::set(&sigbus::ABRT, b"");
    }
}

#[cfg(unix)]
mod sigbus {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// The message a handler writes: built outside the handler (which may
    /// only call async-signal-safe functions), swapped in atomically; an
    /// empty message means "not ours": the signal takes its default course.
    pub struct Slot(AtomicPtr<Vec<u8>>);
    pub static BUS: Slot = Slot(AtomicPtr::new(std::ptr::null_mut()));
    pub static ABRT: Slot = Slot(AtomicPtr::new(std::ptr::null_mut()));
    /// Old messages, freed only at a later swap under this lock (a handler
    /// may still be reading the one it loaded).
    /// Boxed: a handler holds a pointer to the Vec itself, which must not
    /// move when this list grows.
    #[allow(clippy::vec_box)]
    static OLD: Mutex<Vec<Box<Vec<u8>>>> = Mutex::new(Vec::new());

    pub fn set(slot: &Slot, text: &[u8]) {
        let new = Box::into_raw(Box::new(text.to_vec()));
        let old = slot.0.swap(new, Ordering::SeqCst);
        if !old.is_null()
            && let Ok(mut keep) = OLD.lock()
        {
            // SAFETY: `old` came from Box::into_raw above and is owned here now.
            keep.push(unsafe { Box::from_raw(old) });
            // Keep the last few: a handler that loaded one a moment ago finishes with it.
            if keep.len() > 16 {
                keep.remove(0);
            }
        }
    }

    /// SAFETY: only async-signal-safe calls (write, signal, raise, _exit);
    /// the message points to a live Vec (old ones are kept, see OLD).
    unsafe fn report(slot: &Slot, sig: libc::c_int) {
        let msg = slot.0.load(Ordering::SeqCst);
        unsafe {
            if msg.is_null() || (*msg).is_empty() {
                libc::signal(sig, libc::SIG_DFL);
                libc::raise(sig);
                return;
            }
            let m = &*msg;
            libc::write(2, m.as_ptr().cast(), m.len());
            libc::_exit(crate::error::EXIT_DATA);
        }
    }

    extern "C" fn on_sigbus(_: libc::c_int) {
        // SAFETY: see `report`.
        unsafe { report(&BUS, libc::SIGBUS) }
    }

    extern "C" fn on_sigabrt(_: libc::c_int) {
        // SAFETY: see `report`.
        unsafe { report(&ABRT, libc::SIGABRT) }
    }

    pub fn install() {
        set(&BUS, &super::bus_message(""));
        set(&ABRT, b"");
        // SAFETY: installs handlers that only write and exit, or restore
        // the default and re-raise.
        unsafe {
            for (sig, f) in [
                (libc::SIGBUS, on_sigbus as *const () as usize),
                (libc::SIGABRT, on_sigabrt as *const () as usize),
            ] {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = f;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(not(unix))]
mod sigbus {
    pub struct Slot;
    pub static BUS: Slot = Slot;
    pub static ABRT: Slot = Slot;
    pub fn set(_: &Slot, _: &[u8]) {}
    pub fn install() {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_inside_a_decoder_is_an_error() {
        let r: Result<(), String> = super::decoding(|| panic!("bad page header"));
        assert!(r.unwrap_err().contains("bad page header"));
        assert_eq!(super::decoding(|| 5), Ok(5));
    }
}
