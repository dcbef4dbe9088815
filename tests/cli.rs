//! The example CLI (examples/kms-key) end to end, with its default in-memory backend: the
//! commands, their JSON on stdout and the exit codes the CLI documents (0 done, 1 invalid
//! input or refused plan, 2 backend failure). Each test runs the binary in a fresh directory,
//! so the default state file `.kms-key/state.json` starts empty. How the binary is found and
//! kept current: `support::cli`.

mod support;

use serde_json::{Value, json};
use support::cli::{Workdir, assert_exit, call, seed, without_durations};

/// The account and Region of a fresh in-memory store.
const ARN_PREFIX: &str = "arn:aws:kms:us-east-1:111122223333:key/";

/// The policy the in-memory backend gives a key created without one, as the text it stores.
/// The default policy as `import` prints it: compact, members in KMS's order.
const DEFAULT_POLICY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

/// The CreateKey change `apply examples/seed/a.json` plans and makes.
fn create_a() -> Value {
    json!({
        "op": "CreateKey",
        "description": "KMS key 1",
        "bypass_policy_lockout_safety_check": false,
        "key_spec": "SYMMETRIC_DEFAULT",
        "key_usage": "ENCRYPT_DECRYPT",
        "origin": "AWS_KMS",
        "multi_region": false,
        "tags": {"kms-key:name": "a"}
    })
}

/// Applies `examples/seed/a.json` in `dir` and answers the new key's id.
fn apply_a(dir: &Workdir) -> String {
    let out = dir.run(&["apply", &seed("a.json"), "--json"]);
    assert_exit(&out, 0);
    let key_id = out.json()["keys"][0]["key_id"]
        .as_str()
        .expect("a key id")
        .to_owned();
    assert!(
        key_id.len() == 36 && key_id.bytes().filter(|&b| b == b'-').count() == 4,
        "{key_id} is not a key id"
    );
    key_id
}

// ----- validate -----

#[test]
fn validate_accepts_the_seed_files() {
    let dir = Workdir::new("validate_accepts_the_seed_files");
    for file in ["a.json", "keys.tf.json"] {
        let out = dir.run(&["validate", &seed(file), "--json"]);
        assert_exit(&out, 0);
        assert_eq!(
            out.json(),
            json!({"valid": true, "errors": [], "warnings": []}),
            "{file}"
        );
        assert_eq!(out.stderr, "");
    }
    // Without --json: one line per key, named after the resources (in map order: see
    // plan_of_a_terraform_file_names_each_key_after_its_resource).
    let out = dir.run(&["validate", &seed("keys.tf.json")]);
    assert_exit(&out, 0);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["archive: valid", "logs: valid", "tokens: valid"]);
    assert!(out.stdout.ends_with('\n'));
    // Validating never opens a backend: no state file appears.
    assert!(!dir.path().join(".kms-key").exists());
}

#[test]
fn validate_reports_every_error_with_field_code_and_message() {
    let dir = Workdir::new("validate_reports_every_error");
    let file = dir.write(
        "bad.json",
        r#"{"key_usage": "NOPE", "deletion_window_in_days": 3}"#,
    );
    let out = dir.run(&["validate", &file, "--json"]);
    assert_exit(&out, 1);
    assert_eq!(
        out.json(),
        json!({
            "valid": false,
            "errors": [
                {
                    "field": "key_usage",
                    "code": "invalid_value",
                    "message": "unknown key usage `NOPE`; expected one of: ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT, ENCAPSULATE_DECAPSULATE"
                },
                {
                    "field": "deletion_window_in_days",
                    "code": "deletion_window_out_of_range",
                    "message": "is 3; KMS allows 7 to 30 days"
                }
            ],
            "warnings": []
        })
    );
    // Without --json the errors go to stderr and stdout stays empty.
    let out = dir.run(&["validate", &file]);
    assert_exit(&out, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: 2 validation errors\n  \
         - key_usage: unknown key usage `NOPE`; expected one of: ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT, ENCAPSULATE_DECAPSULATE [invalid_value]\n  \
         - deletion_window_in_days: is 3; KMS allows 7 to 30 days [deletion_window_out_of_range]\n"
    );
}

