//! Settings of the generate function, read once at cold start.

use crate::error::GenerateError;

/// Default `MAX_DOCUMENT_BYTES`: 25 MiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 25 * 1024 * 1024;

/// Configuration of the generate function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateConfig {
    /// `UPLOAD_PREFIX` (default `uploads/`): only keys under it are processed.
    pub upload_prefix: String,
    /// `OUTPUT_PREFIX` (default `packs/`): where outputs are written.
    pub output_prefix: String,
    /// `MAX_DOCUMENT_BYTES` (default 25 MiB): larger objects are refused unread.
    pub max_document_bytes: u64,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            upload_prefix: "uploads/".into(),
            output_prefix: "packs/".into(),
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

impl GenerateConfig {
    /// Reads the configuration from the environment.
    ///
    /// # Errors
    ///
    /// Names the variable that is malformed, a prefix that does not end with `/`, or the
    /// prefixes when outputs would land under the upload prefix and retrigger the function.
    pub fn from_env() -> Result<Self, GenerateError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any variable source.
    ///
    /// # Errors
    ///
    /// As [`Self::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        let defaults = Self::default();
        let text = |name: &str, default: String| {
            lookup(name)
                .filter(|value| !value.is_empty())
                .unwrap_or(default)
        };
        let config =
            Self {
                upload_prefix: text("UPLOAD_PREFIX", defaults.upload_prefix),
                output_prefix: text("OUTPUT_PREFIX", defaults.output_prefix),
                max_document_bytes: match lookup("MAX_DOCUMENT_BYTES").filter(|v| !v.is_empty()) {
                    None => defaults.max_document_bytes,
                    Some(value) => value.trim().parse().ok().filter(|n| *n > 0).ok_or(
                        GenerateError::Config {
                            name: "MAX_DOCUMENT_BYTES",
                            problem: format!("must be a positive whole number, got `{value}`"),
                        },
                    )?,
                },
            };
        // Without the slash, `uploads` would also match `uploads-archive/...`, and outputs
        // would be written beside the folder name instead of inside a folder.
        for (name, prefix) in [
            ("UPLOAD_PREFIX", &config.upload_prefix),
            ("OUTPUT_PREFIX", &config.output_prefix),
        ] {
            if !prefix.ends_with('/') {
                return Err(GenerateError::Config {
                    name,
                    problem: format!("`{prefix}` must end with `/`, e.g. `{prefix}/`"),
                });
            }
        }
        if config.output_prefix.starts_with(&config.upload_prefix)
            || config.upload_prefix.starts_with(&config.output_prefix)
        {
            return Err(GenerateError::Config {
                name: "OUTPUT_PREFIX",
                problem: format!(
                    "`{}` overlaps `UPLOAD_PREFIX` `{}`: outputs would trigger new runs",
                    config.output_prefix, config.upload_prefix
                ),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset() {
        let config = GenerateConfig::from_lookup(|_| None).unwrap();
        assert_eq!(config, GenerateConfig::default());
    }

    #[test]
    fn overlapping_prefixes_are_refused() {
        let error = GenerateConfig::from_lookup(|name| {
            (name == "OUTPUT_PREFIX").then(|| "uploads/packs/".to_string())
        })
        .unwrap_err();
        assert!(error.to_string().contains("`OUTPUT_PREFIX`"), "{error}");
    }

    #[test]
    fn prefixes_without_a_trailing_slash_are_refused_with_name_and_value() {
        for name in ["UPLOAD_PREFIX", "OUTPUT_PREFIX"] {
            let error = GenerateConfig::from_lookup(|variable| {
                (variable == name).then(|| "documents".to_string())
            })
            .unwrap_err();
            let message = error.to_string();
            assert!(message.contains(&format!("`{name}`")), "{message}");
            assert!(message.contains("`documents`"), "{message}");
        }
    }

    #[test]
    fn prefixes_with_a_trailing_slash_are_accepted() {
        let config = GenerateConfig::from_lookup(|name| match name {
            "UPLOAD_PREFIX" => Some("in/".into()),
            "OUTPUT_PREFIX" => Some("out/".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.upload_prefix, "in/");
        assert_eq!(config.output_prefix, "out/");
    }

    #[test]
    fn malformed_size_names_the_variable() {
        let error = GenerateConfig::from_lookup(|name| {
            (name == "MAX_DOCUMENT_BYTES").then(|| "lots".to_string())
        })
        .unwrap_err();
        assert!(
            error.to_string().contains("`MAX_DOCUMENT_BYTES`"),
            "{error}"
        );
        assert!(error.to_string().contains("`lots`"), "{error}");
    }
}
