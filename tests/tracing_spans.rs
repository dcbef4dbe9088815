//! The engine's tracing: one span per reconcile, and inside it one `kms_call` span per call
//! attempt with the operation, the key and the attempt number, and an event with its duration.

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::{ErrorKind, Operation};
use kms_key::{KmsKeySpec, Reconciler, Target};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Records each new span as `name{fields} <- parent`, and each event of the engine as
/// `  event{fields} in span`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        // Durations vary: record that there is one, not its value.
        if field.name() == "duration" {
            self.0.push_str("duration");
        } else {
            let _ = write!(self.0, "{}={:?}", field.name(), value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = write!(self.0, "{}={}", field.name(), value);
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent().map(|p| p.name()))
            .unwrap_or("-");
        self.0.lock().unwrap().push(format!(
            "{}{{{}}} <- {parent}",
            attrs.metadata().name(),
            fields.0
        ));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The engine's events only (the in-memory KMS logs its own).
        if event.metadata().target() != "kms_key::reconcile" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let within = ctx.event_span(event).map(|s| s.name()).unwrap_or("-");
        self.0
            .lock()
            .unwrap()
            .push(format!("  event{{{}}} in {within}", fields.0));
    }
}

#[tokio::test(start_paused = true)]
async fn each_reconcile_and_each_call_attempt_has_a_span() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));

    let backend = Arc::new(InMemoryBackend::new());
    backend.fail_next(Operation::EnableKeyRotation, 1, ErrorKind::Throttled);
    let r = Reconciler::new(backend.clone());
    let spec = KmsKeySpec::builder()
        .enable_key_rotation(true)
        .build()
        .unwrap();
    let out = r.reconcile(&spec, &Target::name("a")).await.unwrap();
    let id = out.key_id;

    let lines = recorder.0.lock().unwrap().clone();
    // Spans, and the events of the calls: outcome, retries.
    let expected = [
        "reconcile{target=key named \"a\"} <- -".to_owned(),
        "kms_call{operation=ListKeys attempt=1} <- reconcile".to_owned(),
        "  event{message=ok duration} in kms_call".to_owned(),
        "kms_call{operation=CreateKey attempt=1} <- reconcile".to_owned(),
        "  event{message=ok duration} in kms_call".to_owned(),
        format!("kms_call{{operation=EnableKeyRotation key_id={id} attempt=1}} <- reconcile"),
        "  event{message=failed duration error=EnableKeyRotation: throttled (ThrottlingException): Rate exceeded} in kms_call".to_owned(),
    ];
    assert_eq!(lines[..expected.len()], expected, "{lines:#?}");
    let rest = &lines[expected.len()..];
    // The backoff is jittered: its length varies.
    assert!(
        rest[0].starts_with("  event{message=retrying operation=EnableKeyRotation attempt=1 wait=")
            && rest[0].ends_with(" kind=Throttled} in reconcile"),
        "{rest:#?}"
    );
    assert_eq!(
        rest[1..],
        [
            format!("kms_call{{operation=EnableKeyRotation key_id={id} attempt=2}} <- reconcile"),
            "  event{message=ok duration} in kms_call".to_owned(),
        ],
        "{rest:#?}"
    );
}