#[test]
fn a_logical_name_and_its_tag_are_checked_before_any_call() {
    let dir = Workdir::new("names_checked");
    let bad_name = dir.write("a#b.json", r#"{"description": "x"}"#);
    let tags: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!(""))).collect();
    let fifty = dir.write("fifty.json", &json!({ "tags": tags }).to_string());
    let name_error = json!({"field": "name", "code": "invalid_name", "message": "logical name \"a#b\" has the character '#'; it is stored as a tag value, which allows letters, numbers, spaces and + - = . _ : / @"});
    let tags_error = json!({"field": "tags", "code": "too_many_tags", "message": "50 tags plus the kms-key:name ownership tag that kms-key keeps on the key exceed the 50 tags KMS allows per key; drop 1, or target the key with --key-id"});
    for (file, error) in [(&bad_name, &name_error), (&fifty, &tags_error)] {
        for command in ["validate", "plan", "apply"] {
            let out = dir.run(&[command, file, "--json"]);
            assert_exit(&out, 1);
            assert_eq!(
                out.json(),
                json!({"valid": false, "errors": [error], "warnings": []}),
                "{command} {file}"
            );
        }
    }
    // Nothing was opened, let alone called.
    assert!(!dir.path().join(".kms-key").exists());
    // JSON that does not parse says where, once.
    let broken = dir.write("broken.json", "{\"a\":");
    let out = dir.run(&["validate", &broken]);
    assert_exit(&out, 1);
    assert_eq!(
        out.stderr,
        format!(
            "error: 1 validation error\n  - {broken} is not valid JSON: EOF while parsing a value at line 1 column 5 [json_syntax]\n"
        )
    );
}

