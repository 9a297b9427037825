//! The scrollback ring: raw output as shared chunks, addressed by byte
//! offset (0 = the first byte the program wrote).
//!
//! Chunks are `Bytes`, so handing a piece to a client is a reference count,
//! not a copy. Memory grows as output arrives (never allocated up front) and
//! is bounded by the caller's eviction (see `Ring::evict`).

use std::collections::VecDeque;

use bytes::Bytes;

#[derive(Debug, Default)]
pub(crate) struct Ring {
    chunks: VecDeque<Bytes>,
    /// Offset of each chunk's first byte, parallel to `chunks`.
    starts: VecDeque<u64>,
    /// Offset of the oldest byte kept.
    start: u64,
    /// Bytes kept.
    len: usize,
}

impl Ring {
    /// Offset of the oldest byte still kept.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Offset just past the newest byte (the live offset).
    pub fn end(&self) -> u64 {
        self.start + self.len as u64
    }

    /// Bytes kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        self.starts.push_back(self.end());
        self.len += chunk.len();
        self.chunks.push_back(chunk);
    }

    /// Drops bytes from the front while more than `capacity` are kept, but
    /// never a byte at or after `keep_from` (still wanted by a client or the
    /// screen). The oldest chunk kept may be cut: what is served is exactly
    /// the newest `capacity` bytes (its allocation goes with the chunk).
    pub fn evict(&mut self, capacity: usize, keep_from: u64) {
        while self.len > capacity {
            let cut = (self.end() - capacity as u64).min(keep_from);
            let start = self.start;
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let front_end = start + front.len() as u64;
            if cut <= self.start {
                break;
            }
            if front_end <= cut {
                self.len -= front.len();
                self.start = front_end;
                self.chunks.pop_front();
                self.starts.pop_front();
            } else {
                let k = (cut - self.start) as usize;
                bytes::Buf::advance(front, k);
                self.len -= k;
                self.start = cut;
                self.starts[0] = cut;
                break;
            }
        }
    }

    /// The bytes from `from` to the end of the chunk that holds it, at most
    /// `max`. `None` when `from` is older than what is kept; empty at the end.
    pub fn read(&self, from: u64, max: usize) -> Option<Bytes> {
        if from < self.start {
            return None;
        }
        if from >= self.end() {
            return Some(Bytes::new());
        }
        let i = self.starts.partition_point(|&s| s <= from) - 1;
        let chunk = &self.chunks[i];
        let skip = (from - self.starts[i]) as usize;
        let take = (chunk.len() - skip).min(max);
        Some(chunk.slice(skip..skip + take))
    }

    /// Every byte from `from` to `to` (both clamped to what is kept).
    pub fn copy_range(&self, from: u64, to: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = from.max(self.start);
        let to = to.min(self.end());
        while at < to {
            let Some(piece) = self.read(at, (to - at) as usize) else {
                break;
            };
            at += piece.len() as u64;
            out.extend_from_slice(&piece);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_reads_and_eviction() {
        let mut ring = Ring::default();
        ring.push(Bytes::from_static(b"hello "));
        ring.push(Bytes::from_static(b"world"));
        assert_eq!((ring.start(), ring.end(), ring.len()), (0, 11, 11));
        assert_eq!(&ring.read(3, 100).unwrap()[..], b"lo ");
        assert_eq!(&ring.read(6, 2).unwrap()[..], b"wo");
        assert!(ring.read(11, 10).unwrap().is_empty());
        assert_eq!(ring.copy_range(4, 9), b"o wor");
        // A reader at offset 2 keeps everything from there.
        ring.evict(5, 2);
        assert_eq!((ring.start(), ring.len()), (2, 9));
        assert_eq!(ring.copy_range(0, 100), b"llo world");
        ring.evict(5, 11);
        assert_eq!((ring.start(), ring.len()), (6, 5));
        assert!(ring.read(3, 10).is_none());
        assert_eq!(ring.copy_range(0, 100), b"world");
        // A chunk larger than the capacity is cut to its newest bytes, but
        // not past what a reader still wants.
        ring.push(Bytes::from_static(b"0123456789"));
        ring.evict(4, 13);
        assert_eq!((ring.start(), ring.end()), (13, 21));
        assert_eq!(ring.copy_range(0, 100), b"23456789");
        ring.evict(4, 21);
        assert_eq!((ring.start(), ring.len()), (17, 4));
        assert_eq!(ring.copy_range(0, 100), b"6789");
        assert_eq!(&ring.read(18, 10).unwrap()[..], b"789");
    }
}
