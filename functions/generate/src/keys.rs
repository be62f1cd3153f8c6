//! S3 object keys: decoding the key of a notification and mapping an upload to its outputs.
//!
//! S3 notifications carry keys URL-encoded the way HTML forms are: `+` for a space, then
//! percent-encoding (moto also encodes `/` as `%2F`). Decoding must replace `+` first, since a
//! literal plus arrives as `%2B`.

use percent_encoding::percent_decode_str;

/// The file names written for every upload.
pub const LEARNING_PACK_FILE: &str = "learning-pack.json";
/// Games file name.
pub const GAMES_FILE: &str = "games.json";
/// Manifest file name.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Decodes a key from an S3 event notification.
///
/// Invalid UTF-8 after percent-decoding is replaced rather than rejected: the key is then
/// looked up as decoded and a missing object is reported by S3 itself.
pub fn decode_notification_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Where the outputs of an upload go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputKeys {
    /// `<output prefix><path>/learning-pack.json`
    pub learning_pack: String,
    /// `<output prefix><path>/games.json`
    pub games: String,
    /// `<output prefix><path>/manifest.json`
    pub manifest: String,
}

/// Maps `uploads/<path>` to its output keys; `None` for keys outside the upload prefix or with
/// nothing after it.
pub fn output_keys(key: &str, upload_prefix: &str, output_prefix: &str) -> Option<OutputKeys> {
    let path = key.strip_prefix(upload_prefix)?;
    if path.is_empty() || path.ends_with('/') {
        return None;
    }
    let base = format!("{output_prefix}{path}");
    Some(OutputKeys {
        learning_pack: format!("{base}/{LEARNING_PACK_FILE}"),
        games: format!("{base}/{GAMES_FILE}"),
        manifest: format!("{base}/{MANIFEST_FILE}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_a_space_and_percent_sequences_decode() {
        let raw = "uploads/biology/photosynthesis+notes+%C3%A9t%C3%A9.md";
        assert_eq!(
            decode_notification_key(raw),
            "uploads/biology/photosynthesis notes été.md"
        );
    }

    #[test]
    fn encoded_slashes_and_literal_plus_decode() {
        assert_eq!(
            decode_notification_key("uploads%2Fa%2Bb.md"),
            "uploads/a+b.md"
        );
    }

    #[test]
    fn outputs_mirror_the_upload_path() {
        let keys = output_keys("uploads/bio/notes.md", "uploads/", "packs/").unwrap();
        assert_eq!(keys.learning_pack, "packs/bio/notes.md/learning-pack.json");
        assert_eq!(keys.games, "packs/bio/notes.md/games.json");
        assert_eq!(keys.manifest, "packs/bio/notes.md/manifest.json");
    }

    #[test]
    fn keys_outside_the_prefix_or_folders_have_no_outputs() {
        assert_eq!(
            output_keys("packs/x/manifest.json", "uploads/", "packs/"),
            None
        );
        assert_eq!(output_keys("uploads/", "uploads/", "packs/"), None);
        assert_eq!(output_keys("uploads/folder/", "uploads/", "packs/"), None);
    }
}
