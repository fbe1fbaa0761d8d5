//! `docker build` of a derived image with the classic builder, its output followed step by step
//! so a failure says which step broke and what it printed.
use std::collections::BTreeMap;
use std::time::Duration;

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::context::{context_tar, ContextFile};
use super::error::{ImageError, TAIL_LINES};
use super::name::{ImageName, LABEL_IMAGE};
use super::tags::image_exists;

/// A build that prints nothing for this long is stuck (the slowest step here, pip installing
/// Patroni on a slow mirror, prints a line at least every minute or so).
const BUILD_SILENCE_LIMIT: Duration = Duration::from_secs(10 * 60);
/// No image of ours takes near this long to build, even cold on two loaded cores (~4 min).
const BUILD_LIMIT: Duration = Duration::from_secs(45 * 60);

/// Runs the classic builder (Docker 20.10 has no BuildKit session for API clients). Bounded: a
/// build silent for [`BUILD_SILENCE_LIMIT`] or running past [`BUILD_LIMIT`] fails, naming its step.
pub(super) async fn build(
    docker: &Docker,
    name: ImageName,
    tag: &str,
    files: &[ContextFile],
    build_args: &BTreeMap<String, String>,
    no_cache: bool,
    progress: &dyn Fn(&str),
) -> Result<(), ImageError> {
    let labels = BTreeMap::from([(LABEL_IMAGE, name.as_str())]).into_iter().collect();
    let args = build_args.clone().into_iter().collect();
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .buildargs(&args)
        .labels(&labels)
        .rm(true)
        .forcerm(true)
        .nocache(no_cache)
        .build();
    let body = bollard::body_full(Bytes::from(context_tar(files)));
    let mut stream = docker.build_image(options, None, Some(body));
    let mut output = StepOutput::default();
    let deadline = Instant::now() + BUILD_LIMIT;
    loop {
        let item = match next_bounded(&mut stream, deadline, BUILD_SILENCE_LIMIT).await {
            Ok(Some(item)) => item,
            Ok(None) => break,
            // Returning drops the stream, which closes the connection: the engine stops the build.
            Err(why) => {
                return Err(ImageError::BuildStalled {
                    image: name,
                    tag: tag.to_string(),
                    why,
                    step: output.step.clone().unwrap_or_else(|| "(before the first step)".into()),
                    step_output: output.tail(),
                })
            }
        };
        match item {
            Ok(info) => {
                if let Some(text) = info.stream {
                    for step in output.push(&text) {
                        progress(&format!("image {tag}: {step}"));
                    }
                }
            }
            Err(source) => {
                return Err(ImageError::BuildFailed {
                    image: name,
                    tag: tag.to_string(),
                    base: build_args
                        .get("BASE")
                        .or_else(|| build_args.get("PATRONI_IMAGE"))
                        .cloned()
                        .unwrap_or_default(),
                    step: output.step.clone().unwrap_or_else(|| "(before the first step)".into()),
                    step_output: output.tail(),
                    source: Box::new(source),
                });
            }
        }
    }
    // An error the stream did not report as such still leaves no tag behind.
    if !image_exists(docker, tag).await? {
        return Err(ImageError::BuildFailed {
            image: name,
            tag: tag.to_string(),
            base: build_args.get("BASE").or_else(|| build_args.get("PATRONI_IMAGE")).cloned().unwrap_or_default(),
            step: output.step.clone().unwrap_or_default(),
            step_output: output.tail(),
            source: Box::new(bollard::errors::Error::DockerStreamError {
                error: "the build ended without producing the image".into(),
            }),
        });
    }
    Ok(())
}

/// The next item of `stream`, unless it stays silent for `silence` or `deadline` passes first:
/// then which of the two ran out.
pub(super) async fn next_bounded<S: Stream + Unpin>(
    stream: &mut S,
    deadline: Instant,
    silence: Duration,
) -> Result<Option<S::Item>, String> {
    let started = Instant::now();
    let limit = deadline.min(started + silence);
    tokio::time::timeout_at(limit, stream.next()).await.map_err(|_| {
        if limit == deadline {
            "the build ran out of its time limit".to_string()
        } else {
            format!("the build printed nothing for {} s", silence.as_secs())
        }
    })
}

/// Splits the builder's output into lines and keeps the current step's last lines.
#[derive(Debug, Default)]
pub(super) struct StepOutput {
    pub(super) partial: String,
    pub(super) step: Option<String>,
    pub(super) lines: std::collections::VecDeque<String>,
}

impl StepOutput {
    /// Adds a chunk; returns the step headers it completed (`Step 3/9 : RUN ...`).
    pub(super) fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut steps = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            // The classic builder colours a step's stderr with ANSI escapes.
            let line = line.replace("\u{1b}[91m", "").replace("\u{1b}[0m", "").trim_end().to_string();
            if line.starts_with(" ---> Running in ") || line.starts_with("Removing intermediate container") {
                continue;
            }
            if line.starts_with("Step ") {
                self.step = Some(line.clone());
                self.lines.clear();
                steps.push(line);
            } else if !line.is_empty() {
                if self.lines.len() == TAIL_LINES {
                    self.lines.pop_front();
                }
                self.lines.push_back(line);
            }
        }
        steps
    }

    pub(super) fn tail(&self) -> String {
        let mut lines: Vec<&str> = self.lines.iter().map(String::as_str).collect();
        if !self.partial.trim().is_empty() {
            lines.push(self.partial.trim_end());
        }
        lines.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
    }
}