#[test]
fn validate_suggests_the_field_an_unknown_field_was_meant_to_be() {
    let dir = Workdir::new("validate_suggests_the_field");
    let file = dir.write("typo.json", r#"{"descriptin": "KMS key 1"}"#);
    let out = dir.run(&["validate", &file, "--json"]);
    assert_exit(&out, 1);
    assert_eq!(
        out.json(),
        json!({
            "valid": false,
            "errors": [{
                "field": "descriptin",
                "code": "unknown_field",
                "message": "`descriptin` is not an argument of aws_kms_key; did you mean `description`?"
            }],
            "warnings": []
        })
    );
}

// ----- apply and plan -----

#[test]
fn apply_creates_the_key_once_then_reports_no_changes() {
    let dir = Workdir::new("apply_creates_then_no_changes");
    let out = dir.run(&["apply", &seed("a.json"), "--json"]);
    assert_exit(&out, 0);
    let first = without_durations(out.json());
    let key_id = first["keys"][0]["key_id"].as_str().expect("a key id");
    assert_eq!(
        first,
        json!({"keys": [{
            "name": "a",
            "key_id": key_id,
            "arn": format!("{ARN_PREFIX}{key_id}"),
            "created": true,
            "changes": [create_a()],
            // Exactly one CreateKey, which carries everything a.json sets.
            "api_calls": [call("CreateKey", None)]
        }],
        // Finding no key named "a" in an empty store takes one ListKeys (shared by all keys).
        "index_calls": [call("ListKeys", None)]})
    );
    // The default state file holds the key for the next run.
    assert!(dir.path().join(".kms-key/state.json").is_file());

    let out = dir.run(&["apply", &seed("a.json"), "--json"]);
    assert_exit(&out, 0);
    assert_eq!(
        without_durations(out.json()),
        json!({"keys": [{
            "name": "a",
            "key_id": key_id,
            "arn": format!("{ARN_PREFIX}{key_id}"),
            "created": false,
            "changes": [],
            // Reads only: describe the key, read its rotation.
            "api_calls": [
                call("DescribeKey", Some(key_id)),
                call("GetKeyRotationStatus", Some(key_id))
            ]
        }],
        // The name scan: list the keys, read their tags.
        "index_calls": [call("ListKeys", None), call("ListResourceTags", Some(key_id))]})
    );

    // The text output says the same.
    let out = dir.run(&["apply", &seed("a.json")]);
    assert_exit(&out, 0);
    assert_eq!(
        out.stdout,
        format!("  key \"a\" ({key_id}): no changes (2 reads, 0 writes)\n")
    );
}

#[test]
fn plan_of_a_terraform_file_names_each_key_after_its_resource() {
    let dir = Workdir::new("plan_of_a_terraform_file");
    let out = dir.run(&["plan", &seed("keys.tf.json"), "--json"]);
    assert_exit(&out, 0);
    let mut plan = without_durations(out.json());
    // Keys come in the file's order (logs, tokens, archive); sorted by name here.
    let names: Vec<&str> = plan["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["logs", "tokens", "archive"]);
    plan["keys"]
        .as_array_mut()
        .expect("a keys array")
        .sort_by_key(|k| k["name"].as_str().map(str::to_owned));
    assert_eq!(
        plan,
        json!({"keys": [
            {
                "name": "archive",
                "key_id": null,
                "changes": [
                    {
                        "op": "CreateKey",
                        "description": "Cold archive, disabled until needed",
                        "bypass_policy_lockout_safety_check": false,
                        "key_spec": "SYMMETRIC_DEFAULT",
                        "key_usage": "ENCRYPT_DECRYPT",
                        "origin": "AWS_KMS",
                        "multi_region": false,
                        "tags": {"kms-key:name": "archive", "team": "platform", "tier": "cold"}
                    },
                    {"op": "DisableKey"}
                ]
            },
            {
                "name": "logs",
                "key_id": null,
                "changes": [
                    {
                        "op": "CreateKey",
                        "description": "CloudWatch Logs encryption",
                        "bypass_policy_lockout_safety_check": false,
                        "key_spec": "SYMMETRIC_DEFAULT",
                        "key_usage": "ENCRYPT_DECRYPT",
                        "origin": "AWS_KMS",
                        "multi_region": false,
                        "tags": {"kms-key:name": "logs", "team": "platform"}
                    },
                    {
                        "op": "EnableKeyRotation",
                        "before": {"enabled": false, "period_in_days": null},
                        "rotation_period_in_days": null
                    }
                ]
            },
            {
                "name": "tokens",
                "key_id": null,
                "changes": [{
                    "op": "CreateKey",
                    "description": "Token signing",
                    "bypass_policy_lockout_safety_check": false,
                    "key_spec": "ECC_NIST_P256",
                    "key_usage": "SIGN_VERIFY",
                    "origin": "AWS_KMS",
                    "multi_region": false,
                    "tags": {"kms-key:name": "tokens", "team": "identity"}
                }]
            }
        ],
        // One name scan for all three keys.
        "index_calls": [call("ListKeys", None)]})
    );
    // A plan writes nothing, not even the state file.
    assert!(!dir.path().join(".kms-key").exists());
}

#[test]
fn interpolation_in_a_terraform_file_is_refused_with_its_path() {
    let dir = Workdir::new("interpolation_is_refused");
    let file = dir.write(
        "vars.tf.json",
        r#"{"resource": {"aws_kms_key": {"app": {
            "description": "${var.description}",
            "tags": {"literal": "$${not.an.interpolation}"}
        }}}}"#,
    );
    let expected = json!({
        "valid": false,
        "errors": [{
            "field": "resource.aws_kms_key.app.description",
            "code": "invalid_value",
            "message": "the interpolation `${var.description}` cannot be evaluated here: give the literal value (write `$${` for a literal `${`)"
        }, {
            // The escape is a literal `${`, and the block's other problems are reported too:
            // `$` is not a character KMS allows in a tag.
            "field": "resource.aws_kms_key.app.tags[\"literal\"]",
            "code": "tag_characters",
            "message": "has the character '$'; allowed are letters, numbers, spaces (not tabs, line feeds or other control characters) and + - = . _ : / @"
        }],
        "warnings": []
    });
    for command in ["validate", "plan", "apply"] {
        let out = dir.run(&[command, &file, "--json"]);
        assert_exit(&out, 1);
        assert_eq!(out.json(), expected, "{command}");
    }
    // Refused before any backend is opened.
    assert!(!dir.path().join(".kms-key").exists());
}

#[test]
fn key_id_with_a_file_of_several_keys_is_refused() {
    let dir = Workdir::new("key_id_with_several_keys");
    for command in ["plan", "apply"] {
        let out = dir.run(&[
            command,
            &seed("keys.tf.json"),
            "--key-id",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "--json",
        ]);
        assert_exit(&out, 1);
        assert_eq!(out.stdout, "", "{command}");
        assert_eq!(
            out.stderr,
            "error: --key-id targets one key, but the file describes 3; use --name to pick one\n",
            "{command}"
        );
    }
    assert!(!dir.path().join(".kms-key").exists());
}

// ----- import -----

