//! A file per tenant in a folder the vendor's application reads, e.g. a
//! volume shared with its container: `<dir>/<tenant>.env` or `.json`.
//!
//! Files are replaced atomically (a private temporary file, fsynced, then
//! renamed over the old one), so a reader sees the old credential or the
//! new one, never half of either, and a crash leaves no torn file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng as _;
use rand::rngs::SysRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Credential, Sink, SinkError, WriteOutcome, setting};
use crate::config_error::ConfigError;

/// `[sinks.<name>]` with `kind = "file"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The folder; it must exist.
    pub dir: PathBuf,
    /// [default: `env`]
    #[serde(default)]
    pub format: FileFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// `KEY='value'` lines, as dotenv libraries, Docker Compose's
    /// `env_file` and systemd's `EnvironmentFile` read them.
    #[default]
    Env,
    Json,
}

impl FileFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Env => "env",
            Self::Json => "json",
        }
    }
}

/// Only the owner may read a file holding a secret.
const MODE: u32 = 0o600;

/// Longest file stem taken; file systems allow 255 bytes with the suffix
/// and the temporary file's decoration.
const MAX_STEM: usize = 128;

#[derive(Debug)]
pub struct FileSink {
    name: String,
    dir: PathBuf,
    format: FileFormat,
}

