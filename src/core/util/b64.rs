//! Base64 (standard, padded) and base64url (unpadded) encoding and decoding.

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode_with(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(alphabet[(n >> shift & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (RFC 4648 §4, alphabet `+/`) with `=` padding: the form OpenAI's
/// embeddings API returns under `encoding_format: "base64"`.
pub fn encode(bytes: &[u8]) -> String {
    encode_with(bytes, STD, true)
}

/// base64url (RFC 4648 §5, alphabet `-_`) without padding, as JWT-style tokens use it;
/// [`decode_url`] reverses it.
pub fn encode_url(bytes: &[u8]) -> String {
    encode_with(bytes, URL, false)
}

/// Decode unpadded base64url; `None` for anything else.
pub fn decode_url(text: &str) -> Option<Vec<u8>> {
    decode_with(text, URL)
}

/// Decode standard base64 (alphabet `+/`), padded or not; `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bare = text.trim_end_matches('=');
    let padded = text.len().is_multiple_of(4) && text.len() - bare.len() <= 2;
    (padded || bare.len() == text.len()).then_some(())?;
    decode_with(bare, STD)
}

fn decode_with(text: &str, alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = alphabet.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vectors() {
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(encode_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_url("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_url("a+b"), None);
        assert_eq!(decode_url("a"), None);
        assert_eq!(decode("Zm8="), Some(b"fo".to_vec()));
        assert_eq!(decode("Zm8"), Some(b"fo".to_vec()));
        assert_eq!(decode("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(decode("Zm8=="), None);
        assert_eq!(decode("-_8"), None);
    }

    proptest! {
        #[test]
        fn url_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode_url(&encode_url(&bytes)), Some(bytes.clone()));
            prop_assert_eq!(decode(&encode(&bytes)), Some(bytes));
        }
    }
}
