//! Snapshots of the in-memory store: JSON round trips, atomic saves, and loads that fail loudly.

use std::error::Error as _;
use std::fs;
use std::path::PathBuf;

use kms_key::backend::memory::{CustomKeyStoreKind, InMemoryBackend, ManualClock, SnapshotError};
use kms_key::backend::{CreateKeyRequest, KmsBackend, Tag};
use kms_key::spec::{KeySpec, KeyUsage, Origin};

const T0: u64 = 1_700_000_000;

/// A fresh, empty directory for one test under Cargo's per-target temporary directory.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("memory_snapshot")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A store with one key in each interesting condition.
async fn rich_store(clock: &ManualClock) -> (InMemoryBackend, Vec<String>) {
    let kms = InMemoryBackend::builder()
        .account_id("444455556666")
        .region("eu-west-1")
        .caller_principal("arn:aws:iam::444455556666:role/deployer")
        .known_principals(["arn:aws:iam::444455556666:role/app"])
        .custom_key_store("cks-hsm", CustomKeyStoreKind::CloudHsm, true)
        .seed(99)
        .clock(clock.clone())
        .list_keys_page_size(2)
        .build();
    let mut ids = Vec::new();

    let mut tagged = CreateKeyRequest::new();
    tagged.description = Some("tagged and rotating".into());
    tagged.tags = vec![Tag::new("env", "dev"), Tag::new("team", "")];
    let key = kms.create_key(tagged).await.unwrap();
    kms.enable_key_rotation(&key.key_id, Some(180))
        .await
        .unwrap();
    kms.put_key_policy(
        &key.key_id,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:*","Resource":"*"}]}"#,
        false,
    )
    .await
    .unwrap();
    ids.push(key.key_id);

    let disabled = kms.create_key(CreateKeyRequest::new()).await.unwrap();
    kms.disable_key(&disabled.key_id).await.unwrap();
    ids.push(disabled.key_id);

    let doomed = kms.create_key(CreateKeyRequest::new()).await.unwrap();
    kms.schedule_key_deletion(&doomed.key_id, Some(7))
        .await
        .unwrap();
    ids.push(doomed.key_id);

    let mut external = CreateKeyRequest::new();
    external.origin = Some(Origin::External);
    ids.push(kms.create_key(external).await.unwrap().key_id);

    let mut mrk = CreateKeyRequest::new();
    mrk.multi_region = true;
    mrk.key_spec = Some(KeySpec::EccNistP384);
    mrk.key_usage = Some(KeyUsage::SignVerify);
    ids.push(kms.create_key(mrk).await.unwrap().key_id);

    let mut hsm = CreateKeyRequest::new();
    hsm.origin = Some(Origin::AwsCloudhsm);
    hsm.custom_key_store_id = Some("cks-hsm".into());
    ids.push(kms.create_key(hsm).await.unwrap().key_id);

    (kms, ids)
}

/// Everything a backend answers about its keys.
async fn observe(kms: &InMemoryBackend, ids: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for id in ids {
        seen.push(format!(
            "{:?} | {} | {:?} | {:?}",
            kms.describe_key(id).await.unwrap(),
            kms.get_key_policy(id).await.unwrap(),
            kms.get_key_rotation_status(id).await.unwrap(),
            kms.list_resource_tags(id, None).await.unwrap(),
        ));
    }
    seen.push(format!("{:?}", kms.list_keys(None).await.unwrap()));
    seen
}

#[tokio::test]
async fn json_round_trip_is_equal() {
    let clock = ManualClock::at_epoch_secs(T0);
    let (kms, ids) = rich_store(&clock).await;
    let text = kms.to_json();
    let restored = InMemoryBackend::from_json(&text).unwrap();
    // Calls are not part of the store.
    assert_eq!(restored.calls(), []);
    restored.set_clock(clock.clone());
    assert_eq!(restored.to_json(), text);
    assert_eq!(observe(&restored, &ids).await, observe(&kms, &ids).await);
    assert_eq!(
        (
            restored.account_id(),
            restored.region(),
            restored.caller_principal()
        ),
        (kms.account_id(), kms.region(), kms.caller_principal())
    );
    // The id generator's state travels too: both hand out the same next id.
    let next = kms.create_key(CreateKeyRequest::new()).await.unwrap();
    let next_restored = restored.create_key(CreateKeyRequest::new()).await.unwrap();
    assert_eq!(next.arn, next_restored.arn);
}