#[test]
fn import_prints_a_spec_whose_plan_is_empty() {
    let dir = Workdir::new("import_prints_a_spec");
    let key_id = apply_a(&dir);

    let out = dir.run(&["import", &key_id]);
    assert_exit(&out, 0);
    assert_eq!(
        out.json(),
        json!({
            "description": "KMS key 1",
            "key_usage": "ENCRYPT_DECRYPT",
            "key_spec": "SYMMETRIC_DEFAULT",
            "policy": DEFAULT_POLICY,
            "tags": {}
        })
    );
    assert_eq!(
        out.stderr,
        format!(
            "note: this key carries the logical name \"a\": apply the spec with --name a (or --key-id {key_id})\n"
        )
    );
    let spec = dir.write("imported.json", &out.stdout);

    let out = dir.run(&["plan", &spec, "--key-id", &key_id, "--json"]);
    assert_exit(&out, 0);
    assert_eq!(
        out.json(),
        json!({"keys": [{"name": "imported", "key_id": key_id, "changes": []}]})
    );

    let out = dir.run(&["import", &key_id, "--json"]);
    assert_exit(&out, 0);
    assert_eq!(
        out.json(),
        json!({
            "key_id": key_id,
            "spec": {
                "description": "KMS key 1",
                "key_usage": "ENCRYPT_DECRYPT",
                "key_spec": "SYMMETRIC_DEFAULT",
                "policy": DEFAULT_POLICY,
                "tags": {}
            }
        })
    );
}

#[test]
fn import_of_an_unknown_key_is_not_found() {
    let dir = Workdir::new("import_of_an_unknown_key");
    let out = dir.run(&["import", "1234abcd-12ab-34cd-56ef-1234567890ab"]);
    assert_exit(&out, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: key 1234abcd-12ab-34cd-56ef-1234567890ab does not exist (or is not visible to this caller)\n"
    );
}

// ----- destroy -----

#[test]
fn destroy_schedules_once_then_finds_the_key_already_pending() {
    let dir = Workdir::new("destroy_twice");
    let key_id = apply_a(&dir);

    let before = aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs();
    let out = dir.run(&["destroy", "--name", "a", "--window", "7"]);
    let after = aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs();
    assert_exit(&out, 0);
    let prefix = format!("key named \"a\": key {key_id} scheduled for deletion in 7 days (on ");
    let date = out
        .stdout
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("unexpected output: {:?}", out.stdout));
    let date =
        aws_smithy_types::DateTime::from_str(date, aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_else(|e| panic!("{date} is not an RFC 3339 date: {e}"))
            .secs();
    let week = 7 * 86_400;
    assert!(
        (before + week..=after + week).contains(&date),
        "deletion on {date}, not 7 days after the run ({before}..={after})"
    );

    // Again: the key is already pending deletion, which is what was asked: success.
    let out = dir.run(&["destroy", "--name", "a", "--window", "7"]);
    assert_exit(&out, 0);
    assert_eq!(
        out.stdout,
        format!("key named \"a\" (key {key_id}) was already pending deletion; nothing to do\n")
    );
}

#[test]
fn destroy_refuses_a_window_kms_does_not_allow_and_unknown_names() {
    let dir = Workdir::new("destroy_refuses");
    apply_a(&dir);
    let out = dir.run(&["destroy", "--name", "a", "--window", "6"]);
    assert_exit(&out, 1);
    assert_eq!(
        out.stderr,
        "error: --window: 6 days is outside the 7 to 30 days KMS allows\n"
    );
    // Out of any byte's range too: the same message, not the parser's.
    for days in ["300", "-1"] {
        let out = dir.run(&["destroy", "--name", "a", "--window", days]);
        assert_exit(&out, 1);
        assert_eq!(
            out.stderr,
            format!("error: --window: {days} days is outside the 7 to 30 days KMS allows\n")
        );
    }
    let out = dir.run(&["destroy", "--name", "nobody"]);
    assert_exit(&out, 1);
    assert_eq!(
        out.stderr,
        "error: key named \"nobody\" does not exist (or is not visible to this caller)\n"
    );
}

// ----- exit codes -----

