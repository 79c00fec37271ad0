//! Header blocks: inbound headers cross the JS↔wasm boundary as one string, `name:value` lines joined
//! by `\n` (HTTP forbids newlines in both): one crossing instead of two per header, which
//! measurably matters. Plain string handling, so its tests run on the host too.

/// `name:value` lines (from the driver, which builds them from `Headers`: names already
/// lowercase, values without surrounding whitespace) as pairs. Byte-wise: this runs for every
/// request, and `str::lines`, `split_once` and Unicode `trim` were a tenth of the module's
/// time on the pass-through path.
pub fn parse_block(block: &str) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(block.bytes().filter(|&b| b == b'\n').count());
    for line in block.split('\n') {
        let Some(colon) = line.bytes().position(|b| b == b':') else { continue };
        let (name, value) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
        out.push((name.to_ascii_lowercase(), value.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_block;

    #[test]
    fn parses_lines_lowercases_names_trims_and_skips_lines_without_a_colon() {
        let block = "content-type:application/json\nX-Api-Key: sk-1 \nbroken line\n\nauthorization:Bearer a:b\r\n";
        let pairs = parse_block(block);
        assert_eq!(
            pairs,
            vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("x-api-key".to_string(), "sk-1".to_string()),
                ("authorization".to_string(), "Bearer a:b".to_string()),
            ]
        );
        assert!(parse_block("").is_empty());
        assert_eq!(parse_block("k:é \u{a0}"), vec![("k".to_string(), "é \u{a0}".to_string())]);
    }
}
