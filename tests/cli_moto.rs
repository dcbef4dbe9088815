//! The example CLI against a real KMS wire endpoint (moto 5.2.5): the issue's done criterion.
//! `apply` creates the keys of a seed file there with one CreateKey each, a second `apply`
//! makes no writes, and `import` gives a spec whose plan against the live key is empty.
//!
//! Each test starts a private moto server, so its account holds exactly the keys the test
//! made. The CLI child gets static test credentials and Region us-east-1 and nothing else of
//! AWS's environment (`support::cli::Workdir::run_aws`): no profile, no real network.
#![cfg(feature = "aws")]

mod support;

use kms_key::backend::{KeyMetadata, KmsBackend, Operation, Tag};
use kms_key::spec::{KeySpec, KeyState, KeyUsage};
use serde_json::{Value, json};
use support::cli::{Output, Workdir, assert_exit, call, seed, without_durations};
use support::moto::{ACCOUNT_ID, MotoServer};

/// The policy moto gives a key created without one, as `import` prints it (compact).
const MOTO_DEFAULT_POLICY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}"#;

fn arn(key_id: &str) -> String {
    format!("arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{key_id}")
}

/// Runs the CLI against `server`: `args`, then `--endpoint-url URL`.
fn run(dir: &Workdir, server: &MotoServer, args: &[&str]) -> Output {
    let endpoint = server.endpoint();
    let mut all = args.to_vec();
    all.extend(["--endpoint-url", &endpoint]);
    dir.run_aws(&all)
}

