//! The io_uring way of the receive floor, on the raw kernel interface (`linux/io_uring.h`;
//! written before the io-uring crate was a dependency, and kept as measured): a ring set up
//! for one thread that defers the kernel's completion work to its own waits (`SINGLE_ISSUER |
//! DEFER_TASKRUN`, Linux 6.1), a provided-buffer ring (`REGISTER_PBUF_RING`, 5.19), and one
//! multishot `RECV` per socket (6.0) that the kernel re-arms itself while `F_MORE` says so.

use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};

use crate::pairs::{Reading, check, thread_cpu};

const SETUP_CQSIZE: u32 = 1 << 3;
const SETUP_SINGLE_ISSUER: u32 = 1 << 12;
const SETUP_DEFER_TASKRUN: u32 = 1 << 13;
const FEAT_SINGLE_MMAP: u32 = 1;
const OFF_SQ_RING: i64 = 0;
const OFF_SQES: i64 = 0x1000_0000;
const ENTER_GETEVENTS: u32 = 1;
const REGISTER_PBUF_RING: u32 = 22;
const OP_RECV: u8 = 27;
const SQE_BUFFER_SELECT: u8 = 1 << 5;
const RECV_MULTISHOT: u16 = 1 << 1;
const CQE_F_MORE: u32 = 1 << 1;
const CQE_BUFFER_SHIFT: u32 = 16;

/// Provided buffers: how many, and how large (a few messages each).
const BUFFERS: u32 = 4096;
const BUFFER_SIZE: usize = 512;

#[repr(C)]
#[derive(Default)]
struct SqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    flags: u32,
    dropped: u32,
    array: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Default)]
struct CqOffsets {
    head: u32,
    tail: u32,
    ring_mask: u32,
    ring_entries: u32,
    overflow: u32,
    cqes: u32,
    flags: u32,
    resv1: u32,
    user_addr: u64,
}

