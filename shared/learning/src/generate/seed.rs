//! Deterministic pseudo-randomness derived from content.
//!
//! Option order and distractor choice must vary between questions (or the answer would always
//! be first) yet be identical for identical input, so retries and tests see the same artifact.
//! The seed is an FNV-1a hash of the text and the stream is SplitMix64; neither is suitable for
//! anything security-related, and nothing here fails.

/// A content-seeded random stream.
#[derive(Debug, Clone)]
pub(crate) struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A stream seeded from `content` and a purpose label, so that independent choices (say,
    /// option order and true/false) do not move in lockstep.
    pub(crate) fn new(content: &str, purpose: &str) -> Self {
        Self {
            state: fnv1a(content.as_bytes()) ^ fnv1a(purpose.as_bytes()).rotate_left(17),
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound`, or 0 when `bound` is 0.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        (self.next_u64() % bound as u64) as usize
    }

    /// Shuffles a slice in place (Fisher–Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let other = self.below(index + 1);
            items.swap(index, other);
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_content_gives_the_same_stream() {
        let mut first = SeededRng::new("leaves", "options");
        let mut second = SeededRng::new("leaves", "options");
        let a: Vec<u64> = (0..5).map(|_| first.next_u64()).collect();
        let b: Vec<u64> = (0..5).map(|_| second.next_u64()).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn different_purposes_give_different_streams() {
        let mut options = SeededRng::new("leaves", "options");
        let mut statements = SeededRng::new("leaves", "statements");
        assert_ne!(options.next_u64(), statements.next_u64());
    }

    #[test]
    fn shuffling_keeps_every_item_and_spreads_positions() {
        let mut rng = SeededRng::new("leaves", "shuffle");
        let mut first_positions = [0usize; 4];
        for _ in 0..400 {
            let mut items = [0, 1, 2, 3];
            rng.shuffle(&mut items);
            let mut sorted = items;
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2, 3]);
            first_positions[items[0]] += 1;
        }
        assert!(
            first_positions.iter().all(|&count| count > 50),
            "{first_positions:?}"
        );
    }

    #[test]
    fn below_zero_is_zero() {
        assert_eq!(SeededRng::new("", "").below(0), 0);
    }
}
