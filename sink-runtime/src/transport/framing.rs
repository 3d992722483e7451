//! How messages are laid out on a byte stream.
//!
//! `length_prefixed`: a u32 little-endian payload length, then the payload.
//! `raw`: the payload alone. WebSocket needs neither: one binary frame is one
//! message.

use bytes::Bytes;

use crate::config::Framing;

/// The bytes `payload` takes on the wire.
pub(crate) fn frame_len(framing: Framing, payload: &Bytes) -> usize {
    match framing {
        Framing::LengthPrefixed => 4 + payload.len(),
        _ => payload.len(),
    }
}

/// The `length_prefixed` header of `payload`. The caller has checked that the
/// length fits (`max_message_bytes` is at most `u32::MAX`).
pub(crate) fn length_prefix(payload: &[u8]) -> [u8; 4] {
    u32::try_from(payload.len())
        .expect("send rejects payloads over u32::MAX bytes")
        .to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefix_is_u32_little_endian() {
        let payload = Bytes::from_static(b"abc");
        assert_eq!(length_prefix(&payload), [3, 0, 0, 0]);
        assert_eq!(frame_len(Framing::LengthPrefixed, &payload), 7);
        assert_eq!(frame_len(Framing::Raw, &payload), 3);
    }
}