#[repr(C)]
#[derive(Default)]
struct Params {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: SqOffsets,
    cq_off: CqOffsets,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Sqe {
    opcode: u8,
    flags: u8,
    ioprio: u16,
    fd: i32,
    off: u64,
    addr: u64,
    len: u32,
    op_flags: u32,
    user_data: u64,
    buf_group: u16,
    personality: u16,
    splice_fd_in: i32,
    addr3: u64,
    pad: u64,
}

#[repr(C)]
struct Cqe {
    user_data: u64,
    res: i32,
    flags: u32,
}

#[repr(C)]
struct BufReg {
    ring_addr: u64,
    ring_entries: u32,
    bgid: u16,
    flags: u16,
    resv: [u64; 3],
}

#[repr(C)]
struct Buf {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

/// A mapping of the ring's memory, unmapped on drop.
struct Map {
    ptr: NonNull<u8>,
    len: usize,
}

impl Map {
    /// Maps `len` bytes of `fd` at `offset` (or anonymous memory where `fd` is -1).
    fn new(fd: i32, offset: i64, len: usize) -> std::io::Result<Map> {
        let flags = if fd < 0 {
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS
        } else {
            libc::MAP_SHARED | libc::MAP_POPULATE
        };
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        // SAFETY: a fresh mapping; the result is checked.
        let ptr = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, fd, offset) };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Map {
            ptr: NonNull::new(ptr.cast()).expect("mmap does not return null"),
            len,
        })
    }

    /// The `T` at byte `offset` (inside the mapping, aligned for `T`).
    fn at<T>(&self, offset: u32) -> *mut T {
        assert!(offset as usize + size_of::<T>() <= self.len);
        // SAFETY: in bounds, checked above.
        unsafe { self.ptr.as_ptr().add(offset as usize).cast() }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the mapping this value made.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Reads until `bytes` have arrived on `sockets`, with one multishot receive per socket.
pub(crate) fn read(sockets: Vec<TcpStream>, bytes: u64) -> std::io::Result<Reading> {
    let mut p = Params {
        cq_entries: 16384,
        flags: SETUP_CQSIZE | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN,
        ..Params::default()
    };
    // SAFETY: io_uring_setup fills `p`; the result is checked.
    let ring = check(unsafe { libc::syscall(libc::SYS_io_uring_setup, 1024u32, &mut p) } as i32)?;
    // The kernel writes into these until the ring is closed: they outlive it.
    let mut memory = vec![0u8; BUFFERS as usize * BUFFER_SIZE];
    let result = run(ring, &p, &sockets, bytes, &mut memory);
    // SAFETY: the descriptor io_uring_setup returned, closed once; closing it cancels the
    // receives still armed.
    unsafe { libc::close(ring) };
    drop(memory);
    result
}

fn run(
    ring: i32,
    p: &Params,
    sockets: &[TcpStream],
    bytes: u64,
    memory: &mut [u8],
) -> std::io::Result<Reading> {
    assert!(
        p.features & FEAT_SINGLE_MMAP != 0,
        "a kernel before 5.4 (no single mmap)"
    );
    let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
    let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * size_of::<Cqe>();
    // One mapping serves both rings (FEAT_SINGLE_MMAP).
    let rings = Map::new(ring, OFF_SQ_RING, sq_len.max(cq_len))?;
    let sqes = Map::new(ring, OFF_SQES, p.sq_entries as usize * size_of::<Sqe>())?;
    let sq_tail = rings.at::<AtomicU32>(p.sq_off.tail);
    // SAFETY (this and the other ring fields): offsets the kernel gave, in the mapping.
    let sq_mask = unsafe { *rings.at::<u32>(p.sq_off.ring_mask) };
    let sq_array = rings.at::<u32>(p.sq_off.array);
    let cq_head = rings.at::<AtomicU32>(p.cq_off.head);
    let cq_tail = rings.at::<AtomicU32>(p.cq_off.tail);
    let cq_mask = unsafe { *rings.at::<u32>(p.cq_off.ring_mask) };
    let cqes = rings.at::<Cqe>(p.cq_off.cqes);

    // The ring that hands the provided buffers to the kernel (which pins its pages).
    let bufs = Map::new(-1, 0, BUFFERS as usize * size_of::<Buf>())?;
    let buf_ring = bufs.at::<Buf>(0);
    // The ring's tail shares the first entry's `resv` field (struct io_uring_buf_ring).
    let buf_tail = bufs.at::<AtomicU16>(14);
    let reg = BufReg {
        ring_addr: buf_ring as u64,
        ring_entries: BUFFERS,
        bgid: 0,
        flags: 0,
        resv: [0; 3],
    };
    // SAFETY: registers the ring mapped above, which outlives every use of it here.
    check(unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            ring,
            REGISTER_PBUF_RING,
            &reg,
            1,
        )
    } as i32)?;
    let base = memory.as_mut_ptr() as u64;
    let give = |tail: u16, bid: u16| {
        // SAFETY: entry `tail & mask` of the ring mapped above; the kernel reads it only
        // after the tail is published past it.
        unsafe {
            let entry = buf_ring.add((u32::from(tail) & (BUFFERS - 1)) as usize);
            (*entry).addr = base + u64::from(bid) * BUFFER_SIZE as u64;
            (*entry).len = BUFFER_SIZE as u32;
            (*entry).bid = bid;
        }
    };
    let mut btail: u16 = 0;
    for bid in 0..BUFFERS as u16 {
        give(btail, bid);
        btail = btail.wrapping_add(1);
    }
    // SAFETY: the tail field of the mapped ring.
    unsafe { (*buf_tail).store(btail, Ordering::Release) };

    // SAFETY: the submission ring's tail, in the mapping.
    let mut tail = unsafe { (*sq_tail).load(Ordering::Relaxed) };
    let arm = |i: usize, tail: &mut u32| {
        let slot = *tail & sq_mask;
        let sqe = Sqe {
            opcode: OP_RECV,
            flags: SQE_BUFFER_SELECT,
            ioprio: RECV_MULTISHOT,
            fd: sockets[i].as_raw_fd(),
            user_data: i as u64,
            ..Sqe::default()
        };
        // SAFETY: slot `slot` of the mapped SQE array and of the index array.
        unsafe {
            *sqes.at::<Sqe>(slot * size_of::<Sqe>() as u32) = sqe;
            *sq_array.add(slot as usize) = slot;
        }
        *tail = tail.wrapping_add(1);
    };
    for i in 0..sockets.len() {
        arm(i, &mut tail);
    }
    // SAFETY: as above; the entries before it are written.
    unsafe { (*sq_tail).store(tail, Ordering::Release) };
    let mut to_submit = sockets.len() as u32;

    let cpu0 = thread_cpu();
    let (mut got, mut reads, mut waits) = (0u64, 0u64, 0u64);
    while got < bytes {
        // SAFETY: io_uring_enter on the ring set up above.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                ring,
                to_submit,
                1u32,
                ENTER_GETEVENTS,
                ptr::null::<u8>(),
                0usize,
            )
        };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        to_submit = to_submit.saturating_sub(r as u32);
        waits += 1;
        // SAFETY: the completion ring's head, tail and entries, as the ABI lays them out.
        let (mut head, end) = unsafe {
            (
                (*cq_head).load(Ordering::Relaxed),
                (*cq_tail).load(Ordering::Acquire),
            )
        };
        let mut rearmed = false;
        while head != end {
            // SAFETY: an entry the kernel published (before `end`), in the mapping.
            let cqe = unsafe { &*cqes.add((head & cq_mask) as usize) };
            reads += 1;
            if cqe.res > 0 {
                got += cqe.res as u64;
                give(btail, (cqe.flags >> CQE_BUFFER_SHIFT) as u16);
                btail = btail.wrapping_add(1);
            } else if cqe.res < 0 && cqe.res != -libc::ENOBUFS {
                return Err(std::io::Error::from_raw_os_error(-cqe.res));
            }
            if cqe.flags & CQE_F_MORE == 0 {
                // The kernel stopped this socket's receive (out of buffers): arm it again.
                arm(cqe.user_data as usize, &mut tail);
                to_submit += 1;
                rearmed = true;
            }
            head = head.wrapping_add(1);
        }
        // SAFETY: the rings' head and tails, in their mappings.
        unsafe {
            (*cq_head).store(head, Ordering::Release);
            (*buf_tail).store(btail, Ordering::Release);
            if rearmed {
                (*sq_tail).store(tail, Ordering::Release);
            }
        }
    }
    let cpu1 = thread_cpu();
    Ok(Reading {
        user: cpu1.0 - cpu0.0,
        system: cpu1.1 - cpu0.1,
        reads,
        waits,
    })
}