impl FileSink {
    pub fn new(name: &str, entry: &FileEntry) -> Result<Self, ConfigError> {
        let field = setting(name, "dir");
        if entry.dir.as_os_str().is_empty() {
            return Err(ConfigError::new(&field, "must name a folder"));
        }
        let metadata = std::fs::metadata(&entry.dir).map_err(|error| {
            ConfigError::new(
                &field,
                format!("cannot use {}: {error}", entry.dir.display()),
            )
        })?;
        if !metadata.is_dir() {
            return Err(ConfigError::new(
                &field,
                format!("{} is not a folder", entry.dir.display()),
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            dir: entry.dir.clone(),
            format: entry.format,
        })
    }

    /// The file a tenant's credential goes to: the `sink_path`, if set,
    /// replaces the tenant's slug as the file's name.
    fn target(&self, path: &str, tenant: &str) -> Result<PathBuf, SinkError> {
        let path = path.trim();
        let stem = if path.is_empty() { tenant } else { path };
        if !is_stem(stem) {
            return Err(SinkError::Misconfigured(format!(
                "{stem:?} cannot name a file in {}: use letters, digits, '-', '_' and '.', not \
                 starting with '.' and without '..' or '/'",
                self.dir.display()
            )));
        }
        Ok(self.dir.join(format!("{stem}.{}", self.format.extension())))
    }
}

fn is_stem(stem: &str) -> bool {
    (1..=MAX_STEM).contains(&stem.len())
        && !stem.starts_with('.')
        && !stem.contains("..")
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A certificate credential's PEM files beside the tenant's file:
/// `<name>.key.pem` (the private key) and `<name>.crt.pem`.
struct PemFiles {
    key: PathBuf,
    certificate: PathBuf,
}

impl PemFiles {
    fn beside(target: &Path) -> Self {
        Self {
            key: target.with_extension("key.pem"),
            certificate: target.with_extension("crt.pem"),
        }
    }
}

/// The file's content, in a buffer that is wiped when dropped. With a
/// certificate, it names the PEM files instead of holding a secret.
fn render(
    format: FileFormat,
    credential: &Credential<'_>,
    pem_files: Option<&PemFiles>,
) -> Result<Zeroizing<Vec<u8>>, SinkError> {
    let file_names = pem_files.map(|files| {
        (
            files.key.to_string_lossy().into_owned(),
            files.certificate.to_string_lossy().into_owned(),
        )
    });
    let certificate = credential.certificate.zip(file_names.as_ref());
    match format {
        FileFormat::Env => {
            let mut lines = vec![
                ("CLIENT_ID", credential.client_id),
                ("TENANT_ID", credential.tenant_id),
            ];
            match certificate {
                Some((parts, (key, certificate))) => lines.extend([
                    ("PRIVATE_KEY_FILE", key.as_str()),
                    ("CERTIFICATE_FILE", certificate.as_str()),
                    ("CERTIFICATE_THUMBPRINT", parts.thumbprint),
                ]),
                None => lines.push(("CLIENT_SECRET", credential.client_secret)),
            }
            if let Some(expires_on) = credential.expires_on {
                lines.push(("EXPIRES_ON", expires_on));
            }
            let mut text = Zeroizing::new(Vec::with_capacity(256));
            for (key, value) in lines {
                // Single quotes are literal in every dotenv dialect: no
                // `$` expansion, no escapes. A value that would need
                // escaping is refused rather than read back differently by
                // different parsers; Entra ID never issues one.
                if value
                    .chars()
                    .any(|c| c == '\'' || c == '\\' || c.is_control())
                {
                    return Err(SinkError::Misconfigured(format!(
                        "{key} holds a quote, backslash or line break, which the env format \
                         cannot carry for every reader; use format = \"json\""
                    )));
                }
                text.extend_from_slice(key.as_bytes());
                text.extend_from_slice(b"='");
                text.extend_from_slice(value.as_bytes());
                text.extend_from_slice(b"'\n");
            }
            Ok(text)
        }
        FileFormat::Json => {
            #[derive(Serialize)]
            struct Content<'a> {
                client_id: &'a str,
                tenant_id: &'a str,
                #[serde(skip_serializing_if = "Option::is_none")]
                client_secret: Option<&'a str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                private_key_file: Option<&'a str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                certificate_file: Option<&'a str>,
                #[serde(skip_serializing_if = "Option::is_none")]
                certificate_thumbprint: Option<&'a str>,
                expires_on: Option<&'a str>,
            }
            let mut text = Zeroizing::new(Vec::with_capacity(256));
            serde_json::to_writer_pretty(
                &mut *text,
                &Content {
                    client_id: credential.client_id,
                    tenant_id: credential.tenant_id,
                    client_secret: certificate.is_none().then_some(credential.client_secret),
                    private_key_file: certificate.map(|(_, (key, _))| key.as_str()),
                    certificate_file: certificate.map(|(_, (_, cert))| cert.as_str()),
                    certificate_thumbprint: certificate.map(|(parts, _)| parts.thumbprint),
                    expires_on: credential.expires_on,
                },
            )
            .map_err(|_| SinkError::Misconfigured("could not encode the credential".into()))?;
            text.push(b'\n');
            Ok(text)
        }
    }
}

/// A temporary file that is removed unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    placed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates `.<stem>.<random>.tmp` beside where the file goes: the same
/// folder, so the rename stays on one file system and is atomic. Created
/// new, with the final mode, so no one can open it in between.
fn create_temp(dir: &Path, stem: &str) -> io::Result<(TempFile, File)> {
    let mut random = [0u8; 12];
    SysRng
        .try_fill_bytes(&mut random)
        .map_err(|_| io::Error::other("the operating system's random number generator failed"))?;
    let path = dir.join(format!(".{stem}.{}.tmp", URL_SAFE_NO_PAD.encode(random)));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(MODE)
        .open(&path)?;
    Ok((
        TempFile {
            path,
            placed: false,
        },
        file,
    ))
}

/// Replaces `target` with `content` unless it already holds exactly that.
fn write_atomically(target: &Path, content: &[u8]) -> io::Result<WriteOutcome> {
    match std::fs::read(target) {
        Ok(existing) => {
            let existing = Zeroizing::new(existing);
            if existing.as_slice() == content {
                return Ok(WriteOutcome::AlreadyApplied);
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let stem = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (mut temp, mut file) = create_temp(dir, &stem)?;
    file.write_all(content)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp.path, target)?;
    temp.placed = true;
    // The rename lives in the folder; without this a crash could bring
    // back the old file after the caller was told the new one is there.
    File::open(dir)?.sync_all()?;
    Ok(WriteOutcome::Written { version: None })
}

fn io_error(doing: &str, error: &io::Error) -> SinkError {
    match error.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            SinkError::Refused(format!("cannot {doing}: {error}"))
        }
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
            SinkError::Misconfigured(format!("cannot {doing}: {error}"))
        }
        // A full disk, an I/O error: whether the file was replaced is
        // unknown, and trying again is safe.
        _ => SinkError::Unreachable(format!("cannot {doing}: {error}")),
    }
}

fn interrupted(_: tokio::task::JoinError) -> SinkError {
    SinkError::Unreachable("the file operation did not finish".into())
}