#[tokio::test]
async fn timestamps_are_epoch_seconds() {
    let clock = ManualClock::at_epoch_secs(T0);
    let (kms, _) = rich_store(&clock).await;
    let value: serde_json::Value = serde_json::from_str(&kms.to_json()).unwrap();
    let keys = value["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 6);
    assert_eq!(keys[0]["creation_date"], serde_json::json!(T0));
    assert_eq!(keys[2]["deletion_date"], serde_json::json!(T0 + 7 * 86_400));
    assert_eq!(value["version"], serde_json::json!(1));
}

#[tokio::test]
async fn save_then_load_is_atomic_and_equal() {
    let dir = scratch_dir("save_then_load");
    let path = dir.join("kms.json");
    let clock = ManualClock::at_epoch_secs(T0);
    let (kms, ids) = rich_store(&clock).await;
    kms.save(&path).unwrap();
    assert_eq!(entries(&dir), ["kms.json"], "no temporary file left behind");
    // Saving over an existing snapshot replaces it, again without leftovers.
    kms.update_key_description(&ids[0], "changed")
        .await
        .unwrap();
    kms.save(&path).unwrap();
    assert_eq!(entries(&dir), ["kms.json"]);

    let loaded = InMemoryBackend::load(&path).unwrap();
    loaded.set_clock(clock.clone());
    assert_eq!(loaded.to_json(), kms.to_json());
    assert_eq!(observe(&loaded, &ids).await, observe(&kms, &ids).await);
    let again = InMemoryBackend::load_or_new(&path).unwrap();
    assert_eq!(again.to_json(), kms.to_json());
}

#[test]
fn missing_file_load_or_new_is_empty_and_load_is_an_error() {
    let dir = scratch_dir("missing_file");
    let path = dir.join("absent.json");
    let fresh = InMemoryBackend::load_or_new(&path).unwrap();
    assert_eq!(fresh.key_count(), 0);
    assert_eq!(fresh.to_json(), InMemoryBackend::new().to_json());
    assert!(!path.exists(), "load_or_new does not write");

    let err = InMemoryBackend::load(&path).unwrap_err();
    assert!(matches!(&err, SnapshotError::Read { .. }), "{err:?}");
    assert_eq!(err.path(), Some(path.as_path()));
    let io = err
        .source()
        .unwrap()
        .downcast_ref::<std::io::Error>()
        .unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn corrupt_file_is_an_error_never_an_empty_store() {
    let dir = scratch_dir("corrupt_file");
    for (name, text) in [
        ("garbage.json", "{not json"),
        (
            "truncated.json",
            r#"{"version":1,"account_id":"111122223333","#,
        ),
        ("wrong_shape.json", r#"{"version":1,"keys":"none"}"#),
        ("empty.json", ""),
    ] {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        for err in [
            InMemoryBackend::load(&path).unwrap_err(),
            InMemoryBackend::load_or_new(&path).unwrap_err(),
        ] {
            assert!(
                matches!(&err, SnapshotError::Corrupt { .. }),
                "{name}: {err:?}"
            );
            assert_eq!(err.path(), Some(path.as_path()));
            assert_eq!(
                err.to_string(),
                format!(
                    "`{}` is not a valid in-memory KMS snapshot: restore it from a copy, or remove it to start with an empty store",
                    path.display()
                )
            );
            assert!(
                err.source().unwrap().is::<serde_json::Error>(),
                "the parse error is the source"
            );
        }
    }
}

#[test]
fn unreadable_path_is_a_read_error() {
    // A directory where the file should be cannot be read as one.
    let dir = scratch_dir("unreadable");
    let err = InMemoryBackend::load_or_new(&dir).unwrap_err();
    assert!(matches!(&err, SnapshotError::Read { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read the in-memory KMS snapshot `{}`: check that it exists and is readable",
            dir.display()
        )
    );
}

#[test]
fn other_format_versions_are_refused() {
    let text = InMemoryBackend::new()
        .to_json()
        .replace("\"version\": 1", "\"version\": 99");
    let err = InMemoryBackend::from_json(&text).unwrap_err();
    assert!(
        matches!(
            err,
            SnapshotError::UnsupportedVersion {
                path: None,
                found: 99,
                supported: 1
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the text has snapshot format 99, but this version of kms-key reads format 1: use the matching kms-key version"
    );
}

#[tokio::test]
async fn inconsistent_snapshots_are_refused() {
    let kms = InMemoryBackend::new();
    kms.create_key(CreateKeyRequest::new()).await.unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&kms.to_json()).unwrap();
    let key = value["keys"][0].clone();
    value["keys"].as_array_mut().unwrap().push(key.clone());
    let err = InMemoryBackend::from_json(&value.to_string()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the text is not a consistent in-memory KMS snapshot (key id {} appears twice): restore it from a copy, or remove it to start with an empty store",
            key["key_id"].as_str().unwrap()
        )
    );
}

#[test]
fn save_into_a_missing_directory_fails_cleanly() {
    let dir = scratch_dir("missing_dir");
    let path = dir.join("no-such-dir").join("kms.json");
    let err = InMemoryBackend::new().save(&path).unwrap_err();
    assert!(matches!(&err, SnapshotError::Write { .. }), "{err:?}");
    assert_eq!(err.path(), Some(path.as_path()));
    assert!(err.source().is_some());
    assert_eq!(entries(&dir), Vec::<String>::new());
}