/// The write calls of one key's `api_calls`, as (operation, key id); what counts as a write
/// is the crate's own [`Operation::is_write`].
fn writes(key: &Value) -> Vec<(String, Option<String>)> {
    key["api_calls"]
        .as_array()
        .expect("api_calls")
        .iter()
        .filter(|c| {
            let name = c["operation"].as_str().expect("an operation");
            Operation::ALL
                .iter()
                .find(|op| op.as_str() == name)
                .unwrap_or_else(|| panic!("unknown operation {name}"))
                .is_write()
        })
        .map(|c| {
            (
                c["operation"].as_str().unwrap().to_owned(),
                c["key_id"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Asserts that every call of every key succeeded at its first attempt: on moto nothing is
/// throttled or retried, so a retry would mean a request moto refused.
#[track_caller]
fn assert_no_failed_calls(report: &Value) {
    for key in report["keys"].as_array().expect("keys") {
        for c in key["api_calls"].as_array().expect("api_calls") {
            assert_eq!(
                (&c["attempt"], &c["error"]),
                (&json!(1), &Value::Null),
                "{c}"
            );
        }
    }
}

/// Every key in the server's account, by id.
async fn live_keys(server: &MotoServer) -> Vec<KeyMetadata> {
    let backend = server.backend();
    let page = backend.list_keys(None).await.expect("ListKeys");
    assert_eq!(page.next_marker, None, "one page holds a test's keys");
    let mut keys = Vec::new();
    for entry in page.keys {
        keys.push(
            backend
                .describe_key(&entry.key_id)
                .await
                .expect("DescribeKey"),
        );
    }
    keys
}

async fn tags(server: &MotoServer, key_id: &str) -> Vec<Tag> {
    let mut tags = server
        .backend()
        .list_resource_tags(key_id, None)
        .await
        .expect("ListResourceTags")
        .tags;
    tags.sort();
    tags
}

#[tokio::test]
async fn apply_seed_creates_one_key_then_converges_and_import_round_trips() {
    let server = MotoServer::start();
    let dir = Workdir::new("moto_apply_seed_a");

    let out = run(&dir, &server, &["apply", &seed("a.json"), "--json"]);
    assert_exit(&out, 0);
    let first = without_durations(out.json());
    let key_id = first["keys"][0]["key_id"]
        .as_str()
        .expect("a key id")
        .to_owned();
    assert_eq!(
        first,
        json!({"keys": [{
            "name": "a",
            "key_id": key_id,
            "arn": arn(&key_id),
            "created": true,
            "changes": [{
                "op": "CreateKey",
                "description": "KMS key 1",
                "bypass_policy_lockout_safety_check": false,
                "key_spec": "SYMMETRIC_DEFAULT",
                "key_usage": "ENCRYPT_DECRYPT",
                "origin": "AWS_KMS",
                "multi_region": false,
                "tags": {"kms-key:name": "a"}
            }],
            "api_calls": [call("CreateKey", None)]
        }],
        "index_calls": [call("ListKeys", None)]})
    );
    // The key is on the server, and is the only one there.
    let live = live_keys(&server).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(
        (live[0].key_id.as_str(), live[0].description.as_str()),
        (key_id.as_str(), "KMS key 1")
    );
    assert_eq!(
        (live[0].key_state, live[0].key_spec, live[0].key_usage),
        (
            KeyState::Enabled,
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt
        )
    );
    assert_eq!(
        tags(&server, &key_id).await,
        [Tag::new("kms-key:name", "a")]
    );

    // Second run: found by its name tag, nothing to change, reads only.
    let out = run(&dir, &server, &["apply", &seed("a.json"), "--json"]);
    assert_exit(&out, 0);
    assert_eq!(
        without_durations(out.json()),
        json!({"keys": [{
            "name": "a",
            "key_id": key_id,
            "arn": arn(&key_id),
            "created": false,
            "changes": [],
            "api_calls": [
                call("DescribeKey", Some(&key_id)),
                call("GetKeyRotationStatus", Some(&key_id))
            ]
        }],
        "index_calls": [call("ListKeys", None), call("ListResourceTags", Some(&key_id))]})
    );
    assert_eq!(live_keys(&server).await.len(), 1);

    // import gives the live key as a spec; planning it against that key changes nothing.
    let out = run(&dir, &server, &["import", &key_id]);
    assert_exit(&out, 0);
    assert_eq!(
        out.json(),
        json!({
            "description": "KMS key 1",
            "key_usage": "ENCRYPT_DECRYPT",
            "key_spec": "SYMMETRIC_DEFAULT",
            "policy": MOTO_DEFAULT_POLICY,
            "tags": {}
        })
    );
    let spec = dir.write("imported.json", &out.stdout);
    let out = run(
        &dir,
        &server,
        &["plan", &spec, "--key-id", &key_id, "--json"],
    );
    assert_exit(&out, 0);
    assert_eq!(
        out.json(),
        json!({"keys": [{"name": "imported", "key_id": key_id, "changes": []}]})
    );
    // Talking to AWS never writes the in-memory state file.
    assert!(!dir.path().join(".kms-key").exists());
}

#[tokio::test]
async fn apply_terraform_file_creates_three_keys_then_makes_no_writes() {
    let server = MotoServer::start();
    let dir = Workdir::new("moto_apply_keys_tf");

    let out = run(&dir, &server, &["apply", &seed("keys.tf.json"), "--json"]);
    assert_exit(&out, 0);
    let first = out.json();
    assert_no_failed_calls(&first);
    let keys = first["keys"].as_array().expect("keys");
    let mut names: Vec<&str> = keys.iter().map(|k| k["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["archive", "logs", "tokens"]);
    let mut ids = std::collections::BTreeMap::new();
    for key in keys {
        let name = key["name"].as_str().unwrap();
        let id = key["key_id"].as_str().expect("a key id").to_owned();
        assert_eq!(key["arn"], json!(arn(&id)), "{name}");
        assert_eq!(key["created"], json!(true), "{name}");
        let ops: Vec<&str> = key["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["op"].as_str().unwrap())
            .collect();
        // One CreateKey each; only what CreateKey cannot set gets its own call.
        let (expected_ops, expected_writes): (&[&str], Vec<(String, Option<String>)>) = match name {
            "logs" => (
                &["CreateKey", "EnableKeyRotation"],
                vec![
                    ("CreateKey".into(), None),
                    ("EnableKeyRotation".into(), Some(id.clone())),
                ],
            ),
            "tokens" => (&["CreateKey"], vec![("CreateKey".into(), None)]),
            "archive" => (
                &["CreateKey", "DisableKey"],
                vec![
                    ("CreateKey".into(), None),
                    ("DisableKey".into(), Some(id.clone())),
                ],
            ),
            other => panic!("unexpected key {other}"),
        };
        assert_eq!(ops, expected_ops, "{name}");
        assert_eq!(writes(key), expected_writes, "{name}");
        ids.insert(name.to_owned(), id);
    }

    // The server holds exactly these three keys, as the file describes them.
    let live = live_keys(&server).await;
    assert_eq!(live.len(), 3, "{live:?}");
    let by_id = |id: &str| live.iter().find(|k| k.key_id == id).expect("a live key");
    let logs = by_id(&ids["logs"]);
    assert_eq!(
        (logs.description.as_str(), logs.key_state),
        ("CloudWatch Logs encryption", KeyState::Enabled)
    );
    let rotation = server
        .backend()
        .get_key_rotation_status(&ids["logs"])
        .await
        .expect("GetKeyRotationStatus");
    assert!(rotation.enabled);
    let tokens = by_id(&ids["tokens"]);
    assert_eq!(
        (tokens.key_spec, tokens.key_usage, tokens.key_state),
        (
            KeySpec::EccNistP256,
            KeyUsage::SignVerify,
            KeyState::Enabled
        )
    );
    let archive = by_id(&ids["archive"]);
    assert_eq!(
        (archive.enabled, archive.key_state),
        (false, KeyState::Disabled)
    );
    assert_eq!(
        tags(&server, &ids["archive"]).await,
        [
            Tag::new("kms-key:name", "archive"),
            Tag::new("team", "platform"),
            Tag::new("tier", "cold")
        ]
    );

    // Second run: the same three keys, no changes, no writes at all.
    let out = run(&dir, &server, &["apply", &seed("keys.tf.json"), "--json"]);
    assert_exit(&out, 0);
    let second = out.json();
    assert_no_failed_calls(&second);
    let keys = second["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 3);
    for key in keys {
        let name = key["name"].as_str().unwrap();
        assert_eq!(key["key_id"], json!(ids[name]), "{name}");
        assert_eq!(
            (&key["created"], &key["changes"]),
            (&json!(false), &json!([])),
            "{name}"
        );
        assert_eq!(writes(key), [], "{name}");
    }
    assert_eq!(live_keys(&server).await.len(), 3);
}