#[async_trait::async_trait]
impl Sink for FileSink {
    fn kind(&self) -> &'static str {
        "file"
    }

    async fn write(
        &self,
        path: &str,
        credential: &Credential<'_>,
    ) -> Result<WriteOutcome, SinkError> {
        let target = self.target(path, credential.tenant)?;
        let pem_files = credential.certificate.map(|_| PemFiles::beside(&target));
        let content = render(self.format, credential, pem_files.as_ref())?;
        // The PEM files first: the tenant's file names them only once they
        // are in place.
        let pems = match (credential.certificate, pem_files) {
            (Some(parts), Some(files)) => vec![
                (
                    files.key,
                    Zeroizing::new(credential.client_secret.as_bytes().to_vec()),
                ),
                (
                    files.certificate,
                    Zeroizing::new(parts.pem.as_bytes().to_vec()),
                ),
            ],
            _ => Vec::new(),
        };
        let doing = format!("write {}", target.display());
        tokio::task::spawn_blocking(move || {
            let mut written = false;
            for (path, pem) in pems
                .iter()
                .map(|(p, c)| (p, c))
                .chain([(&target, &content)])
            {
                written |= write_atomically(path, pem)? != WriteOutcome::AlreadyApplied;
            }
            Ok(if written {
                WriteOutcome::Written { version: None }
            } else {
                WriteOutcome::AlreadyApplied
            })
        })
        .await
        .map_err(interrupted)?
        .map_err(|error: io::Error| io_error(&doing, &error))
    }

    async fn check(&self, path: Option<&str>) -> Result<String, SinkError> {
        // An empty path means the tenant's slug, which check is not told.
        let shown = match path.map(str::trim).filter(|path| !path.is_empty()) {
            Some(path) => self
                .target(path, "")?
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            None => format!("<tenant>.{}", self.format.extension()),
        };
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            create_temp(&dir, "handoff-check").map(|(temp, file)| drop((file, temp)))
        })
        .await
        .map_err(interrupted)?
        .map_err(|error| io_error(&format!("create a file in {}", self.dir.display()), &error))?;
        Ok(format!(
            "the folder {} is writable; the sink {} writes {shown} there.",
            self.dir.display(),
            self.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(secret: &str) -> Credential<'_> {
        Credential {
            certificate: None,
            tenant: "contoso",
            client_secret: secret,
            client_id: "6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11",
            tenant_id: "contoso.onmicrosoft.com",
            expires_on: Some("2027-05-31"),
        }
    }

    #[test]
    fn env_files_single_quote_every_value() {
        let text = render(FileFormat::Env, &credential("abc8Q~Zy$1"), None).unwrap();
        assert_eq!(
            std::str::from_utf8(&text).unwrap(),
            "CLIENT_ID='6f1c2b7e-0d4f-4c52-9a43-5a7e1e0c9b11'\n\
             TENANT_ID='contoso.onmicrosoft.com'\n\
             CLIENT_SECRET='abc8Q~Zy$1'\n\
             EXPIRES_ON='2027-05-31'\n"
        );
    }

    #[test]
    fn env_files_refuse_values_they_cannot_carry() {
        for bad in ["it's", "a\nb", "a\\b"] {
            let error = render(FileFormat::Env, &credential(bad), None).unwrap_err();
            assert!(matches!(error, SinkError::Misconfigured(_)));
            assert!(!error.to_string().contains(bad));
        }
        assert!(render(FileFormat::Json, &credential("it's"), None).is_ok());
    }

    #[tokio::test]
    async fn a_certificate_goes_into_pem_files_the_tenants_file_names() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let entry = FileEntry {
            dir: dir.path().to_owned(),
            format: FileFormat::Env,
        };
        let sink = FileSink::new("files", &entry).unwrap();
        let key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
        let pem = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
        let credential = Credential {
            certificate: Some(crate::sinks::CertificateParts {
                pem,
                thumbprint: "AB12",
            }),
            ..credential(key)
        };
        let outcome = sink.write("", &credential).await.unwrap();
        assert_eq!(outcome, WriteOutcome::Written { version: None });
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(read("contoso.key.pem"), key);
        assert_eq!(read("contoso.crt.pem"), pem);
        let env = read("contoso.env");
        assert!(env.contains("CERTIFICATE_THUMBPRINT='AB12'"), "{env}");
        assert!(
            env.contains("contoso.key.pem'") && !env.contains("PRIVATE KEY"),
            "{env}"
        );
        for name in ["contoso.key.pem", "contoso.crt.pem", "contoso.env"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        assert_eq!(
            sink.write("", &credential).await.unwrap(),
            WriteOutcome::AlreadyApplied
        );
    }

    #[test]
    fn stems_stay_inside_the_folder() {
        for good in ["contoso", "contoso.prod", "a-b_c"] {
            assert!(is_stem(good), "{good}");
        }
        for bad in ["", "..", "../x", "a/b", ".hidden", "a..b", "a b"] {
            assert!(!is_stem(bad), "{bad}");
        }
    }
}
