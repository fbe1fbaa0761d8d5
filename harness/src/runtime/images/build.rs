//! `docker build` of a derived image with the classic builder, its output followed step by step
//! so a failure says which step broke and what it printed.
use std::collections::BTreeMap;

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;

use super::context::{context_tar, ContextFile};
use super::error::{ImageError, TAIL_LINES};
use super::name::{ImageName, LABEL_IMAGE};
use super::tags::image_exists;

/// Runs the classic builder (Docker 20.10 has no BuildKit session for API clients).
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
    while let Some(item) = stream.next().await {
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