#[test]
fn a_bad_command_line_is_invalid_input() {
    let dir = Workdir::new("bad_command_line");
    for args in [
        &["destroy"][..],
        &["plan", "a.json", "--concurrency", "0"],
        &["destroy", "--name", "a", "--key-id", "k"],
        &["apply"],
        &["frobnicate"],
    ] {
        let out = dir.run(args);
        assert_exit(&out, 1);
        assert_eq!(out.stdout, "", "{args:?}");
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Declaring principals means nothing to AWS: refused, not silently ignored.
    let out = dir.run(&[
        "plan",
        "a.json",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--known-principal",
        "arn:aws:iam::111122223333:role/app",
    ]);
    assert_exit(&out, 1);
    assert_eq!(
        out.stderr,
        "error: --known-principal declares principals to the in-memory KMS only; AWS knows its own (drop it, or drop --aws / --endpoint-url)\n"
    );
    let out = dir.run(&["--help"]);
    assert_exit(&out, 0);
    assert!(out.stdout.starts_with("Manage AWS KMS keys as code\n"));
}

#[test]
fn an_unreadable_state_file_is_a_backend_failure() {
    let dir = Workdir::new("unreadable_state_file");
    std::fs::create_dir(dir.path().join(".kms-key")).unwrap();
    dir.write(".kms-key/state.json", "not a snapshot");
    let out = dir.run(&["plan", &seed("a.json"), "--json"]);
    assert_exit(&out, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: `.kms-key/state.json` is not a valid in-memory KMS snapshot: restore it from a copy, or remove it to start with an empty store\n"
    );
}

/// An endpoint nobody listens on: the backend fails, exit 2, and fast. The engine retries
/// transport failures (5 attempts within 20 s, backoff from 100 ms); a refused connection
/// costs nothing per attempt, so the whole run takes about a second of backoff.
#[cfg(feature = "aws")]
#[test]
fn an_unreachable_endpoint_is_a_backend_failure_and_fails_fast() {
    let dir = Workdir::new("unreachable_endpoint");
    // Build (or find) the binary first: the clock is for the run alone.
    support::cli::binary();
    let started = std::time::Instant::now();
    let out = dir.run_aws(&[
        "apply",
        &seed("a.json"),
        "--endpoint-url",
        "http://127.0.0.1:1",
        "--json",
    ]);
    let took = started.elapsed();
    assert_exit(&out, 2);
    assert!(
        took < std::time::Duration::from_secs(10),
        "failing took {took:?}"
    );
    let mut report = without_durations(out.json());
    let message = report["keys"][0]["error"]["message"]
        .take()
        .as_str()
        .expect("an error message")
        .to_owned();
    assert_eq!(
        report,
        json!({
            "keys": [{"name": "a", "error": {"kind": "backend", "code": "Transport", "field": null, "message": null}}],
            // The name scan's ListKeys, tried within the transient budget (5 attempts).
            "index_calls": (1..=5)
                .map(|attempt| json!({"operation": "ListKeys", "key_id": null, "attempt": attempt, "error": "Transport"}))
                .collect::<Vec<_>>()
        })
    );
    // The message ends with the operating system's words for a refused connection.
    let expected = "ListKeys failed: no answer from the service (Transport): dispatch failure: io error: client error (Connect): tcp connect error: Connection refused";
    assert!(message.starts_with(expected), "{message}");
    // Nothing was created anywhere, and the in-memory state file was never touched.
    assert!(!dir.path().join(".kms-key").exists());
}

#[cfg(feature = "aws")]
#[test]
fn no_region_is_refused_before_any_call() {
    let dir = Workdir::new("no_region");
    let spec = seed("a.json");
    let missing = dir.file("no-such-aws-file");
    let out = dir.run_with(
        &["plan", &spec, "--endpoint-url", "http://127.0.0.1:9"],
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_CONFIG_FILE", &missing),
            ("AWS_SHARED_CREDENTIALS_FILE", &missing),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_exit(&out, 2);
    assert_eq!(
        out.stderr,
        "error: no AWS Region is configured: set AWS_REGION (or a region in your AWS profile)\n"
    );
}

// ----- safety of multi-key runs, names pending deletion, state, principals -----

#[test]
fn apply_writes_nothing_when_any_key_of_the_file_is_refused() {
    let dir = Workdir::new("apply_refused_key_blocks_all");
    let first = dir.write(
        "keys.tf.json",
        r#"{"resource": {"aws_kms_key": {"a": {"description": "A"}}}}"#,
    );
    assert_exit(&dir.run(&["apply", &first, "--json"]), 0);
    let state = std::fs::read_to_string(dir.path().join(".kms-key/state.json")).unwrap();
    // "a" now asks for an immutable change; "b" is new and fine on its own.
    let second = dir.write(
        "keys.tf.json",
        r#"{"resource": {"aws_kms_key": {"a": {"description": "A", "multi_region": true}, "b": {"description": "B"}}}}"#,
    );
    let out = dir.run(&["apply", &second, "--json"]);
    assert_exit(&out, 1);
    let v = out.json();
    assert_eq!(v["keys"][0]["name"], "a");
    assert_eq!(v["keys"][0]["error"]["kind"], "plan_refused");
    assert_eq!(v["keys"][0]["error"]["code"], "immutable_field");
    assert_eq!(v["keys"][0]["error"]["field"], "multi_region");
    // "b" was planned (a CreateKey), not applied.
    assert_eq!(v["keys"][1]["changes"][0]["op"], "CreateKey");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".kms-key/state.json")).unwrap(),
        state
    );
}

