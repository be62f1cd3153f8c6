//! Decryption keys for `run`, read from environment variables named on the command line.
//!
//! Each `--key-env VARIABLE` names a variable holding a base64 key. The writer stores a key id
//! beside each ciphertext: the one in `TELEMETRY_ENCRYPTION_KEY_ID` when set, else one derived
//! from the key. So the id of the key in `VARIABLE` is read from `VARIABLE_ID` when that is set
//! (for the writer's own variable, exactly `TELEMETRY_ENCRYPTION_KEY_ID`), and derived otherwise.
//! A key under the wrong id would not fail here but at decryption, as an unknown key id.

use telemetry_writer::encryption::{EncryptionKey, KeyRing};

use crate::error::OpsError;

/// Appended to a key's variable name to name the variable holding its key id.
pub const KEY_ID_SUFFIX: &str = "_ID";

/// Reads the key named by each of `variables` through `lookup`, with its id from the variable
/// named with [`KEY_ID_SUFFIX`] when that is set and not empty.
///
/// # Errors
///
/// [`OpsError::MissingKey`] if a variable is unset or empty, [`OpsError::Key`] if it does not
/// hold base64 of 32 bytes.
pub fn load_keys(
    variables: &[String],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<KeyRing, OpsError> {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let mut keys = Vec::with_capacity(variables.len());
    for variable in variables {
        let text = get(variable).ok_or_else(|| OpsError::MissingKey {
            variable: variable.clone(),
        })?;
        let key_id = get(&format!("{variable}{KEY_ID_SUFFIX}"));
        let key = EncryptionKey::from_base64(&text, key_id).map_err(|source| OpsError::Key {
            variable: variable.clone(),
            source,
        })?;
        keys.push(key);
    }
    Ok(KeyRing::new(keys))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn a_key_id_set_beside_the_key_decrypts_what_the_writer_stored_under_it() {
        let writer_key = EncryptionKey::from_base64(KEY, Some("2026-12".into())).unwrap();
        let envelope = writer_key
            .encrypt_json(&json!({"title": "t"}), b"e1")
            .unwrap();
        let variables = ["TELEMETRY_ENCRYPTION_KEY".to_string()];

        let with_id = lookup(&[
            ("TELEMETRY_ENCRYPTION_KEY", KEY),
            ("TELEMETRY_ENCRYPTION_KEY_ID", "2026-12"),
        ]);
        let ring = load_keys(&variables, with_id).unwrap();
        assert_eq!(
            ring.decrypt_json(&envelope, b"e1").unwrap(),
            json!({"title": "t"})
        );

        let without_id = lookup(&[("TELEMETRY_ENCRYPTION_KEY", KEY)]);
        let ring = load_keys(&variables, without_id).unwrap();
        let error = ring.decrypt_json(&envelope, b"e1").unwrap_err();
        assert!(error.to_string().contains("`2026-12`"), "{error}");
    }

    #[test]
    fn an_unset_or_malformed_key_names_its_variable() {
        let variables = ["KEY_2026_06".to_string()];
        let error = load_keys(&variables, lookup(&[("KEY_2026_06", " ")])).unwrap_err();
        assert!(matches!(error, OpsError::MissingKey { variable } if variable == "KEY_2026_06"));

        let error = load_keys(&variables, lookup(&[("KEY_2026_06", "short")])).unwrap_err();
        assert!(error.to_string().contains("`KEY_2026_06`"), "{error}");
    }
}
