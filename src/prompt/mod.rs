//! The voice prompt catalog.
//!
//! `prompts/prompts.toml` lists each prompt's id, language, file and transcript. At start-up
//! every file is read (any rate, mono or stereo, 8/16/24/32-bit or float), downmixed,
//! resampled once to 8 kHz, levelled to −18 dBm0 active speech level without clipping,
//! encoded to μ-law and cut into 20 ms frames. The frames sit behind an `Arc` that every call
//! shares; nothing is converted or copied per call. Each prompt's evidence hash is the
//! SHA-256 of exactly those frames, so the consent log can prove which audio a caller heard.
//!
//! A bad file stops start-up with an error naming the file and the problem; all problems are
//! reported at once, not just the first.

pub mod render;

pub use render::Frame;

use crate::audio::{self, AudioError};
use render::{render, SILENT_DBM0};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The manifest's file name inside a prompt directory.
pub const MANIFEST: &str = "prompts.toml";

/// Longest prompt accepted by default: longer files are almost certainly a mistake (a whole
/// recording dropped in by accident) and would hold a caller hostage.
pub const DEFAULT_MAX_SECONDS: f64 = 60.0;

/// A prompt ready to play.
#[derive(Debug)]
pub struct Prompt {
    pub id: String,
    pub language: String,
    pub transcript: String,
    /// The file it was made from.
    pub source: PathBuf,
    /// The source file's format, e.g. "PCM 16-bit, 8000 Hz, mono".
    pub source_format: String,
    /// μ-law, 20 ms per frame, the last padded with silence.
    pub frames: Arc<[Frame]>,
    /// SHA-256 of all frames' bytes in order.
    pub sha256: [u8; 32],
    /// Active speech level as sent, dBm0.
    pub level_dbm0: f32,
    /// Gain applied when levelling, dB.
    pub gain_db: f32,
}

/// Two prompts are the same when they are the same audio under the same id and language.
impl PartialEq for Prompt {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.language == other.language && self.sha256 == other.sha256
    }
}

impl Prompt {
    /// Playing time, milliseconds (whole frames).
    pub fn duration_ms(&self) -> u64 {
        self.frames.len() as u64 * 20
    }

    /// The evidence hash as lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// What is wrong with one prompt.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Missing,
    Unreadable(AudioError),
    TooLong { seconds: f64, limit: f64 },
    TooLowRate { rate: u32 },
    Silent,
    Duplicate,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => write!(f, "file not found"),
            Problem::Unreadable(AudioError::Empty) => write!(f, "file is empty (no audio samples)"),
            Problem::Unreadable(e) => write!(f, "{e}"),
            Problem::TooLong { seconds, limit } => {
                write!(f, "too long: {seconds:.1} s (limit {limit:.0} s)")
            }
            Problem::TooLowRate { rate } => {
                write!(
                    f,
                    "sample rate {rate} Hz is below the telephone rate of 8000 Hz"
                )
            }
            Problem::Silent => write!(f, "file is silent (active level below {SILENT_DBM0} dBm0)"),
            Problem::Duplicate => write!(f, "another entry has the same id and language"),
        }
    }
}

/// A catalog that failed to load.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogError {
    /// The manifest itself is missing or malformed.
    Manifest { path: PathBuf, message: String },
    /// One or more prompts are bad.
    Prompts(Vec<(PathBuf, String, Problem)>),
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Manifest { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
            CatalogError::Prompts(problems) => {
                for (i, (path, id, problem)) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{}: prompt {id}: {problem}", path.display())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for CatalogError {}

/// Options for loading.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    pub max_seconds: f64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_seconds: DEFAULT_MAX_SECONDS,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default)]
    prompt: Vec<ManifestEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    id: String,
    language: String,
    file: PathBuf,
    transcript: String,
}

/// All prompts, by id and language.
#[derive(Debug, Default)]
pub struct Catalog {
    prompts: BTreeMap<(String, String), Arc<Prompt>>,
}

impl Catalog {
    /// Load `dir/prompts.toml` and every file it lists.
    pub fn load(dir: &Path, options: LoadOptions) -> Result<Catalog, CatalogError> {
        let manifest_path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| CatalogError::Manifest {
            path: manifest_path.clone(),
            message: e.to_string(),
        })?;
        let manifest: ManifestFile = toml::from_str(&text).map_err(|e| CatalogError::Manifest {
            path: manifest_path.clone(),
            message: e.to_string(),
        })?;
        if manifest.prompt.is_empty() {
            return Err(CatalogError::Manifest {
                path: manifest_path,
                message: "lists no [[prompt]] entries".into(),
            });
        }
        let mut catalog = Catalog::default();
        let mut problems = Vec::new();
        for entry in manifest.prompt {
            let path = dir.join(&entry.file);
            let key = (entry.id.clone(), entry.language.clone());
            if catalog.prompts.contains_key(&key) {
                problems.push((path, entry.id, Problem::Duplicate));
                continue;
            }
            match load_one(&path, &entry, options) {
                Ok(prompt) => {
                    catalog.prompts.insert(key, Arc::new(prompt));
                }
                Err(problem) => problems.push((path, entry.id, problem)),
            }
        }
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(CatalogError::Prompts(problems))
        }
    }

    /// The prompt `id` in `language`.
    pub fn get(&self, id: &str, language: &str) -> Option<&Arc<Prompt>> {
        self.prompts.get(&(id.to_string(), language.to_string()))
    }

    /// Every prompt, ordered by id then language.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Prompt>> {
        self.prompts.values()
    }

    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    /// Languages present.
    pub fn languages(&self) -> Vec<String> {
        let mut langs: Vec<String> = self.prompts.keys().map(|(_, l)| l.clone()).collect();
        langs.sort();
        langs.dedup();
        langs
    }

    /// Ids from `required` missing in any of `languages`, as `id (language)`.
    pub fn missing(&self, required: &[&str], languages: &[&str]) -> Vec<String> {
        let mut missing = Vec::new();
        for lang in languages {
            for id in required {
                if self.get(id, lang).is_none() {
                    missing.push(format!("{id} ({lang})"));
                }
            }
        }
        missing
    }
}

fn load_one(path: &Path, entry: &ManifestEntry, options: LoadOptions) -> Result<Prompt, Problem> {
    if !path.is_file() {
        return Err(Problem::Missing);
    }
    let audio = audio::read_wav(path).map_err(Problem::Unreadable)?;
    if audio.sample_rate < crate::media::SAMPLE_RATE {
        return Err(Problem::TooLowRate {
            rate: audio.sample_rate,
        });
    }
    let seconds = audio.seconds();
    if seconds > options.max_seconds {
        return Err(Problem::TooLong {
            seconds,
            limit: options.max_seconds,
        });
    }
    let telephone = audio::to_telephony_rate(&audio).map_err(Problem::Unreadable)?;
    let rendered = render(&telephone).ok_or(Problem::Silent)?;
    let layout = match audio.channels {
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        n => format!("{n} channels"),
    };
    Ok(Prompt {
        id: entry.id.clone(),
        language: entry.language.clone(),
        transcript: entry.transcript.clone(),
        source: path.to_path_buf(),
        source_format: format!("{}, {} Hz, {layout}", audio.encoding, audio.sample_rate),
        frames: rendered.frames.into(),
        sha256: rendered.sha256,
        level_dbm0: rendered.level_dbm0,
        gain_db: rendered.gain_db,
    })
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