#[test]
fn a_name_pending_deletion_needs_restore_or_new_key() {
    let dir = Workdir::new("name_pending_deletion");
    let a = seed("a.json");
    assert_exit(&dir.run(&["apply", &a, "--json"]), 0);
    assert_exit(&dir.run(&["destroy", "--name", "a", "--window", "7"]), 0);
    let out = dir.run(&["apply", &a, "--json"]);
    assert_exit(&out, 1);
    assert_eq!(
        out.json()["keys"][0]["error"]["kind"],
        "name_pending_deletion"
    );
    // Asked for: a new key beside the one pending deletion.
    let out = dir.run(&["apply", &a, "--new-key", "--json"]);
    assert_exit(&out, 0);
    assert_eq!(out.json()["keys"][0]["created"], true);
    // --restore and --new-key contradict each other.
    assert_exit(&dir.run(&["apply", &a, "--new-key", "--restore"]), 1);
}

#[test]
fn known_principals_let_policies_name_roles_in_memory() {
    let dir = Workdir::new("known_principal");
    let spec = dir.write(
        "app.json",
        r#"{"policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"}, "Action": "kms:Decrypt", "Resource": "*"}
        ]}}"#,
    );
    // Unknown to the in-memory KMS: refused at once (no waiting for IAM to propagate).
    let out = dir.run(&["apply", &spec, "--json"]);
    assert_exit(&out, 2);
    let v = out.json();
    assert_eq!(
        v["keys"][0]["error"]["code"],
        "MalformedPolicyDocumentException"
    );
    let message = v["keys"][0]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("invalid principals"), "{message}");
    let out = dir.run(&["apply", &spec]);
    assert_exit(&out, 2);
    assert_eq!(
        out.stderr,
        "error: app: CreateKey failed: policy names a principal that does not exist (yet) (MalformedPolicyDocumentException): Policy contains a statement with one or more invalid principals.\n\
         hint: the in-memory KMS knows only the account root and the principals declared with --known-principal ARN\n"
    );
    let out = dir.run(&[
        "apply",
        &spec,
        "--known-principal",
        "arn:aws:iam::111122223333:role/app",
        "--json",
    ]);
    assert_exit(&out, 0);
    // Remembered in the state file.
    assert_exit(&dir.run(&["apply", &spec, "--json"]), 0);
}

#[test]
fn a_held_state_lock_refuses_a_second_writer() {
    let dir = Workdir::new("state_lock");
    std::fs::create_dir_all(dir.path().join(".kms-key")).unwrap();
    std::fs::write(dir.path().join(".kms-key/state.json.lock"), "4242\n").unwrap();
    let out = dir.run(&["apply", &seed("a.json")]);
    assert_exit(&out, 2);
    assert!(
        out.stderr.contains("another kms-key run (pid 4242)"),
        "{}",
        out.stderr
    );
    // Reads need no lock.
    assert_exit(&dir.run(&["plan", &seed("a.json")]), 0);
    std::fs::remove_file(dir.path().join(".kms-key/state.json.lock")).unwrap();
    assert_exit(&dir.run(&["apply", &seed("a.json")]), 0);
    assert!(
        !dir.path().join(".kms-key/state.json.lock").exists(),
        "the lock is released"
    );
}

#[test]
fn lint_warnings_come_with_plan_and_apply() {
    let dir = Workdir::new("warnings_in_plan");
    let spec = dir.write(
        "open.json",
        r#"{"policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}}"#,
    );
    let out = dir.run(&["plan", &spec, "--json"]);
    assert_exit(&out, 0);
    assert_eq!(
        out.json()["keys"][0]["warnings"][0]["code"],
        "policy_public_allow"
    );
    let out = dir.run(&["plan", &spec]);
    assert!(
        out.stderr.contains("warning: open: policy.Statement[0]"),
        "{}",
        out.stderr
    );
}
